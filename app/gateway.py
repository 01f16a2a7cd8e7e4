"""The composition root: builds every service of one worker process from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from app.cursor.client import Upstream
from app.services.admin_token import ensure_admin_token
from app.services.auth import Authenticator
from app.services.chat import ChatService, ClientProvider
from app.services.debug_log import DebugLog
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


def build_gateway(settings: Settings) -> Gateway:
    store = open_store(settings.data_dir, settings.store_url)
    admin = ensure_admin_token(settings.auth_token, settings.data_dir)
    pool = TokenPool(store, settings.token_list_file)
    request_log = RequestLog(store, settings.request_logs_limit)
    upstream = Upstream(settings.cursor_api2_base_url, settings.cursor_web_base_url, settings.reverse_proxy_host)
    clients = ClientProvider(upstream)
    usage = AccountUsage(store, pool, request_log, clients)
    return Gateway(
        settings=settings,
        store=store,
        config=RuntimeConfigService(store, settings),
        pool=pool,
        auth=Authenticator(settings, admin.value, pool),
        request_log=request_log,
        pages=PageOverrides(store),
        usage=usage,
        chat=ChatService(
            settings, request_log, clients, usage, pool, DebugLog(settings.debug, settings.debug_log_file)
        ),
    )
