"""The model catalog (AGENT_WIRE §7): parsed from AvailableModels, resolved through ids, aliases,
variants and legacy slugs, round-tripped through JSON; and the API-key exchange (§1)."""

from __future__ import annotations

import base64
import io
import json

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from app.cursor.agent.api_keys import exchange_api_key
from app.cursor.agent.models import (
    AVAILABLE_MODELS_PATH,
    GET_USABLE_MODELS_PATH,
    ModelCatalog,
    ResolvedModel,
    UnknownModel,
    fetch_catalog,
    fetch_usable_models,
)
from app.cursor.agent.unary import AgentIdentity
from app.cursor.errors import ProtocolError, UpstreamError
from app.cursor.proto import agent_aiserver_pb2 as ai
from app.cursor.proto import agent_pb2
from app.cursor.session_token import is_api_key
from tests.unit.protowire import fields

IDENTITY = AgentIdentity("cli", "cli-2026.10.01-e373342", ghost_mode=False)
TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig"


def variant(string: str, slug: str = "", **parameters: str) -> ai.ModelVariant:
    pairs = [ai.ModelParameterValue(id=key, value=value) for key, value in parameters.items()]
    return ai.ModelVariant(parameters=pairs, variant_string=string, legacy_slug=slug, display_name=string.title())


CATALOG = ai.AvailableModelsResponse(
    model_names=["composer-2.5", "grok-4.6", "secret-model"],
    models=[
        ai.AvailableModel(
            name="composer-2.5",
            client_display_name="Composer 2.5",
            supports_images=True,
            context_token_limit=200_000,
            parameter_definitions=[ai.ModelParameterDefinition(id="fast", values=["true", "false"], default_index=0)],
            variants=[variant("composer-2.5-fast", "composer-fast", fast="true")],
            id_aliases=["composer", "grok-4.6"],  # a claim on another model's id loses
            legacy_slugs=["composer-2"],
        ),
        ai.AvailableModel(
            name="grok-4.6",
            supports_thinking=True,
            parameter_definitions=[
                ai.ModelParameterDefinition(id="effort", values=["low", "medium", "high", "xhigh"], default_index=1),
                ai.ModelParameterDefinition(id="fast", values=["true", "false"]),
            ],
            variants=[variant("grok-4.6-high-fast", "cursor-grok-4.6-high-fast", effort="high", fast="true")],
        ),
        ai.AvailableModel(name="secret-model", is_hidden=True, id_aliases=["secret"], legacy_slugs=["old-secret"]),
    ],
)


@pytest.fixture
def catalog() -> ModelCatalog:
    return ModelCatalog.from_response(CATALOG)


def test_parsed_models(catalog):
    composer, grok, secret = catalog.models
    assert (composer.id, composer.display_name, composer.supports_images, composer.context_token_limit) == (
        "composer-2.5",
        "Composer 2.5",
        True,
        200_000,
    )
    assert (grok.display_name, grok.supports_thinking, grok.context_token_limit) == ("grok-4.6", True, None)
    assert grok.parameters[0].values == ("low", "medium", "high", "xhigh") and grok.parameters[0].default_index == 1
    assert grok.variants[0].parameters == (("effort", "high"), ("fast", "true"))
    assert secret.hidden and [model.id for model in catalog.listed()] == ["composer-2.5", "grok-4.6"]
    assert catalog.get("composer-2.5") is composer and catalog.get("secret-model") is None


@pytest.mark.parametrize(
    "requested,resolved",
    [
        ("composer-2.5", ResolvedModel("composer-2.5")),
        ("composer", ResolvedModel("composer-2.5")),
        ("grok-4.6", ResolvedModel("grok-4.6")),
        ("composer-2.5-fast", ResolvedModel("composer-2.5", (("fast", "true"),))),
        ("composer-fast", ResolvedModel("composer-2.5", (("fast", "true"),))),
        ("grok-4.6-high-fast", ResolvedModel("grok-4.6", (("effort", "high"), ("fast", "true")))),
        ("cursor-grok-4.6-high-fast", ResolvedModel("grok-4.6", (("effort", "high"), ("fast", "true")))),
        ("composer-2", ResolvedModel("composer-2.5")),
        ("composer-2.5-20260101", ResolvedModel("composer-2.5")),  # a dated id, as Anthropic's clients send
        ("composer-fast-20260101", ResolvedModel("composer-2.5", (("fast", "true"),))),
    ],
)
def test_resolution(catalog, requested, resolved):
    assert catalog.resolve(requested) == resolved


@pytest.mark.parametrize("requested", ["secret-model", "secret", "old-secret"])
def test_hidden_models_do_not_resolve(catalog, requested):
    with pytest.raises(UnknownModel):
        catalog.resolve(requested)


def test_an_unknown_model_names_close_matches(catalog):
    with pytest.raises(UnknownModel) as caught:
        catalog.resolve("grok-4.6-hihg-fast")
    assert caught.value.requested == "grok-4.6-hihg-fast"
    assert caught.value.close_matches[0] == "grok-4.6-high-fast"
    assert "did you mean" in str(caught.value)
    with pytest.raises(UnknownModel) as caught:
        catalog.resolve("zzzz")
    assert caught.value.close_matches == ()
    with pytest.raises(UnknownModel):
        catalog.resolve("secret-model-20260101")  # a date does not unhide a model


def test_the_catalog_round_trips_through_json(catalog):
    again = ModelCatalog.from_dict(json.loads(json.dumps(catalog.to_dict())))
    assert again.models == catalog.models
    assert again.resolve("grok-4.6-high-fast") == catalog.resolve("grok-4.6-high-fast")


# -- the calls --------------------------------------------------------------------------------


class OneAnswer:
    """A session that answers every POST with one canned response and records the requests."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/proto") -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.requests: list[requests.PreparedRequest] = []

    def merge_environment_settings(self, *args) -> dict:
        return {}

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self.requests.append(request)
        answer = requests.Response()
        answer.status_code = self.status
        answer.headers = CaseInsensitiveDict({"Content-Type": self.content_type})
        answer.raw = io.BytesIO(self.body)
        return answer


def test_fetch_catalog_asks_for_model_parameters_with_the_identity():
    session = OneAnswer(200, CATALOG.SerializeToString())
    catalog = fetch_catalog(session, "https://api2.test/", IDENTITY, TOKEN, timeout=5)  # type: ignore[arg-type]
    assert [model.id for model in catalog.listed()] == ["composer-2.5", "grok-4.6"]
    (request,) = session.requests
    assert request.url == "https://api2.test" + AVAILABLE_MODELS_PATH
    assert fields(request.body) == [(5, 0, 1)]  # use_model_parameters = true
    assert request.headers["content-type"] == "application/proto"
    assert request.headers["authorization"] == f"Bearer {TOKEN}" and request.headers["x-ghost-mode"] == "false"
    assert request.headers["x-cursor-client-version"] == "cli-2026.10.01-e373342"


def test_fetch_catalog_failures():
    refusal = json.dumps({"code": "unauthenticated", "message": "Error", "details": []}).encode()
    with pytest.raises(UpstreamError) as caught:
        fetch_catalog(OneAnswer(401, refusal, "application/json"), "https://a", IDENTITY, TOKEN, timeout=5)  # type: ignore[arg-type]
    assert (caught.value.http_status, caught.value.connect_code) == (401, "unauthenticated")
    with pytest.raises(ProtocolError):
        fetch_catalog(OneAnswer(200, b"\xff\xff"), "https://a", IDENTITY, TOKEN, timeout=5)  # type: ignore[arg-type]


def test_fetch_usable_models():
    answer = agent_pb2.GetUsableModelsResponse(
        models=[
            agent_pb2.ModelDetails(model_id="composer-2.5", display_name="Composer 2.5"),
            agent_pb2.ModelDetails(model_id="default"),
        ]
    )
    session = OneAnswer(200, answer.SerializeToString())
    models = fetch_usable_models(session, "https://agent.test", IDENTITY, TOKEN, timeout=5)  # type: ignore[arg-type]
    assert [(m.id, m.display_name) for m in models] == [("composer-2.5", "Composer 2.5"), ("default", "default")]
    assert session.requests[0].url == "https://agent.test" + GET_USABLE_MODELS_PATH


# -- API keys ---------------------------------------------------------------------------------


def jwt_with(claims: dict) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.signature"


def test_an_api_key_is_exchanged_for_a_session_token_with_its_expiry():
    token = jwt_with({"sub": "auth0|user_1", "exp": 1_900_000_000, "type": "session"})
    session = OneAnswer(200, json.dumps({"accessToken": token, "refreshToken": "r"}).encode(), "application/json")
    exchanged = exchange_api_key(session, "https://api2.test", "crsr_abc", 5)  # type: ignore[arg-type]
    assert (exchanged.access_token, exchanged.expires_at) == (token, 1_900_000_000)
    (request,) = session.requests
    assert request.url == "https://api2.test/auth/exchange_user_api_key" and request.body == b"{}"
    assert request.headers["authorization"] == "Bearer crsr_abc"
    assert request.headers["content-type"] == "application/json"
    assert is_api_key("crsr_abc") and not is_api_key(token)


@pytest.mark.parametrize(
    "body",
    [b'{"code":"unauthenticated","message":"Invalid User API Key"}', b'{"error":"Invalid User API Key"}'],
)
def test_a_bad_key_is_a_401(body):
    with pytest.raises(UpstreamError) as caught:
        exchange_api_key(OneAnswer(401, body, "application/json"), "https://a", "crsr_bad", 5)  # type: ignore[arg-type]
    assert caught.value.http_status == 401 and "Invalid User API Key" in caught.value.detail


@pytest.mark.parametrize(
    "body", [b"{}", b"not json", b'{"accessToken": "opaque"}', json.dumps({"accessToken": jwt_with({})}).encode()]
)
def test_an_answer_without_a_usable_token_is_a_502(body):
    with pytest.raises(UpstreamError) as caught:
        exchange_api_key(OneAnswer(200, body, "application/json"), "https://a", "crsr_k", 5)  # type: ignore[arg-type]
    assert caught.value.http_status == 502
