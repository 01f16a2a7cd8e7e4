"""The account's model catalog (AGENT_WIRE §7): fetched from AvailableModels with model
parameters, kept as plain data (the service caches it in the store as JSON), and used to resolve
the model a client asks for into a model id plus parameters.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import requests
from google.protobuf.message import DecodeError

from app.cursor.agent.unary import AgentIdentity, call_unary
from app.cursor.errors import ProtocolError
from app.cursor.http import Poster
from app.cursor.proto import agent_aiserver_pb2, agent_pb2

AVAILABLE_MODELS_PATH = "/aiserver.v1.AiService/AvailableModels"
GET_USABLE_MODELS_PATH = "/agent.v1.AgentService/GetUsableModels"

Parameters = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ParameterDefinition:
    """A model parameter and the values the catalog allows for it (the only ones Cursor accepts)."""

    id: str
    display_name: str
    values: tuple[str, ...]
    default_index: int = 0


@dataclass(frozen=True, slots=True)
class Variant:
    """A named choice of parameters, e.g. `grok-4.6-high-fast` = effort high, fast true."""

    parameters: Parameters
    display_name: str = ""
    variant_string: str = ""
    legacy_slug: str = ""
    is_max: bool = False


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    display_name: str
    supports_thinking: bool = False
    supports_images: bool = False
    context_token_limit: int | None = None
    parameters: tuple[ParameterDefinition, ...] = ()
    variants: tuple[Variant, ...] = ()
    aliases: tuple[str, ...] = ()
    legacy_slugs: tuple[str, ...] = ()
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """What a run request names: the model id and the parameters to send with it."""

    model_id: str
    parameters: Parameters = ()


# Anthropic's dated ids (`claude-sonnet-4-5-20250929`), as Claude Code and the SDK examples send
# them; Cursor's catalog names the undated alias.
_DATED_ID = re.compile(r"^(.+)-20\d{6}$")
EFFORT_PARAMETERS = ("effort", "reasoning")  # what the families call their thinking level (§3.2)


class UnsupportedEffort(ValueError):
    """A reasoning effort the model's catalog entry does not allow."""

    def __init__(self, effort: str, allowed: Sequence[str]) -> None:
        super().__init__(effort)
        self.allowed = tuple(allowed)


class UnknownModel(LookupError):
    """No listed model answers to the requested name; `close_matches` are names that would."""

    def __init__(self, requested: str, close_matches: Sequence[str]) -> None:
        self.requested = requested
        self.close_matches = tuple(close_matches)
        hint = f" (did you mean {', '.join(self.close_matches)}?)" if self.close_matches else ""
        super().__init__(f"unknown model {requested!r}{hint}")


def _model_from_proto(model: agent_aiserver_pb2.AvailableModel) -> CatalogModel:
    return CatalogModel(
        id=model.name,
        display_name=model.client_display_name or model.name,
        supports_thinking=model.supports_thinking,
        supports_images=model.supports_images,
        context_token_limit=model.context_token_limit or None,  # the live service often leaves it unset
        parameters=tuple(
            ParameterDefinition(p.id, p.display_name, tuple(p.values), p.default_index)
            for p in model.parameter_definitions
        ),
        variants=tuple(
            Variant(
                tuple((p.id, p.value) for p in v.parameters),
                v.display_name,
                v.variant_string,
                v.legacy_slug,
                v.is_max,
            )
            for v in model.variants
        ),
        aliases=tuple(model.id_aliases),
        legacy_slugs=tuple(model.legacy_slugs),
        hidden=model.is_hidden,
    )


def _model_to_dict(model: CatalogModel) -> dict:
    return {
        "id": model.id,
        "display_name": model.display_name,
        "supports_thinking": model.supports_thinking,
        "supports_images": model.supports_images,
        "context_token_limit": model.context_token_limit,
        "parameters": [
            {"id": p.id, "display_name": p.display_name, "values": list(p.values), "default_index": p.default_index}
            for p in model.parameters
        ],
        "variants": [
            {
                "parameters": [list(pair) for pair in v.parameters],
                "display_name": v.display_name,
                "variant_string": v.variant_string,
                "legacy_slug": v.legacy_slug,
                "is_max": v.is_max,
            }
            for v in model.variants
        ],
        "aliases": list(model.aliases),
        "legacy_slugs": list(model.legacy_slugs),
        "hidden": model.hidden,
    }


def _model_from_dict(data: dict) -> CatalogModel:
    return CatalogModel(
        id=data["id"],
        display_name=data["display_name"],
        supports_thinking=data["supports_thinking"],
        supports_images=data["supports_images"],
        context_token_limit=data["context_token_limit"],
        parameters=tuple(
            ParameterDefinition(p["id"], p["display_name"], tuple(p["values"]), p["default_index"])
            for p in data["parameters"]
        ),
        variants=tuple(
            Variant(
                tuple((key, value) for key, value in v["parameters"]),
                v["display_name"],
                v["variant_string"],
                v["legacy_slug"],
                v["is_max"],
            )
            for v in data["variants"]
        ),
        aliases=tuple(data["aliases"]),
        legacy_slugs=tuple(data["legacy_slugs"]),
        hidden=data["hidden"],
    )


class ModelCatalog:
    """The models one account may use, and the names each answers to."""

    def __init__(self, models: Sequence[CatalogModel]) -> None:
        self.models = tuple(models)
        self._by_name = self._names()

    def _names(self) -> dict[str, ResolvedModel]:
        """Every resolvable name, in AGENT_WIRE §7's order of precedence (the first claim on a
        name wins): model ids, id aliases, variant strings and variant legacy slugs, then the
        models' legacy slugs. Hidden models resolve under no name."""
        visible = [model for model in self.models if not model.hidden]
        names: dict[str, ResolvedModel] = {}
        for model in visible:
            names.setdefault(model.id, ResolvedModel(model.id))
        for model in visible:
            for alias in model.aliases:
                names.setdefault(alias, ResolvedModel(model.id))
        for model in visible:
            for variant in model.variants:
                for name in (variant.variant_string, variant.legacy_slug):
                    if name:
                        names.setdefault(name, ResolvedModel(model.id, variant.parameters))
        for model in visible:
            for slug in model.legacy_slugs:
                names.setdefault(slug, ResolvedModel(model.id))
        return names

    def listed(self) -> list[CatalogModel]:
        """The models to show (`/v1/models`): all but the hidden ones."""
        return [model for model in self.models if not model.hidden]

    def get(self, model_id: str) -> CatalogModel | None:
        """A listed model by its id."""
        return next((model for model in self.listed() if model.id == model_id), None)

    def resolve(self, requested: str, effort: str | None = None) -> ResolvedModel:
        """The model id and parameters a requested name stands for (a dated Anthropic id for its
        undated name); UnknownModel otherwise.
        `effort` (a client's reasoning effort) sets the model's effort parameter when it has
        one, over a variant's (UnsupportedEffort for a value it does not allow); a model
        without one thinks as it does."""
        resolved = self._by_name.get(requested)
        dated = _DATED_ID.match(requested)
        if resolved is None and dated:
            resolved = self._by_name.get(dated.group(1))
        if resolved is None:
            raise UnknownModel(requested, difflib.get_close_matches(requested, list(self._by_name)))
        model = self.get(resolved.model_id)
        definition = next((p for p in model.parameters if p.id in EFFORT_PARAMETERS), None) if model else None
        if effort is None or definition is None:
            return resolved
        if effort not in definition.values:
            raise UnsupportedEffort(effort, definition.values)
        others = tuple((name, value) for name, value in resolved.parameters if name != definition.id)
        return ResolvedModel(resolved.model_id, ((definition.id, effort), *others))

    def to_dict(self) -> dict:
        """JSON-serialisable; `from_dict` reads it back."""
        return {"models": [_model_to_dict(model) for model in self.models]}

    @classmethod
    def from_dict(cls, data: dict) -> ModelCatalog:
        return cls([_model_from_dict(model) for model in data["models"]])

    @classmethod
    def from_response(cls, response: agent_aiserver_pb2.AvailableModelsResponse) -> ModelCatalog:
        return cls([_model_from_proto(model) for model in response.models])


def fetch_catalog(
    session: requests.Session, base_url: str, identity: AgentIdentity, token: str, *, timeout: float
) -> ModelCatalog:
    """AvailableModels on the api2 host, with `use_model_parameters` (without it there are no
    parameter definitions and no variants). Raises UpstreamError, UpstreamTimeout,
    TransportError, ReadError or ProtocolError."""
    body = agent_aiserver_pb2.AvailableModelsRequest(use_model_parameters=True).SerializeToString()
    headers = identity.headers(token, str(uuid.uuid4()))
    answer = call_unary(Poster(session), base_url.rstrip("/") + AVAILABLE_MODELS_PATH, headers, body, timeout=timeout)
    try:
        return ModelCatalog.from_response(agent_aiserver_pb2.AvailableModelsResponse.FromString(answer))
    except DecodeError:
        raise ProtocolError("AvailableModels answer is not an AvailableModelsResponse") from None


@dataclass(frozen=True, slots=True)
class UsableModel:
    id: str
    display_name: str


def fetch_usable_models(
    session: requests.Session, base_url: str, identity: AgentIdentity, token: str, *, timeout: float
) -> tuple[UsableModel, ...]:
    """GetUsableModels on the agent host: the ids the agent service itself will run for this
    account (a cross-check of the catalog)."""
    body = agent_pb2.GetUsableModelsRequest().SerializeToString()
    headers = identity.headers(token, str(uuid.uuid4()))
    answer = call_unary(Poster(session), base_url.rstrip("/") + GET_USABLE_MODELS_PATH, headers, body, timeout=timeout)
    try:
        response = agent_pb2.GetUsableModelsResponse.FromString(answer)
    except DecodeError:
        raise ProtocolError("GetUsableModels answer is not a GetUsableModelsResponse") from None
    return tuple(UsableModel(model.model_id, model.display_name or model.model_id) for model in response.models)
