"""Two gateway instances on one host do not share gunicorn's control socket (issue 13 item 5).

gunicorn 27 opens a control socket (for `gunicornc`) at one path per user by default, so a second
instance took the first one's over, and either one's stop deleted the file the other listened on.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

from gunicorn.ctl.client import ControlClient

from tests.support import gateway_env, running_gateway

LISTENING = re.compile(r"Control socket listening at (\S+)")


def control_socket_of(log: str) -> Path:
    found = LISTENING.findall(log)
    assert len(found) == 1, log[-2000:]
    return Path(found[0])


def listening_port(path: Path) -> int:
    with ControlClient(str(path), timeout=10) as client:
        listeners = client.send_command("show listeners")["listeners"]
    return int(listeners[0]["address"].rsplit(":", 1)[1])


def test_two_instances_each_have_their_own_control_socket_and_stop_cleanly(tmp_path, fake):
    home = tmp_path / "home"  # both run as the same user, with the same HOME
    home.mkdir()
    envs = [gateway_env(tmp_path / name, fake.url, HOME=str(home)) for name in ("a", "b")]
    with running_gateway(envs[0], workers=1) as a, running_gateway(envs[1], workers=1) as b:
        path_a, path_b = control_socket_of(a.log()), control_socket_of(b.log())
        assert path_a != path_b
        assert not (home / ".gunicorn").exists()  # gunicorn's shared default is not used
        assert listening_port(path_a) == a.port and listening_port(path_b) == b.port

        a.process.send_signal(signal.SIGTERM)
        assert a.process.wait(timeout=10) == 0
        assert not path_a.exists() and not path_a.parent.exists()  # its own, removed at exit
        assert listening_port(path_b) == b.port  # the other instance's is untouched
    assert b.process.returncode == 0
    assert not path_b.exists()
