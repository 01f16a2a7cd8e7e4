"""The composition root: builds every service of one worker process from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from app.cursor.client import Upstream
from app.cursor.generations import GenerationOptions
from app.services.access_tokens import AccessTokens
from app.services.admin_token import ensure_admin_token
from app.services.auth import Authenticator, GuessLimiter
from app.services.chat import ChatService, ClientProvider
from app.services.conversation_blobs import ConversationBlobs
from app.services.debug_log import DebugLog
from app.services.models import ModelCatalogService
from app.services.pages import PageOverrides
from app.services.request_log import RequestLog
from app.services.runtime_config import RuntimeConfigService
from app.services.token_pool import TokenPool
from app.services.usage import AccountUsage
from app.settings import Settings
from app.store import Store, open_store


@dataclass(frozen=True)
class Gateway:
    settings: Settings
    store: Store
    config: RuntimeConfigService
    pool: TokenPool
    auth: Authenticator
    request_log: RequestLog
    pages: PageOverrides
    usage: AccountUsage
    chat: ChatService
    models: ModelCatalogService


def build_gateway(settings: Settings) -> Gateway:
    store = open_store(settings.data_dir, settings.store_url)
    admin = ensure_admin_token(settings.auth_token, settings.data_dir)
    pool = TokenPool(store, settings.token_list_file)
    request_log = RequestLog(store, settings.request_logs_limit)
    upstream = Upstream(settings.cursor_api2_base_url, settings.cursor_web_base_url, settings.reverse_proxy_host)
    generation_options = GenerationOptions(
        agent_base_url=settings.cursor_agent_base_url,
        client_type=settings.cursor_client_type,
        client_version=settings.cursor_client_version,
        ghost_mode=settings.ghost_mode,
        heartbeat_seconds=settings.agent_heartbeat_seconds,
        blobs=ConversationBlobs(store),
    )
    clients = ClientProvider(upstream, settings.cursor_protocol, generation_options)
    usage = AccountUsage(store, pool, request_log, clients, settings.usage_check_ttl_seconds)
    access = AccessTokens(store, clients, settings.cursor_api2_base_url, settings.service_timeout)
    models = ModelCatalogService(store, settings, clients, pool, access)
    return Gateway(
        settings=settings,
        store=store,
        config=RuntimeConfigService(store, settings),
        pool=pool,
        auth=Authenticator(settings, admin.value, pool, GuessLimiter(store, settings.auth_failure_limit)),
        request_log=request_log,
        pages=PageOverrides(store),
        usage=usage,
        chat=ChatService(
            settings,
            request_log,
            clients,
            usage,
            pool,
            DebugLog(settings.debug, settings.debug_log_file),
            access,
            models,
        ),
        models=models,
    )
