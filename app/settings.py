"""Settings from the environment (SPEC §3), read once at start-up and immutable after.

Parsing follows the reference exactly where SPEC §3 says so (lenient: an unparsable boolean or
number falls back to its default). Variables this project adds, and values the reference would
crash on (D11), are checked strictly: every problem is reported at once, each naming its
variable, so a bad deployment fails at start-up with a message instead of misbehaving later.
"""
from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

from dotenv import find_dotenv, load_dotenv

VERSION = "0.1.3-rc.4"

MODEL_OWNERS: dict[str, str] = {
    "claude-3.5-sonnet": "anthropic",
    "gpt-4": "openai",
    "gpt-4o": "openai",
    "claude-3-opus": "anthropic",
    "cursor-fast": "cursor",
    "cursor-small": "cursor",
    "gpt-3.5-turbo": "openai",
    "gpt-4-turbo-2024-04-09": "openai",
    "gpt-4o-128k": "openai",
    "gemini-1.5-flash-500k": "google",
    "claude-3-haiku-200k": "anthropic",
    "claude-3-5-sonnet-200k": "anthropic",
    "claude-3-5-sonnet-20241022": "anthropic",
    "gpt-4o-mini": "openai",
    "o1-mini": "openai",
    "o1-preview": "openai",
    "o1": "openai",
    "claude-3.5-haiku": "anthropic",
    "gemini-exp-1206": "google",
    "gemini-2.0-flash-thinking-exp": "google",
    "gemini-2.0-flash-exp": "google",
    "deepseek-v3": "deepseek",
    "deepseek-r1": "deepseek",
}
MODEL_IDS: tuple[str, ...] = tuple(MODEL_OWNERS)

USAGE_CHECK_DEFAULT_MODELS: tuple[str, ...] = (
    "claude-3-5-sonnet-20241022", "claude-3.5-sonnet", "gemini-exp-1206", "gpt-4",
    "gpt-4-turbo-2024-04-09", "gpt-4o", "claude-3.5-haiku", "gpt-4o-128k",
    "gemini-1.5-flash-500k", "claude-3-haiku-200k", "claude-3-5-sonnet-200k",
)  # fmt: skip

PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks5", "socks5h"})
MIB = 1024 * 1024

# Accepted for compatibility but without effect: start-up prints a note for each one set.
IGNORED_VARIABLES = ("LOGS_FILE_PATH", "PAGES_FILE_PATH", "ENABLE_STREAM_CHECK", "INCLUDE_STOP_REASON_STREAM", "TOKEN_FILE")


class SettingsError(ValueError):
    """One or more environment variables are unusable; the message names each of them."""


class VisionAbility(str, enum.Enum):
    NONE = "none"
    BASE64 = "base64"
    ALL = "all"

    @classmethod
    def parse(cls, value: str) -> VisionAbility:
        aliases = {"none": cls.NONE, "disabled": cls.NONE, "base64": cls.BASE64, "base64-only": cls.BASE64,
                   "all": cls.ALL, "base64-http": cls.ALL}  # fmt: skip
        return aliases.get(value.strip().lower(), cls.BASE64)


@dataclass(frozen=True, slots=True)
class UsageRule:
    """Which models trigger an account-usage check: none, default (the 11), all, or a list."""

    kind: str
    models: tuple[str, ...] = ()


def parse_usage_rule(value: str, *, empty_means: str) -> UsageRule:
    """USAGE_CHECK and /config's rule. `empty_means` is what an empty value or a list with no
    known model becomes: `default` for the variable, `none` for /config (SPEC §3, §8.2)."""
    text = value.strip()
    keyword = text.lower()
    if keyword in ("none", "disabled"):
        return UsageRule("none")
    if keyword == "default":
        return UsageRule("default")
    if keyword in ("all", "everything"):
        return UsageRule("all")
    models = known_models(text)
    return UsageRule("list", models) if models else UsageRule(empty_means)


def known_models(text: str) -> tuple[str, ...]:
    """The listed model ids of a comma-separated text, trimmed, unknown ones dropped."""
    return tuple(dict.fromkeys(m for m in (part.strip() for part in text.split(",")) if m in MODEL_OWNERS))


@dataclass(frozen=True, slots=True)
class ProxySetting:
    """The outbound proxy: none, the system's (environment), or one URL (SPEC §3 PROXIES)."""

    mode: str  # "none" | "system" | "url"
    url: str | None = None

    @property
    def canonical(self) -> str:
        """The form `/config` shows: "" for no proxy, "system", or the URL."""
        return {"none": "", "system": "system"}.get(self.mode, self.url or "")

    @classmethod
    def parse(cls, value: str) -> ProxySetting:
        text = value.strip()
        if text in ("", "no"):
            return cls("none")
        if text == "system":
            return cls("system")
        for candidate in (part.strip() for part in text.split(",")):
            if _is_proxy_url(candidate):
                return cls("url", candidate)
        return cls("system")


def _is_proxy_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        return parts.scheme in PROXY_SCHEMES and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Settings:
    port: int = 3000
    auth_token: str | None = None
    route_prefix: str = ""
    shared_token: str = ""
    token_list_file: str = ".tokens"
    enable_slow_pool: bool = False
    pass_any_claude: bool = False
    vision_ability: VisionAbility = VisionAbility.BASE64
    usage_check: UsageRule = UsageRule("default")
    dynamic_key: bool = False
    key_prefix: str = "sk-"
    default_instructions: str = "Respond in Chinese by default"
    reverse_proxy_host: str = ""
    proxies: ProxySetting = ProxySetting("system")
    request_body_limit_bytes: int = 2 * MIB
    token_delimiter: str = ","
    use_comma_delimiter: bool = False
    debug: bool = False
    debug_log_file: str = "debug.log"
    request_logs_limit: int = 100
    service_timeout: int = 30
    include_web_references: bool = False
    cursor_api2_base_url: str = "https://api2.cursor.sh"
    cursor_web_base_url: str = "https://www.cursor.com"
    data_dir: str = "./data"
    store_url: str | None = None
    web_concurrency: int | None = None
    sse_keepalive_seconds: float = 15.0
    stream_idle_timeout: float = 300.0
    max_token_retries: int = 2
    image_fetch_allow_private: bool = False
    image_max_bytes: int = 20 * MIB
    image_fetch_timeout: float = 15.0
    ignored_variables: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return _Reader(os.environ if environ is None else environ).settings()


# Every variable the gateway reads; .env.example must document each (a test checks).
ENV_VARS = (
    "PORT", "AUTH_TOKEN", "ROUTE_PREFIX", "SHARED_TOKEN", "TOKEN_LIST_FILE", "ENABLE_SLOW_POOL",
    "PASS_ANY_CLAUDE", "VISION_ABILITY", "USAGE_CHECK", "DYNAMIC_KEY", "KEY_PREFIX",
    "DEFAULT_INSTRUCTIONS", "REVERSE_PROXY_HOST", "PROXIES", "REQUEST_BODY_LIMIT_MB",
    "TOKEN_DELIMITER", "USE_COMMA_DELIMITER", "DEBUG", "DEBUG_LOG_FILE", "REQUEST_LOGS_LIMIT",
    "SERVICE_TIMEOUT", "INCLUDE_WEB_REFERENCES", "CURSOR_API2_BASE_URL", "CURSOR_WEB_BASE_URL",
    "DATA_DIR", "STORE_URL", "WEB_CONCURRENCY", "SSE_KEEPALIVE_SECONDS", "STREAM_IDLE_TIMEOUT",
    "MAX_TOKEN_RETRIES", "IMAGE_FETCH_ALLOW_PRIVATE", "IMAGE_MAX_BYTES", "IMAGE_FETCH_TIMEOUT",
    *IGNORED_VARIABLES,
)  # fmt: skip


class _Reader:
    """Reads one environment, collecting every problem before failing."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = environ
        self.problems: list[str] = []

    # -- lenient reference rules ------------------------------------------------------------
    def flag(self, name: str, default: bool) -> bool:
        value = self.env.get(name)
        if value is None:
            return default
        return {"true": True, "1": True, "false": False, "0": False}.get(value.lower(), default)

    def uint(self, name: str, default: int) -> int:
        value = self.env.get(name, "")
        return int(value) if value.isascii() and value.isdigit() else default

    def trimmed(self, name: str, default: str = "") -> str:
        return self.env.get(name, default).strip()

    # -- strict rules for our own variables -------------------------------------------------
    def checked(self, name: str, default, parse: Callable[[str], object], expectation: str):
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return default
        try:
            return parse(value.strip())
        except ValueError:
            self.problems.append(f"{name} must be {expectation} (got {value!r})")
            return default

    def base_url(self, name: str, default: str) -> str:
        def parse(value: str) -> str:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
                raise ValueError
            _ = parts.port  # raises ValueError for a bad port
            return value.rstrip("/")

        return self.checked(name, default, parse, "an http(s) URL with a host and no path, e.g. https://api2.cursor.sh")

    def settings(self) -> Settings:
        env = self.env
        delimiter = env.get("TOKEN_DELIMITER", ",")
        if not (len(delimiter) == 1 and delimiter.isascii() and not delimiter.isalnum() and delimiter not in "+/"):
            delimiter = ","
        settings = Settings(
            port=self.checked("PORT", 3000, _port, "a port number from 1 to 65535"),
            auth_token=self._auth_token(),
            route_prefix=self._route_prefix(),
            shared_token=env.get("SHARED_TOKEN", ""),
            token_list_file=self.trimmed("TOKEN_LIST_FILE", ".tokens") or ".tokens",
            enable_slow_pool=self.flag("ENABLE_SLOW_POOL", False),
            pass_any_claude=self.flag("PASS_ANY_CLAUDE", False),
            vision_ability=VisionAbility.parse(env.get("VISION_ABILITY", "")),
            usage_check=parse_usage_rule(env.get("USAGE_CHECK", ""), empty_means="default"),
            dynamic_key=self.flag("DYNAMIC_KEY", False),
            key_prefix=self.trimmed("KEY_PREFIX") or "sk-",
            default_instructions=self.trimmed("DEFAULT_INSTRUCTIONS", "Respond in Chinese by default"),
            reverse_proxy_host=self.trimmed("REVERSE_PROXY_HOST"),
            proxies=ProxySetting.parse(env["PROXIES"]) if "PROXIES" in env else ProxySetting("system"),
            request_body_limit_bytes=self.uint("REQUEST_BODY_LIMIT_MB", 2) * MIB,
            token_delimiter=delimiter,
            use_comma_delimiter=self.flag("USE_COMMA_DELIMITER", True) and delimiter != ",",
            debug=self.flag("DEBUG", False),
            debug_log_file=env.get("DEBUG_LOG_FILE", "debug.log"),
            request_logs_limit=min(self.uint("REQUEST_LOGS_LIMIT", 100), 2000),
            service_timeout=min(self.uint("SERVICE_TIMEOUT", 30), 600),
            include_web_references=self.flag("INCLUDE_WEB_REFERENCES", False),
            cursor_api2_base_url=self.base_url("CURSOR_API2_BASE_URL", "https://api2.cursor.sh"),
            cursor_web_base_url=self.base_url("CURSOR_WEB_BASE_URL", "https://www.cursor.com"),
            data_dir=self.trimmed("DATA_DIR", "./data") or "./data",
            store_url=self.checked("STORE_URL", None, _store_url, "redis://…, rediss://… or sqlite:///path"),
            web_concurrency=self.checked("WEB_CONCURRENCY", None, _positive_int, "a positive whole number"),
            sse_keepalive_seconds=self.checked("SSE_KEEPALIVE_SECONDS", 15.0, _non_negative, "a number of seconds (0 disables)"),
            stream_idle_timeout=self.checked("STREAM_IDLE_TIMEOUT", 300.0, _positive, "a positive number of seconds"),
            max_token_retries=self.checked("MAX_TOKEN_RETRIES", 2, _non_negative_int, "a whole number, 0 or more"),
            image_fetch_allow_private=self.flag("IMAGE_FETCH_ALLOW_PRIVATE", False),
            image_max_bytes=self.checked("IMAGE_MAX_BYTES", 20 * MIB, _positive_int, "a positive number of bytes"),
            image_fetch_timeout=self.checked("IMAGE_FETCH_TIMEOUT", 15.0, _positive, "a positive number of seconds"),
            ignored_variables=tuple(name for name in IGNORED_VARIABLES if name in env),
        )
        if self.problems:
            raise SettingsError("\n".join(self.problems))
        return settings

    def _auth_token(self) -> str | None:
        value = self.env.get("AUTH_TOKEN")
        if value is None:
            return None  # D22: generated and kept in DATA_DIR
        if not value.strip():
            self.problems.append("AUTH_TOKEN is set but blank: set a token, or unset it to have one generated")
            return None
        return value.strip()

    def _route_prefix(self) -> str:
        prefix = self.trimmed("ROUTE_PREFIX")
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            self.problems.append(f"ROUTE_PREFIX must start with '/' and not end with '/' (got {prefix!r})")
            return ""
        return prefix


def _port(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValueError
    return port


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError
    return number


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError
    return number


def _non_negative(value: str) -> float:
    number = float(value)
    if not number >= 0 or number == float("inf"):
        raise ValueError
    return number


def _store_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "sqlite:///")):
        raise ValueError
    return value


def load_dotenv_file() -> str | None:
    """Load `.env` from the working directory or its nearest parent, never overriding a variable
    the real environment already has (SPEC §2.2 step 1). Returns the path loaded, if any."""
    path = find_dotenv(usecwd=True)
    if not path:
        return None
    load_dotenv(path, override=False)
    return path
