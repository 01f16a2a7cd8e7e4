"""Settings from the environment (SPEC §3), read once at start-up and immutable after.

Two kinds of rule, on purpose:

* Variables of the reference are parsed exactly as SPEC §3 says, leniently: an unparsable
  boolean or number silently means its default, because existing deployments rely on that.
* Values the reference would crash on (PORT, ROUTE_PREFIX: D11), a blank AUTH_TOKEN (D22) and
  the variables this project adds are checked strictly. Every problem is collected and reported
  in one `SettingsError`, one line per variable, so a bad deployment fails at start-up with a
  message that says what to fix instead of misbehaving later. A strict addition set to a blank
  value counts as unset, so uncommenting an empty line of `.env.example` never breaks a start.

`Settings.from_env` is pure (it reads only the mapping it is given); `load_dotenv_file` is the
separate, explicit step that merges a `.env` file into the process environment first.
"""

from __future__ import annotations

import enum
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from dotenv import find_dotenv, load_dotenv

VERSION = "0.1.3-rc.4"

# SPEC §11.1: the fixed model list, in the order `/v1/models` shows it.
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

# SPEC §6.5: the models the `default` usage-check rule covers.
USAGE_CHECK_DEFAULT_MODELS: tuple[str, ...] = (
    "claude-3-5-sonnet-20241022", "claude-3.5-sonnet", "gemini-exp-1206", "gpt-4",
    "gpt-4-turbo-2024-04-09", "gpt-4o", "claude-3.5-haiku", "gpt-4o-128k",
    "gemini-1.5-flash-500k", "claude-3-haiku-200k", "claude-3-5-sonnet-200k",
)  # fmt: skip

PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks5", "socks5h"})
MIB = 1024 * 1024

# Accepted for compatibility but without effect (D24 and the deprecated ones of SPEC §3):
# start-up prints a note for each one that is set, so nobody wonders why it changes nothing.
IGNORED_VARIABLES: tuple[str, ...] = (
    "LOGS_FILE_PATH", "PAGES_FILE_PATH", "ENABLE_STREAM_CHECK", "INCLUDE_STOP_REASON_STREAM", "TOKEN_FILE",
)  # fmt: skip

# Every variable the gateway reads. `.env.example` must document each one, and a test checks
# that `Settings.from_env` reads exactly these, so the list cannot drift from the code.
ENV_VARS: tuple[str, ...] = (
    "PORT", "AUTH_TOKEN", "ROUTE_PREFIX", "SHARED_TOKEN", "TOKEN_LIST_FILE", "ENABLE_SLOW_POOL",
    "PASS_ANY_CLAUDE", "VISION_ABILITY", "USAGE_CHECK", "DYNAMIC_KEY", "KEY_PREFIX",
    "DEFAULT_INSTRUCTIONS", "REVERSE_PROXY_HOST", "PROXIES", "REQUEST_BODY_LIMIT_MB",
    "TOKEN_DELIMITER", "USE_COMMA_DELIMITER", "DEBUG", "DEBUG_LOG_FILE", "REQUEST_LOGS_LIMIT",
    "SERVICE_TIMEOUT", "INCLUDE_WEB_REFERENCES", "CURSOR_API2_BASE_URL", "CURSOR_WEB_BASE_URL",
    "DATA_DIR", "STORE_URL", "WEB_CONCURRENCY", "SSE_KEEPALIVE_SECONDS", "STREAM_IDLE_TIMEOUT",
    "MAX_TOKEN_RETRIES", "IMAGE_FETCH_ALLOW_PRIVATE", "IMAGE_MAX_BYTES", "IMAGE_FETCH_TIMEOUT",
    "IMAGE_MAX_COUNT", "IMAGE_MAX_TOTAL_BYTES",
    "CURSOR_PROTOCOL", "CURSOR_AGENT_BASE_URL", "CURSOR_CLIENT_TYPE", "CURSOR_CLIENT_VERSION", "GHOST_MODE",
    "AGENT_HEARTBEAT_SECONDS", "MODELS_REFRESH_SECONDS", "USAGE_CHECK_TTL_SECONDS", "RESPONSES_TTL_SECONDS",
    "ANSWER_MAX_CHARS",
    "CLIENT_HEADER_TIMEOUT", "CLIENT_BODY_TIMEOUT", "CLIENT_KEEPALIVE_TIMEOUT",
    "AUTH_FAILURE_LIMIT",
    *IGNORED_VARIABLES,
)  # fmt: skip

# D25: which of Cursor's protocol generations chats go to. `agent` (RunSSE + BidiAppend) is what
# Cursor's own CLI and SDK speak in 2026; `legacy` is rc.4's StreamChat, refused since mid-2025.
PROTOCOLS = ("agent", "legacy")
CLIENT_TYPES = ("cli", "sdk")
# D26: the newest CLI build id known when this release was made (docs/PROTOCOL_AGENT.md §6.2).
# Cursor refuses stale builds with "Update Required": then set CURSOR_CLIENT_VERSION.
DEFAULT_CLIENT_VERSION = "cli-2026.10.01-e373342"

T = TypeVar("T")


class SettingsError(ValueError):
    """One or more environment variables are unusable. The message has one line per problem and
    each line starts with the variable's name, so the operator knows exactly what to fix."""


class VisionAbility(enum.StrEnum):
    """What the gateway does with images in chat messages (SPEC §6.7)."""

    NONE = "none"
    BASE64 = "base64"
    ALL = "all"

    @classmethod
    def parse(cls, value: str) -> VisionAbility:
        """VISION_ABILITY: a case-insensitive name or alias; anything else means `base64`, as in
        the reference (which never refused to start over this variable)."""
        return _VISION_ALIASES.get(value.lower(), cls.BASE64)


_VISION_ALIASES = {
    "none": VisionAbility.NONE, "disabled": VisionAbility.NONE,
    "base64": VisionAbility.BASE64, "base64-only": VisionAbility.BASE64,
    "all": VisionAbility.ALL, "base64-http": VisionAbility.ALL,
}  # fmt: skip

UsageKind = Literal["none", "default", "all", "list"]


@dataclass(frozen=True, slots=True)
class UsageRule:
    """Which models trigger a background account-usage fetch (SPEC §6.5): none, the default
    eleven, all, or the listed ones."""

    kind: UsageKind
    models: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Rules are also rebuilt from stored documents; a bad one must fail where it is made.
        if self.kind not in ("none", "default", "all", "list") or (self.kind == "list") != bool(self.models):
            raise ValueError(f"invalid usage rule: {self.kind!r} with models {self.models!r}")


def parse_usage_rule(value: str, *, empty_means: UsageKind) -> UsageRule:
    """USAGE_CHECK and `/config`'s rule: a case-insensitive keyword, or a comma list of model ids.
    `empty_means` is what an empty value, or a list with no known id, becomes: `default` for the
    variable (SPEC §3), `none` for `/config` (SPEC §8.2) - the two differ in the reference."""
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
    """The known model ids of a comma-separated text, each trimmed, in order, without repeats;
    unknown ids are dropped silently, as the reference does."""
    return tuple(dict.fromkeys(name for name in (part.strip() for part in text.split(",")) if name in MODEL_OWNERS))


ProxyMode = Literal["none", "system", "url"]


@dataclass(frozen=True, slots=True)
class ProxySetting:
    """The outbound proxy (SPEC §3 PROXIES, §12.1): none, the system's (HTTP_PROXY and friends),
    or one proxy URL used for every scheme."""

    mode: ProxyMode
    url: str | None = None

    def __post_init__(self) -> None:
        # Settings are also rebuilt from stored documents; a bad one must fail where it is made.
        if self.mode not in ("none", "system", "url") or (self.mode == "url") != bool(self.url):
            raise ValueError(f"invalid proxy setting: {self.mode!r} with url {self.url!r}")

    @property
    def canonical(self) -> str:
        """The string `/config` shows and accepts back: "" for no proxy, "system", or the URL."""
        if self.mode == "url":
            assert self.url is not None  # __post_init__ holds it
            return self.url
        return {"none": "", "system": "system"}[self.mode]

    @classmethod
    def parse(cls, value: str) -> ProxySetting:
        """A PROXIES value (or `/config`'s `proxies`). Keywords are case-sensitive, and a list
        with no valid URL means the system proxy, both as in the reference. Unset PROXIES is
        not handled here: it means `system`, while a set-but-empty value means no proxy."""
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
    """A URL the HTTP client can use as a proxy: a supported scheme, a host, a valid port."""
    try:
        parts = urlsplit(value)
        return parts.scheme in PROXY_SCHEMES and bool(parts.hostname) and parts.port != 0
    except ValueError:  # urlsplit and .port raise it for malformed hosts and ports
        return False


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything read from the environment. The defaults are those of an empty environment
    (a test holds `Settings() == Settings.from_env({})`), so tests may build one directly."""

    port: int = 3000
    auth_token: str | None = None  # None: generated once and kept in DATA_DIR (D22)
    route_prefix: str = ""
    shared_token: str = ""
    token_list_file: str = ".tokens"
    enable_slow_pool: bool = False
    pass_any_claude: bool = False
    vision_ability: VisionAbility = VisionAbility.BASE64
    usage_check: UsageRule = UsageRule("default")
    dynamic_key: bool = False
    key_prefix: str = "sk-"
    default_instructions: str = ""  # D30: nothing injected unless the operator sets it
    reverse_proxy_host: str = ""
    proxies: ProxySetting = ProxySetting("system")
    request_body_limit_bytes: int = 2 * MIB
    token_delimiter: str = ","
    use_comma_delimiter: bool = False  # the variable defaults to true, but is forced off for ","
    debug: bool = False
    debug_log_file: str = "debug.log"
    request_logs_limit: int = 100
    service_timeout: int = 30
    include_web_references: bool = False
    cursor_api2_base_url: str = "https://api2.cursor.sh"
    cursor_web_base_url: str = "https://www.cursor.com"
    data_dir: str = "./data"
    store_url: str | None = None
    web_concurrency: int | None = None  # None: gunicorn.conf.py picks one per CPU
    sse_keepalive_seconds: float = 15.0
    stream_idle_timeout: float = 300.0
    max_token_retries: int = 2
    auth_failure_limit: int = 10  # failed secret attempts per client address and minute; 0: no limit
    image_fetch_allow_private: bool = False
    image_max_bytes: int = 20 * MIB
    image_fetch_timeout: float = 15.0
    image_max_count: int = 16
    image_max_total_bytes: int = 32 * MIB
    cursor_protocol: str = "agent"
    cursor_agent_base_url: str = "https://api2.cursor.sh"
    cursor_client_type: str = "cli"
    cursor_client_version: str = DEFAULT_CLIENT_VERSION
    ghost_mode: bool = True
    agent_heartbeat_seconds: float = 5.0
    models_refresh_seconds: float = 1800.0
    usage_check_ttl_seconds: float = 300.0
    responses_ttl_seconds: float = 86400.0  # how long /v1/responses keeps a stored response
    answer_max_chars: int = 32 * MIB
    client_header_timeout: float = 10.0  # gunicorn worker (app/worker.py): a request's line and headers
    client_body_timeout: float = 30.0  # its body, from its headers
    client_keepalive_timeout: float = 75.0  # an idle kept-alive connection
    ignored_variables: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse `environ` (default: `os.environ`; a `.env` file is not read here, see
        `load_dotenv_file`). Raises one `SettingsError` naming every unusable variable."""
        return _Reader(os.environ if environ is None else environ).settings()


class _Reader:
    """Reads one environment, collecting every problem before failing, so an operator fixes
    them all in one round instead of one per restart."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = environ
        self.problems: list[str] = []

    def settings(self) -> Settings:
        env = self.env
        delimiter = self.token_delimiter()
        settings = Settings(
            port=self.port(),
            auth_token=self.auth_token(),
            route_prefix=self.route_prefix(),
            shared_token=env.get("SHARED_TOKEN", ""),
            token_list_file=self.trimmed("TOKEN_LIST_FILE") or ".tokens",
            enable_slow_pool=self.flag("ENABLE_SLOW_POOL", False),
            pass_any_claude=self.flag("PASS_ANY_CLAUDE", False),
            vision_ability=VisionAbility.parse(env.get("VISION_ABILITY", "")),
            usage_check=parse_usage_rule(env.get("USAGE_CHECK", ""), empty_means="default"),
            dynamic_key=self.flag("DYNAMIC_KEY", False),
            key_prefix=self.trimmed("KEY_PREFIX") or "sk-",
            default_instructions=env.get("DEFAULT_INSTRUCTIONS", "").strip(),
            reverse_proxy_host=self.trimmed("REVERSE_PROXY_HOST"),
            proxies=ProxySetting.parse(env["PROXIES"]) if "PROXIES" in env else ProxySetting("system"),
            request_body_limit_bytes=self.uint("REQUEST_BODY_LIMIT_MB", 2) * MIB,
            token_delimiter=delimiter,
            use_comma_delimiter=self.flag("USE_COMMA_DELIMITER", True) and delimiter != ",",
            debug=self.flag("DEBUG", False),
            debug_log_file=env.get("DEBUG_LOG_FILE") or "debug.log",
            request_logs_limit=min(self.uint("REQUEST_LOGS_LIMIT", 100), 2000),
            service_timeout=min(self.uint("SERVICE_TIMEOUT", 30), 600),
            include_web_references=self.flag("INCLUDE_WEB_REFERENCES", False),
            cursor_api2_base_url=self.strict("CURSOR_API2_BASE_URL", "https://api2.cursor.sh", _base_url),
            cursor_web_base_url=self.strict("CURSOR_WEB_BASE_URL", "https://www.cursor.com", _base_url),
            data_dir=self.trimmed("DATA_DIR") or "./data",
            store_url=self.strict("STORE_URL", None, _store_url, shown=redact_url),
            web_concurrency=self.strict("WEB_CONCURRENCY", None, _whole(minimum=1)),
            sse_keepalive_seconds=self.strict("SSE_KEEPALIVE_SECONDS", 15.0, _seconds(zero_ok=True)),
            stream_idle_timeout=self.strict("STREAM_IDLE_TIMEOUT", 300.0, _seconds(zero_ok=False)),
            max_token_retries=self.strict("MAX_TOKEN_RETRIES", 2, _whole(minimum=0)),
            auth_failure_limit=self.strict("AUTH_FAILURE_LIMIT", 10, _whole(minimum=0)),
            image_fetch_allow_private=self.flag("IMAGE_FETCH_ALLOW_PRIVATE", False),
            image_max_bytes=self.strict("IMAGE_MAX_BYTES", 20 * MIB, _whole(minimum=1)),
            image_fetch_timeout=self.strict("IMAGE_FETCH_TIMEOUT", 15.0, _seconds(zero_ok=False)),
            image_max_count=self.strict("IMAGE_MAX_COUNT", 16, _whole(minimum=1)),
            image_max_total_bytes=self.strict("IMAGE_MAX_TOTAL_BYTES", 32 * MIB, _whole(minimum=1)),
            cursor_protocol=self.strict("CURSOR_PROTOCOL", "agent", _one_of(PROTOCOLS)),
            cursor_agent_base_url=self.strict("CURSOR_AGENT_BASE_URL", "https://api2.cursor.sh", _base_url),
            cursor_client_type=self.strict("CURSOR_CLIENT_TYPE", "cli", _one_of(CLIENT_TYPES)),
            cursor_client_version=self.strict("CURSOR_CLIENT_VERSION", DEFAULT_CLIENT_VERSION, _header_token),
            ghost_mode=self.flag("GHOST_MODE", True),
            agent_heartbeat_seconds=self.strict("AGENT_HEARTBEAT_SECONDS", 5.0, _seconds(zero_ok=False)),
            models_refresh_seconds=self.strict("MODELS_REFRESH_SECONDS", 1800.0, _seconds(zero_ok=False)),
            usage_check_ttl_seconds=self.strict("USAGE_CHECK_TTL_SECONDS", 300.0, _seconds(zero_ok=True)),
            responses_ttl_seconds=self.strict("RESPONSES_TTL_SECONDS", 86400.0, _seconds(zero_ok=False)),
            answer_max_chars=self.strict("ANSWER_MAX_CHARS", 32 * MIB, _whole(minimum=1)),
            client_header_timeout=self.strict("CLIENT_HEADER_TIMEOUT", 10.0, _seconds(zero_ok=False)),
            client_body_timeout=self.strict("CLIENT_BODY_TIMEOUT", 30.0, _seconds(zero_ok=False)),
            client_keepalive_timeout=self.strict("CLIENT_KEEPALIVE_TIMEOUT", 75.0, _seconds(zero_ok=False)),
            ignored_variables=tuple(name for name in IGNORED_VARIABLES if name in env),
        )  # fmt: skip
        if self.problems:
            raise SettingsError("\n".join(self.problems))
        return settings

    # -- lenient rules of the reference (SPEC §3) ----------------------------------------------
    def flag(self, name: str, default: bool) -> bool:
        """bool: case-insensitive true/1 or false/0; anything else, even " true", is the default."""
        value = self.env.get(name)
        return default if value is None else _BOOLEANS.get(value.lower(), default)

    def uint(self, name: str, default: int) -> int:
        """uint: what the reference's `usize` parse accepts (decimal digits, an optional "+",
        below 2**64); anything else is the default."""
        value = self.env.get(name, "")
        if not _UINT.fullmatch(value) or int(value) >= 2**64:
            return default
        return int(value)

    def trimmed(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def token_delimiter(self) -> str:
        """Exactly one ASCII character that cannot occur in a token or checksum, else ","."""
        value = self.env.get("TOKEN_DELIMITER", ",")
        usable = len(value) == 1 and value.isascii() and not value.isalnum() and value not in "+/"
        return value if usable else ","

    # -- strict rules: values the reference crashes on, and this project's variables -----------
    def problem(self, name: str, message: str, value: str) -> None:
        self.problems.append(f"{name} {message} (got {value!r})")

    def strict(self, name: str, default: T, parse: Callable[[str], T], shown: Callable[[str], str] = str) -> T:
        """A variable of this project: unset or blank → `default`; otherwise `parse` of the
        trimmed value, whose ValueError says what was expected. A problem quotes `shown(value)`,
        so a value that may hold a password can be masked."""
        value = self.env.get(name, "")
        if not value.strip():
            return default
        try:
            return parse(value.strip())
        except ValueError as expected:
            self.problem(name, f"must be {expected}", shown(value))
            return default

    def port(self) -> int:
        """PORT: the reference fails to start on anything but a port number, even a blank one."""
        value = self.env.get("PORT")
        if value is None:
            return 3000
        try:
            return _whole(minimum=1, maximum=65535)(value.strip())
        except ValueError as expected:
            self.problem("PORT", f"must be {expected}", value)
            return 3000

    def auth_token(self) -> str | None:
        """D22: unset is fine (the app generates a token), blank is a mistake worth stopping for."""
        value = self.env.get("AUTH_TOKEN")
        if value is None:
            return None
        if not value.strip():
            self.problems.append("AUTH_TOKEN is set but blank: set a token, or unset it to have one generated")
            return None
        return value.strip()

    def route_prefix(self) -> str:
        """D11: the reference panics on a prefix without a leading "/"; a trailing "/" would make
        the routes `//v1/…`, which no client asks for."""
        prefix = self.trimmed("ROUTE_PREFIX")
        if prefix and not prefix.startswith("/"):
            self.problem("ROUTE_PREFIX", "must start with '/'", prefix)
            return ""
        if prefix.endswith("/"):
            self.problem("ROUTE_PREFIX", "must not end with '/' (leave it empty for no prefix)", prefix)
            return ""
        return prefix


_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_UINT = re.compile(r"\+?[0-9]+")
_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")

# Strict parsers: each raises ValueError("<what was expected>") for `_Reader.strict` to report.


def _whole(*, minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """ASCII decimal whole numbers in a range (int() would also take "1_000", "-0", non-ASCII digits)."""
    expected = f"a whole number from {minimum} to {maximum}" if maximum else f"a whole number, {minimum} or more"

    def parse(value: str) -> int:
        if not _WHOLE.fullmatch(value) or int(value) < minimum or (maximum is not None and int(value) > maximum):
            raise ValueError(expected)
        return int(value)

    return parse


def _seconds(*, zero_ok: bool) -> Callable[[str], float]:
    """Plain, finite decimal durations (float() would also take "nan", "inf" and "1e9")."""
    expected = "a number of seconds, 0 or more (0 disables)" if zero_ok else "a number of seconds above 0"

    def parse(value: str) -> float:
        if not _DECIMAL.fullmatch(value) or not math.isfinite(float(value)) or (float(value) == 0 and not zero_ok):
            raise ValueError(expected)
        return float(value)

    return parse


def _base_url(value: str) -> str:
    """http(s)://host[:port], optionally with a trailing "/", which is dropped so that callers
    can append paths. A path, query or credentials would be lost or misused when paths are
    appended, so they are refused rather than silently ignored."""
    try:
        parts = urlsplit(value)
        usable = (
            parts.scheme in ("http", "https") and bool(parts.hostname) and parts.path in ("", "/")
            and not (parts.query or parts.fragment) and parts.username is None and parts.port != 0
        )  # fmt: skip
    except ValueError:  # urlsplit and .port raise it for a malformed host or port
        usable = False
    if not usable:
        raise ValueError("an http(s) URL with a host, an optional port and no path, e.g. https://api2.cursor.sh")
    return f"{parts.scheme}://{parts.netloc}"


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.lower() not in choices:
            raise ValueError(" or ".join(choices))
        return value.lower()

    return parse


_HEADER_TOKEN = re.compile(r"[!-~]{1,100}")


def _header_token(value: str) -> str:
    """A value sent as an HTTP header: printable ASCII, no spaces. Its form is Cursor's to
    change (today `cli-YYYY.MM.DD-<hash>` or `sdk-<version>`), so it is not checked further."""
    if not _HEADER_TOKEN.fullmatch(value):
        raise ValueError("a client build id such as cli-2026.10.01-e373342 (printable ASCII, no spaces)")
    return value


def _store_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "sqlite:///")):
        raise ValueError("redis://…, rediss://… or sqlite:///path")
    return value


def redact_url(url: str) -> str:
    """The URL without its credentials, for messages: the user-info part (everything between
    `scheme://` and the last `@`, so an unescaped `@` or `/` in a password is covered too) and
    any `password=` query value become `***`."""
    head, at, rest = url.rpartition("@")
    if at:
        scheme, separator, _ = head.partition("://")
        url = f"{scheme}://***@{rest}" if separator else f"***@{rest}"
    return re.sub(r"(?i)(password=)[^&#]*", r"\1***", url)


def load_dotenv_file(path: str | None = None) -> str | None:
    """SPEC §2.2 step 1: load `path`, or else `.env` from the working directory or its nearest
    parent, never overriding a variable the real environment already has (a platform's settings
    must win over a file someone left around). Returns the path loaded, or None when there is
    no such file."""
    found = path if path is not None else find_dotenv(usecwd=True)
    if not found or not os.path.isfile(found):
        return None
    load_dotenv(found, override=False)
    return found
