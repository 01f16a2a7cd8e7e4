"""The model list and model resolution (D27).

On `agent`, `/v1/models` is Cursor's live catalog (AvailableModels), kept in the store for
MODELS_REFRESH_SECONDS so every worker and instance shares one fetch, and a requested id
resolves through the catalog's ids, aliases, variants and legacy slugs to a model id plus
parameters; an unknown id is a 400 naming close matches, never a silent substitution. The
static list of rc.4 is the fallback while no token can fetch the live one, and stays the list on
`legacy`. The catalog is fetched with whichever account asks first; accounts on other plans may
see a different one upstream (Cursor refuses a model an account cannot use).
"""

from __future__ import annotations

import logging
import time

from app.cursor.agent.models import ModelCatalog, UnknownModel, UnsupportedEffort, fetch_catalog
from app.cursor.agent.unary import AgentIdentity
from app.cursor.errors import CursorError
from app.errors import ApiError
from app.openai_format import MODELS_CREATED, model_list
from app.services.metrics import register_model_labels
from app.services.token_health import usable
from app.services.token_pool import TokenPool
from app.settings import ProxySetting, Settings
from app.store import Store

CATALOG_KEY = "models:catalog"
_log = logging.getLogger("cursor_api.models")


class ModelCatalogService:
    def __init__(self, store: Store, settings: Settings, clients, pool: TokenPool, access) -> None:
        self._store = store
        self._settings = settings
        self._clients = clients
        self._pool = pool
        self._access = access
        self._identity = AgentIdentity(settings.cursor_client_type, settings.cursor_client_version, settings.ghost_mode)

    @property
    def live(self) -> bool:
        return self._settings.cursor_protocol == "agent"

    def catalog(self, proxies: ProxySetting, token: str | None = None) -> ModelCatalog | None:
        """The cached catalog while fresh; else fetched with `token` (or a usable pool token);
        a failed fetch keeps the last catalog. None when there never was one."""
        cached = self._store.get(CATALOG_KEY)
        if cached and time.time() - cached["fetched_at"] < self._settings.models_refresh_seconds:
            return self._loaded(cached)
        token = token or self._pool_token()
        if token is not None:
            try:
                catalog = fetch_catalog(
                    self._clients.get(proxies).session,
                    self._settings.cursor_api2_base_url,
                    self._identity,
                    self._access.access_token(token, proxies),
                    timeout=self._settings.service_timeout,
                )
            except (CursorError, ApiError) as exc:
                _log.warning("the model list could not be fetched: %s", exc)
            else:
                document = {"fetched_at": time.time(), "catalog": catalog.to_dict()}
                self._store.put(CATALOG_KEY, document)
                return self._loaded(document)
        return self._loaded(cached) if cached else None

    @staticmethod
    def _loaded(document: dict) -> ModelCatalog:
        catalog = ModelCatalog.from_dict(document["catalog"])
        register_model_labels(model.id for model in catalog.listed())
        return catalog

    def pool_token(self) -> tuple[str, str] | None:
        """A usable pool token and its checksum, without moving the rotation (a model list or
        the doctor is not a chat)."""
        now = time.time()
        entries = self._pool.entries()
        return next(((e["token"], e["checksum"]) for e in entries if usable(e.get("health"), now)), None)

    def _pool_token(self) -> str | None:
        picked = self.pool_token()
        return picked[0] if picked else None

    def resolve(
        self, requested: str, token: str, proxies: ProxySetting, effort: str | None = None
    ) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The upstream model id and parameters for a requested id (the base id, without -online)
        and the client's reasoning effort, if any."""
        if not self.live:
            return requested, ()  # legacy: the front already checked the static list
        catalog = self.catalog(proxies, token)
        if catalog is None:
            # No account could fetch the catalog (Cursor down, or refusing this client): the id
            # goes upstream as given, and Cursor's own answer (a bad model, an outdated client)
            # tells the client what is wrong.
            return requested, ()
        try:
            resolved = catalog.resolve(requested, effort)
        except UnsupportedEffort as unsupported:
            allowed = ", ".join(unsupported.allowed)
            message = f"The model '{requested}' takes a reasoning effort of {allowed}, not '{effort}'"
            raise ApiError(400, "unsupported_value", message, param="reasoning_effort") from None
        except UnknownModel as unknown:
            hint = f"; close matches: {', '.join(unknown.close_matches)}" if unknown.close_matches else ""
            message = f"The model '{requested}' does not exist or is not available to this account{hint}"
            raise ApiError(400, "model_not_found", message, param="model") from None
        return resolved.model_id, tuple(resolved.parameters)

    def listing(self, proxies: ProxySetting) -> dict:
        """The `/v1/models` body."""
        catalog = self.catalog(proxies) if self.live else None
        if catalog is None:
            return model_list()
        return {"object": "list", "data": [self._entry(model) for model in catalog.listed()]}

    def one(self, model_id: str, proxies: ProxySetting) -> dict:
        """`/v1/models/{id}`, or a 404 in OpenAI's shape."""
        listing = self.listing(proxies)
        found = next((entry for entry in listing["data"] if entry["id"] == model_id), None)
        if found is None:
            raise ApiError(404, "model_not_found", f"The model '{model_id}' does not exist", param="model")
        return found

    @staticmethod
    def _entry(model) -> dict:
        entry = {
            "id": model.id,
            "object": "model",
            "created": MODELS_CREATED,
            "owned_by": "cursor",
            "name": model.display_name or model.id,
            "capabilities": {"thinking": model.supports_thinking, "images": model.supports_images},
        }
        if model.context_token_limit:
            entry["context_length"] = model.context_token_limit
        if model.parameters:
            entry["parameters"] = {parameter.id: list(parameter.values) for parameter in model.parameters}
        return entry
