"""Remote images of one request under real gunicorn gevent workers (issue #14 item 2): fetched
concurrently, but never more than FETCH_CONCURRENCY at a time."""

from __future__ import annotations

import requests

from app.services.vision import FETCH_CONCURRENCY
from tests.image_hosts import image_host
from tests.support import ADMIN, checksum_for, gateway_env, image_message, make_token, running_gateway


def test_a_requests_images_are_fetched_a_few_at_a_time(tmp_path, fake):
    token = make_token("user_images")
    (tmp_path / ".tokens").write_text(f"{token},{checksum_for(token)}")
    env = gateway_env(tmp_path, fake.url, VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true")
    with image_host() as host, running_gateway(env, workers=1) as server:
        body = image_message(f"{host.url}/slow?seconds=0.4&n=0")
        body["messages"][0]["content"] += [
            {"type": "image_url", "image_url": {"url": f"{host.url}/slow?seconds=0.4&n={n}"}} for n in range(1, 10)
        ]
        response = requests.post(f"{server.url}/v1/chat/completions", json=body, headers=ADMIN, timeout=60)
        assert response.status_code == 200, response.text[:300]
        assert len(host.requests) == 10
        assert host.most_active == FETCH_CONCURRENCY
