"""The fake's model catalog (AGENT_WIRE §7): what `AvailableModels` and `GetUsableModels`
answer, and what a run request's `requested_model` is checked against.

An account whose user id contains `freeplan` sees only the models without `paid`. The hidden
model is in AvailableModels' list (flagged `is_hidden`), never in GetUsableModels, and is
refused in a run request like an unknown id."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.fake_cursor.proto import agent_fake_pb2 as pb

FREE_PLAN_MARKER = "freeplan"


@dataclass(frozen=True)
class Parameter:
    id: str
    display_name: str
    values: tuple[str, ...]
    default_index: int = 0


@dataclass(frozen=True)
class Variant:
    parameters: tuple[tuple[str, str], ...]
    variant_string: str
    legacy_slug: str
    display_name: str


@dataclass(frozen=True)
class Model:
    name: str
    display_name: str
    parameters: tuple[Parameter, ...] = ()
    variants: tuple[Variant, ...] = ()
    id_aliases: tuple[str, ...] = ()
    legacy_slugs: tuple[str, ...] = ()
    supports_thinking: bool = False
    supports_images: bool = False
    supports_max_mode: bool = False
    context_token_limit: int = 200000
    default_on: bool = True
    hidden: bool = False
    paid: bool = False
    short_name: str = field(default="")

    def parameter(self, parameter_id: str) -> Parameter | None:
        return next((parameter for parameter in self.parameters if parameter.id == parameter_id), None)


_FAST = Parameter("fast", "Fast", ("true", "false"), 0)
_GROK_FAST = Parameter("fast", "Fast", ("false", "true"), 0)
_GROK_EFFORT = Parameter("effort", "Effort", ("low", "medium", "high", "xhigh"), 1)
_LUNA_EFFORT = Parameter("effort", "Effort", ("low", "medium", "high"), 1)


def _grok_variants() -> tuple[Variant, ...]:
    variants = []
    for effort in _GROK_EFFORT.values:
        for fast in _GROK_FAST.values:
            suffix = f"{effort}-fast" if fast == "true" else effort
            variants.append(
                Variant(
                    (("effort", effort), ("fast", fast)),
                    f"grok-4.6-{suffix}",
                    f"cursor-grok-4.6-{suffix}",
                    f"Grok 4.6 {suffix.replace('-', ' ')}",
                )
            )
    return tuple(variants)


MODELS: tuple[Model, ...] = (
    Model("default", "Auto", supports_images=True, short_name="Auto"),
    Model(
        "composer-2.5",
        "Composer 2.5",
        parameters=(_FAST,),
        variants=(
            Variant((("fast", "true"),), "composer-2.5-fast", "cursor-composer-2.5-fast", "Composer 2.5 Fast"),
            Variant((("fast", "false"),), "composer-2.5-standard", "cursor-composer-2.5", "Composer 2.5"),
        ),
    ),
    Model("composer-2", "Composer 2", legacy_slugs=("cursor-composer-2",)),
    Model(
        "grok-4.6",
        "Grok 4.6",
        parameters=(_GROK_FAST, _GROK_EFFORT),
        variants=_grok_variants(),
        legacy_slugs=("cursor-grok-4.6",),
        supports_thinking=True,
        context_token_limit=256000,
    ),
    Model(
        "claude-4.5-sonnet",
        "Claude 4.5 Sonnet",
        id_aliases=("claude-sonnet-4-5",),
        supports_thinking=True,
        supports_images=True,
        supports_max_mode=True,
        paid=True,
    ),
    Model(
        "gpt-5.6-luna",
        "GPT-5.6 Luna",
        parameters=(_LUNA_EFFORT,),
        variants=tuple(
            Variant(
                (("effort", effort),),
                f"gpt-5.6-luna-{effort}",
                f"cursor-gpt-5.6-luna-{effort}",
                f"GPT-5.6 Luna {effort}",
            )
            for effort in _LUNA_EFFORT.values
        ),
        supports_thinking=True,
        supports_images=True,
        paid=True,
        context_token_limit=400000,
    ),
    Model("grok-4.7-internal", "Grok 4.7 (internal)", hidden=True, default_on=False),
)
BY_NAME = {model.name: model for model in MODELS}


def visible_models(user_id: str | None) -> list[Model]:
    """The account's catalog, hidden models included (AvailableModels flags them)."""
    free = FREE_PLAN_MARKER in (user_id or "")
    return [model for model in MODELS if not (free and model.paid)]


def usable_model(user_id: str | None, model_id: str) -> Model | None:
    """The model a run request may name: listed for the account and not hidden."""
    model = BY_NAME.get(model_id)
    if model is None or model.hidden or model not in visible_models(user_id):
        return None
    return model


def check_requested_model(user_id: str | None, requested: pb.RequestedModel) -> str | None:
    """Why `requested_model` is refused as a bad model, or None."""
    if not requested.built_in_model:
        return "requested_model.built_in_model must be true"
    model = usable_model(user_id, requested.model_id)
    if model is None:
        return f"unknown model {requested.model_id!r}"
    seen: set[str] = set()
    for parameter in requested.parameters:
        definition = model.parameter(parameter.id)
        if definition is None:
            return f"model {model.name!r} has no parameter {parameter.id!r}"
        if parameter.id in seen:
            return f"parameter {parameter.id!r} given twice"
        seen.add(parameter.id)
        if parameter.value not in definition.values:
            return f"parameter {parameter.id!r} of {model.name!r} cannot be {parameter.value!r}"
    return None


def _available(model: Model, with_parameters: bool) -> pb.AvailableModel:
    message = pb.AvailableModel(
        name=model.name,
        default_on=model.default_on,
        supports_thinking=model.supports_thinking,
        supports_images=model.supports_images,
        supports_max_mode=model.supports_max_mode,
        supports_non_max_mode=True,
        client_display_name=model.display_name,
        server_model_name=model.name,
        is_hidden=model.hidden,
        legacy_slugs=model.legacy_slugs,
        id_aliases=model.id_aliases,
    )
    # Fields 15/16 are left unset by the live service (PROTOCOL_AGENT §7 addendum): so here too.
    if with_parameters:
        for parameter in model.parameters:
            message.parameter_definitions.add(
                id=parameter.id,
                display_name=parameter.display_name,
                tooltip=f"{parameter.display_name} mode",
                values=parameter.values,
                default_index=parameter.default_index,
            )
        for variant in model.variants:
            message.variants.add(
                parameters=[pb.ModelParameter(id=key, value=value) for key, value in variant.parameters],
                display=variant.display_name,
                display_name=variant.display_name,
                variant_string=variant.variant_string,
                legacy_slug=variant.legacy_slug,
            )
    return message


def available_models(user_id: str | None, with_parameters: bool) -> pb.AvailableModelsResponse:
    models = visible_models(user_id)
    return pb.AvailableModelsResponse(
        model_names=[model.name for model in models if not model.hidden],
        models=[_available(model, with_parameters) for model in models],
    )


def usable_models(user_id: str | None) -> pb.GetUsableModelsResponse:
    return pb.GetUsableModelsResponse(
        models=[
            pb.ModelDetails(
                model_id=model.name,
                display_model_id=model.name,
                display_name=model.display_name,
                display_name_short=model.short_name or model.display_name,
                aliases=model.id_aliases,
            )
            for model in visible_models(user_id)
            if not model.hidden
        ]
    )
