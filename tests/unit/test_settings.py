"""Environment parsing (SPEC §3; decisions D11, D17, D22, D24): every rule, table-driven."""

from __future__ import annotations

import dataclasses
import io
import os
import re
from collections.abc import Iterator, Mapping

import pytest
from dotenv import dotenv_values

from app.settings import (
    ENV_VARS,
    IGNORED_VARIABLES,
    MIB,
    MODEL_IDS,
    MODEL_OWNERS,
    USAGE_CHECK_DEFAULT_MODELS,
    ProxySetting,
    Settings,
    SettingsError,
    UsageRule,
    VisionAbility,
    load_dotenv_file,
    parse_usage_rule,
)
from tests.support import ROOT

# SPEC §3, hard-coded on purpose: the reference table, the additions and the deprecated ones.
SPEC_VARIABLES = (
    "PORT", "AUTH_TOKEN", "ROUTE_PREFIX", "SHARED_TOKEN", "TOKEN_LIST_FILE", "ENABLE_SLOW_POOL", "PASS_ANY_CLAUDE",
    "VISION_ABILITY", "USAGE_CHECK", "DYNAMIC_KEY", "KEY_PREFIX", "DEFAULT_INSTRUCTIONS", "REVERSE_PROXY_HOST",
    "PROXIES", "REQUEST_BODY_LIMIT_MB", "TOKEN_DELIMITER", "USE_COMMA_DELIMITER", "DEBUG", "DEBUG_LOG_FILE",
    "REQUEST_LOGS_LIMIT", "SERVICE_TIMEOUT", "INCLUDE_WEB_REFERENCES", "LOGS_FILE_PATH", "PAGES_FILE_PATH",
    "CURSOR_API2_BASE_URL", "CURSOR_WEB_BASE_URL", "DATA_DIR", "STORE_URL", "WEB_CONCURRENCY",
    "SSE_KEEPALIVE_SECONDS", "STREAM_IDLE_TIMEOUT", "MAX_TOKEN_RETRIES", "IMAGE_FETCH_ALLOW_PRIVATE",
    "IMAGE_MAX_BYTES", "ENABLE_STREAM_CHECK", "INCLUDE_STOP_REASON_STREAM", "TOKEN_FILE",
)  # fmt: skip
ENV_EXAMPLE = ROOT / ".env.example"


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


def problems(**env: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    return str(caught.value).splitlines()


# -- defaults and constants ------------------------------------------------------------------------
def test_an_empty_environment_gives_the_documented_defaults():
    s = settings()
    assert s == Settings()
    assert (s.port, s.auth_token, s.route_prefix, s.shared_token, s.token_list_file) == (3000, None, "", "", ".tokens")
    assert (s.vision_ability, s.usage_check, s.proxies) == (
        VisionAbility.BASE64,
        UsageRule("default"),
        ProxySetting("system"),
    )
    assert (s.token_delimiter, s.use_comma_delimiter, s.key_prefix) == (",", False, "sk-")
    assert (s.request_body_limit_bytes, s.request_logs_limit, s.service_timeout) == (2 * MIB, 100, 30)
    assert (s.default_instructions, s.debug_log_file, s.data_dir) == (
        "",  # D30: nothing injected by default
        "debug.log",
        "./data",
    )
    assert (s.cursor_api2_base_url, s.cursor_web_base_url) == ("https://api2.cursor.sh", "https://www.cursor.com")
    assert (s.store_url, s.web_concurrency, s.max_token_retries, s.image_max_bytes) == (None, None, 2, 20971520)
    assert (s.sse_keepalive_seconds, s.stream_idle_timeout, s.image_fetch_timeout) == (15, 300, 15)
    assert (s.image_max_count, s.image_max_total_bytes) == (16, 32 * MIB)
    assert s.ignored_variables == ()


def test_model_constants_follow_the_spec():
    assert len(MODEL_IDS) == 23 and MODEL_IDS[0] == "claude-3.5-sonnet" and MODEL_IDS[-1] == "deepseek-r1"
    assert set(MODEL_OWNERS.values()) == {"anthropic", "openai", "cursor", "google", "deepseek"}
    assert len(USAGE_CHECK_DEFAULT_MODELS) == 11 and set(USAGE_CHECK_DEFAULT_MODELS) <= set(MODEL_IDS)


# -- lenient rules of the reference ----------------------------------------------------------------
BOOLEANS = [  # (value, parsed, or None for "the default")
    ("true", True), ("TRUE", True), ("True", True), ("1", True),
    ("false", False), ("FALSE", False), ("0", False),
    (" true", None), ("true ", None), ("yes", None), ("no", None), ("on", None), ("2", None), ("", None),
]  # fmt: skip


@pytest.mark.parametrize("value,parsed", BOOLEANS)
def test_booleans_fall_back_to_their_default(value, parsed):
    assert settings(DEBUG=value).debug is (False if parsed is None else parsed)
    custom = settings(USE_COMMA_DELIMITER=value, TOKEN_DELIMITER=";")  # a flag whose default is true
    assert custom.use_comma_delimiter is (True if parsed is None else parsed)


@pytest.mark.parametrize("name", ["ENABLE_SLOW_POOL", "PASS_ANY_CLAUDE", "DYNAMIC_KEY", "DEBUG",
                                  "INCLUDE_WEB_REFERENCES", "IMAGE_FETCH_ALLOW_PRIVATE"])  # fmt: skip
def test_every_flag_is_read(name):
    field = {"PASS_ANY_CLAUDE": "pass_any_claude"}.get(name, name.lower())
    assert getattr(settings(**{name: "1"}), field) is True


@pytest.mark.parametrize("value,megabytes", [
    ("0", 0), ("5", 5), ("+3", 3), ("007", 7), ("-1", 2), ("1.5", 2), (" 3", 2), ("", 2), ("x", 2),
    ("\uff13", 2), (str(2**64), 2), (str(2**64 - 1), 2**64 - 1),
])  # fmt: skip
def test_uint_and_the_body_limit(value, megabytes):
    assert settings(REQUEST_BODY_LIMIT_MB=value).request_body_limit_bytes == megabytes * MIB


@pytest.mark.parametrize("name,value,expected", [
    ("REQUEST_LOGS_LIMIT", "0", 0), ("REQUEST_LOGS_LIMIT", "2000", 2000), ("REQUEST_LOGS_LIMIT", "2001", 2000),
    ("REQUEST_LOGS_LIMIT", "99999", 2000), ("REQUEST_LOGS_LIMIT", "-5", 100),
    ("SERVICE_TIMEOUT", "600", 600), ("SERVICE_TIMEOUT", "601", 600), ("SERVICE_TIMEOUT", "9999", 600),
    ("SERVICE_TIMEOUT", "5", 5), ("SERVICE_TIMEOUT", "-1", 30), ("SERVICE_TIMEOUT", "30s", 30),
])  # fmt: skip
def test_caps(name, value, expected):
    assert getattr(settings(**{name: value}), name.lower()) == expected


@pytest.mark.parametrize("value,expected", [
    (";", ";"), ("|", "|"), ("-", "-"), (":", ":"), ("a", ","), ("Z", ","), ("5", ","), ("+", ","), ("/", ","),
    (";;", ","), (" ;", ","), ("é", ","), ("", ","), (",", ","),
])  # fmt: skip
def test_token_delimiter(value, expected):
    assert settings(TOKEN_DELIMITER=value).token_delimiter == expected


@pytest.mark.parametrize("env,expected", [
    ({}, False), ({"USE_COMMA_DELIMITER": "true"}, False), ({"TOKEN_DELIMITER": ",", "USE_COMMA_DELIMITER": "1"}, False),
    ({"TOKEN_DELIMITER": "a", "USE_COMMA_DELIMITER": "true"}, False),  # rejected delimiter → "," → forced off
    ({"TOKEN_DELIMITER": ";"}, True), ({"TOKEN_DELIMITER": ";", "USE_COMMA_DELIMITER": "false"}, False),
])  # fmt: skip
def test_use_comma_delimiter_is_forced_off_for_a_comma(env, expected):
    assert Settings.from_env(env).use_comma_delimiter is expected


@pytest.mark.parametrize("value,expected", [
    ("none", "none"), ("NONE", "none"), ("Disabled", "none"), ("base64", "base64"), ("BASE64-only", "base64"),
    ("all", "all"), ("ALL", "all"), ("Base64-HTTP", "all"), ("weird", "base64"), ("", "base64"),
    (" none", "base64"),  # SPEC §3 says case-insensitive, not trimmed
])  # fmt: skip
def test_vision_aliases(value, expected):
    assert settings(VISION_ABILITY=value).vision_ability is VisionAbility(expected)


@pytest.mark.parametrize("value,expected", [
    ("none", UsageRule("none")), ("DISABLED", UsageRule("none")), (" Default ", UsageRule("default")),
    ("ALL", UsageRule("all")), ("everything", UsageRule("all")),
    ("gpt-4o, bogus ,o1", UsageRule("list", ("gpt-4o", "o1"))), ("o1,o1,gpt-4", UsageRule("list", ("o1", "gpt-4"))),
    ("GPT-4O", UsageRule("default")),  # model ids are case-sensitive: unknown, so the list is empty
    ("bogus", UsageRule("default")), ("", UsageRule("default")), (" , ", UsageRule("default")),
])  # fmt: skip
def test_usage_check(value, expected):
    assert settings(USAGE_CHECK=value).usage_check == expected


@pytest.mark.parametrize("value,expected", [
    ("bogus", UsageRule("none")), ("", UsageRule("none")), ("default", UsageRule("default")),
    ("o1, bogus", UsageRule("list", ("o1",))),
])  # fmt: skip
def test_usage_rule_for_config_falls_back_to_none(value, expected):
    assert parse_usage_rule(value, empty_means="none") == expected


@pytest.mark.parametrize("kind,models", [("list", ()), ("default", ("o1",)), ("some", ())])
def test_inconsistent_usage_rules_cannot_be_built(kind, models):
    with pytest.raises(ValueError):
        UsageRule(kind, models)


PROXIES = [  # (environment, parsed); {} is "unset"
    ({}, ProxySetting("system")),
    ({"PROXIES": ""}, ProxySetting("none")),
    ({"PROXIES": "   "}, ProxySetting("none")),
    ({"PROXIES": "no"}, ProxySetting("none")),
    ({"PROXIES": " no "}, ProxySetting("none")),
    ({"PROXIES": "system"}, ProxySetting("system")),
    ({"PROXIES": "NO"}, ProxySetting("system")),  # keywords are case-sensitive: not "no", not a URL
    ({"PROXIES": "System"}, ProxySetting("system")),
    ({"PROXIES": "nonsense"}, ProxySetting("system")),
    ({"PROXIES": "ftp://x, http://127.0.0.1:8080"}, ProxySetting("url", "http://127.0.0.1:8080")),
    ({"PROXIES": "http://:80,http://h:99999,socks5h://proxy:1080"}, ProxySetting("url", "socks5h://proxy:1080")),
    ({"PROXIES": "https://user:pw@proxy"}, ProxySetting("url", "https://user:pw@proxy")),
    ({"PROXIES": "socks4://p:1, socks5://q:2"}, ProxySetting("url", "socks4://p:1")),
    ({"PROXIES": "ftp://x, http://, proxy:8080"}, ProxySetting("system")),
]


@pytest.mark.parametrize("env,expected", PROXIES)
def test_proxies(env, expected):
    assert Settings.from_env(env).proxies == expected


@pytest.mark.parametrize("setting,canonical", [
    (ProxySetting("none"), ""), (ProxySetting("system"), "system"), (ProxySetting("url", "http://p:1"), "http://p:1"),
])  # fmt: skip
def test_proxy_canonical_form_parses_back(setting, canonical):
    assert setting.canonical == canonical and ProxySetting.parse(canonical) == setting


@pytest.mark.parametrize("mode,url", [("url", None), ("system", "http://p:1"), ("socks", None)])
def test_inconsistent_proxy_settings_cannot_be_built(mode, url):
    with pytest.raises(ValueError):
        ProxySetting(mode, url)


@pytest.mark.parametrize("env,field,expected", [
    ({"KEY_PREFIX": "  "}, "key_prefix", "sk-"), ({"KEY_PREFIX": " ck- "}, "key_prefix", "ck-"),
    ({"DEFAULT_INSTRUCTIONS": "   "}, "default_instructions", ""),
    ({"DEFAULT_INSTRUCTIONS": " Be brief. "}, "default_instructions", "Be brief."),
    ({"SHARED_TOKEN": " shared "}, "shared_token", " shared "),
    ({"TOKEN_LIST_FILE": " pool.txt "}, "token_list_file", "pool.txt"), ({"TOKEN_LIST_FILE": ""}, "token_list_file", ".tokens"),
    ({"REVERSE_PROXY_HOST": " relay.example "}, "reverse_proxy_host", "relay.example"),
    ({"DEBUG_LOG_FILE": " d.log"}, "debug_log_file", " d.log"), ({"DEBUG_LOG_FILE": ""}, "debug_log_file", "debug.log"),
    ({"DATA_DIR": " /var/lib/gw "}, "data_dir", "/var/lib/gw"), ({"DATA_DIR": ""}, "data_dir", "./data"),
    ({"AUTH_TOKEN": " admin "}, "auth_token", "admin"),
    ({"ROUTE_PREFIX": " /openai "}, "route_prefix", "/openai"), ({"ROUTE_PREFIX": " "}, "route_prefix", ""),
])  # fmt: skip
def test_strings(env, field, expected):
    assert getattr(Settings.from_env(env), field) == expected


# -- strict rules --------------------------------------------------------------------------------
@pytest.mark.parametrize("env,field,expected", [
    ({"PORT": "8080"}, "port", 8080), ({"PORT": " 1 "}, "port", 1), ({"PORT": "65535"}, "port", 65535),
    ({"WEB_CONCURRENCY": "4"}, "web_concurrency", 4),
    ({"SSE_KEEPALIVE_SECONDS": "0"}, "sse_keepalive_seconds", 0), ({"SSE_KEEPALIVE_SECONDS": "2.5"}, "sse_keepalive_seconds", 2.5),
    ({"STREAM_IDLE_TIMEOUT": ".5"}, "stream_idle_timeout", 0.5), ({"MAX_TOKEN_RETRIES": "0"}, "max_token_retries", 0),
    ({"IMAGE_MAX_BYTES": "1024"}, "image_max_bytes", 1024), ({"IMAGE_FETCH_TIMEOUT": "3"}, "image_fetch_timeout", 3),
    ({"IMAGE_MAX_COUNT": " 1 "}, "image_max_count", 1), ({"IMAGE_MAX_TOTAL_BYTES": "4096"}, "image_max_total_bytes", 4096),
    ({"STORE_URL": " redis://cache:6379/0 "}, "store_url", "redis://cache:6379/0"),
    ({"STORE_URL": "rediss://cache"}, "store_url", "rediss://cache"), ({"STORE_URL": "sqlite:///x.db"}, "store_url", "sqlite:///x.db"),
    ({"CURSOR_API2_BASE_URL": "http://127.0.0.1:8080/"}, "cursor_api2_base_url", "http://127.0.0.1:8080"),
    ({"CURSOR_API2_BASE_URL": "HTTP://[::1]:9"}, "cursor_api2_base_url", "http://[::1]:9"),
    ({"CURSOR_WEB_BASE_URL": "https://web.test"}, "cursor_web_base_url", "https://web.test"),
])  # fmt: skip
def test_strict_values(env, field, expected):
    assert getattr(Settings.from_env(env), field) == expected


@pytest.mark.parametrize("name", ["WEB_CONCURRENCY", "SSE_KEEPALIVE_SECONDS", "STREAM_IDLE_TIMEOUT", "MAX_TOKEN_RETRIES",
                                  "IMAGE_MAX_BYTES", "IMAGE_FETCH_TIMEOUT", "IMAGE_MAX_COUNT", "IMAGE_MAX_TOTAL_BYTES",
                                  "STORE_URL", "CURSOR_API2_BASE_URL",
                                  "CURSOR_WEB_BASE_URL"])  # fmt: skip
def test_a_blank_addition_counts_as_unset(name):
    assert Settings.from_env({name: "  "}) == Settings()


BAD_VALUES = [
    ("ROUTE_PREFIX", "v1", "ROUTE_PREFIX must start with '/' (got 'v1')"),
    ("ROUTE_PREFIX", "/p/", "ROUTE_PREFIX must not end with '/'"),
    ("ROUTE_PREFIX", "/", "ROUTE_PREFIX must not end with '/'"),
    ("AUTH_TOKEN", "  ", "AUTH_TOKEN is set but blank"),
    ("AUTH_TOKEN", "", "AUTH_TOKEN is set but blank"),
    ("PORT", "", "PORT must be"), ("PORT", "0", "PORT must be"), ("PORT", "65536", "PORT must be"),
    ("PORT", "http", "PORT must be"), ("PORT", "-1", "PORT must be"), ("PORT", "80.0", "PORT must be"),
    ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be"), ("WEB_CONCURRENCY", "two", "WEB_CONCURRENCY must be"),
    ("SSE_KEEPALIVE_SECONDS", "-1", "SSE_KEEPALIVE_SECONDS must be"), ("SSE_KEEPALIVE_SECONDS", "inf", "SSE_KEEPALIVE_SECONDS must be"),
    ("STREAM_IDLE_TIMEOUT", "0", "STREAM_IDLE_TIMEOUT must be"), ("STREAM_IDLE_TIMEOUT", "nan", "STREAM_IDLE_TIMEOUT must be"),
    ("STREAM_IDLE_TIMEOUT", "1e3", "STREAM_IDLE_TIMEOUT must be"), ("STREAM_IDLE_TIMEOUT", "9" * 400, "STREAM_IDLE_TIMEOUT must be"),
    ("WEB_CONCURRENCY", "\u0663", "WEB_CONCURRENCY must be"), ("WEB_CONCURRENCY", "1_000", "WEB_CONCURRENCY must be"),
    ("MAX_TOKEN_RETRIES", "-1", "MAX_TOKEN_RETRIES must be"), ("MAX_TOKEN_RETRIES", "1.5", "MAX_TOKEN_RETRIES must be"),
    ("IMAGE_MAX_BYTES", "0", "IMAGE_MAX_BYTES must be"), ("IMAGE_MAX_BYTES", "20MB", "IMAGE_MAX_BYTES must be"),
    ("IMAGE_FETCH_TIMEOUT", "0", "IMAGE_FETCH_TIMEOUT must be"),
    ("IMAGE_MAX_COUNT", "0", "IMAGE_MAX_COUNT must be"), ("IMAGE_MAX_COUNT", "-1", "IMAGE_MAX_COUNT must be"),
    ("IMAGE_MAX_TOTAL_BYTES", "0", "IMAGE_MAX_TOTAL_BYTES must be"), ("IMAGE_MAX_TOTAL_BYTES", "32MiB", "IMAGE_MAX_TOTAL_BYTES must be"),
    ("STORE_URL", "mysql://x", "STORE_URL must be"), ("STORE_URL", "sqlite://x.db", "STORE_URL must be"),
    ("CURSOR_API2_BASE_URL", "api2.cursor.sh", "CURSOR_API2_BASE_URL must be"),
    ("CURSOR_API2_BASE_URL", "ftp://x", "CURSOR_API2_BASE_URL must be"),
    ("CURSOR_API2_BASE_URL", "https://", "CURSOR_API2_BASE_URL must be"),
    ("CURSOR_API2_BASE_URL", "https://x:0", "CURSOR_API2_BASE_URL must be"),
    ("CURSOR_API2_BASE_URL", "https://x:99999", "CURSOR_API2_BASE_URL must be"),
    ("CURSOR_API2_BASE_URL", "https://x:port", "CURSOR_API2_BASE_URL must be"),
    ("CURSOR_WEB_BASE_URL", "https://x/path", "CURSOR_WEB_BASE_URL must be"),
    ("CURSOR_WEB_BASE_URL", "https://x//", "CURSOR_WEB_BASE_URL must be"),
    ("CURSOR_WEB_BASE_URL", "https://x?q=1", "CURSOR_WEB_BASE_URL must be"),
    ("CURSOR_WEB_BASE_URL", "https://u:p@x", "CURSOR_WEB_BASE_URL must be"),
]  # fmt: skip


@pytest.mark.parametrize("name,value,message", BAD_VALUES)
def test_bad_values_are_refused_naming_the_variable(name, value, message):
    [line] = problems(**{name: value})
    assert line.startswith(message)
    if name != "AUTH_TOKEN":  # a secret, even a blank one, is not echoed
        assert line.endswith(f"(got {value.strip()!r})") or line.endswith(f"(got {value!r})")


def test_every_problem_is_reported_at_once():
    lines = problems(ROUTE_PREFIX="x", PORT="0", AUTH_TOKEN=" ", STORE_URL="mysql://db", STREAM_IDLE_TIMEOUT="-3")
    assert [line.split()[0] for line in lines] == [
        "PORT",
        "AUTH_TOKEN",
        "ROUTE_PREFIX",
        "STORE_URL",
        "STREAM_IDLE_TIMEOUT",
    ]


def test_settings_error_is_a_value_error():
    assert issubclass(SettingsError, ValueError)


def test_ignored_variables_are_listed_in_a_fixed_order():
    env = {"TOKEN_FILE": ".token", "LOGS_FILE_PATH": "x", "ENABLE_STREAM_CHECK": "false"}
    assert Settings.from_env(env).ignored_variables == ("LOGS_FILE_PATH", "ENABLE_STREAM_CHECK", "TOKEN_FILE")
    assert dataclasses.replace(Settings.from_env(env), ignored_variables=()) == Settings()


# -- ENV_VARS and .env.example ---------------------------------------------------------------------
class RecordingEnvironment(Mapping[str, str]):
    """An empty environment that remembers every name looked up in it."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_env_vars_lists_exactly_the_variables_read():
    environment = RecordingEnvironment()
    Settings.from_env(environment)
    assert environment.names == set(ENV_VARS) and len(ENV_VARS) == len(set(ENV_VARS))
    assert set(IGNORED_VARIABLES) <= set(ENV_VARS)


@pytest.mark.parametrize("name", sorted(set(ENV_VARS) | set(SPEC_VARIABLES)))
def test_env_example_documents_the_variable(name):
    """Each variable has a `# NAME=default` line under a prose comment (a pair of related
    variables may share one)."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    at = next((i for i, line in enumerate(lines) if re.fullmatch(rf"# {name}=.*", line)), None)
    assert at is not None, f"{name} is missing"
    above = at - 1
    while re.match(r"# [A-Z0-9_]+=", lines[above]):
        above -= 1
    assert re.match(r"# [A-Za-z\"]", lines[above]), f"{name} has no comment above it"


def test_uncommenting_every_line_of_the_example_changes_nothing():
    """The values shown are the real defaults: uncommenting them all (except the admin token,
    whose empty value is deliberately an error) gives the built-in settings."""
    text = re.sub(r"^# (?=[A-Z0-9_]+=)", "", ENV_EXAMPLE.read_text(encoding="utf-8"), flags=re.M)
    values = {name: value for name, value in dotenv_values(stream=io.StringIO(text)).items() if name != "AUTH_TOKEN"}
    assert set(values) >= set(ENV_VARS) - {"AUTH_TOKEN"}
    assert Settings.from_env(values) == Settings(ignored_variables=IGNORED_VARIABLES)


# -- .env loading ----------------------------------------------------------------------------------
@pytest.fixture
def clean_names(monkeypatch):
    """Two variable names absent now and removed again after the test, however it ends."""
    names = ("SETTINGS_TEST_A", "SETTINGS_TEST_B")
    for name in names:
        monkeypatch.setenv(name, "")  # records "absent" so teardown deletes what .env adds
        monkeypatch.delenv(name)
    return names


def test_dotenv_never_overrides_the_environment(tmp_path, monkeypatch, clean_names):
    (tmp_path / ".env").write_text("SETTINGS_TEST_A=from-file\nSETTINGS_TEST_B=from-file\n", encoding="utf-8")
    nested = tmp_path / "deeper" / "still"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)  # found in the nearest parent, too
    monkeypatch.setenv("SETTINGS_TEST_A", "from-env")
    assert load_dotenv_file() == str(tmp_path / ".env")
    assert (os.environ["SETTINGS_TEST_A"], os.environ["SETTINGS_TEST_B"]) == ("from-env", "from-file")


def test_dotenv_explicit_path(tmp_path, clean_names):
    env_file = tmp_path / "custom.env"
    env_file.write_text("SETTINGS_TEST_A=custom\n", encoding="utf-8")
    assert load_dotenv_file(str(env_file)) == str(env_file)
    assert os.environ["SETTINGS_TEST_A"] == "custom"
    assert load_dotenv_file(str(tmp_path / "missing.env")) is None


def test_the_agent_protocol_is_the_default_and_its_identity_is_configurable():
    s = Settings.from_env({})
    assert (s.cursor_protocol, s.cursor_client_type, s.cursor_client_version) == (
        "agent",
        "cli",
        "cli-2026.10.01-e373342",
    )
    assert (s.cursor_agent_base_url, s.ghost_mode, s.agent_heartbeat_seconds) == ("https://api2.cursor.sh", True, 5.0)
    custom = Settings.from_env(
        {"CURSOR_PROTOCOL": "Legacy", "CURSOR_CLIENT_TYPE": "sdk", "CURSOR_CLIENT_VERSION": "sdk-1.5.3", "GHOST_MODE": "false",
         "CURSOR_AGENT_BASE_URL": "http://127.0.0.1:9/", "AGENT_HEARTBEAT_SECONDS": "0.5", "MODELS_REFRESH_SECONDS": "60"}
    )  # fmt: skip
    assert (custom.cursor_protocol, custom.cursor_client_type, custom.cursor_client_version) == (
        "legacy",
        "sdk",
        "sdk-1.5.3",
    )
    assert (custom.cursor_agent_base_url, custom.ghost_mode) == ("http://127.0.0.1:9", False)
    assert (custom.agent_heartbeat_seconds, custom.models_refresh_seconds) == (0.5, 60.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [("CURSOR_PROTOCOL", "grpc"), ("CURSOR_CLIENT_TYPE", "ide"), ("CURSOR_CLIENT_VERSION", "cli 1"),
     ("AGENT_HEARTBEAT_SECONDS", "0"), ("CURSOR_AGENT_BASE_URL", "api2.cursor.sh")],
)  # fmt: skip
def test_bad_agent_settings_stop_the_start_naming_the_variable(name, value):
    with pytest.raises(SettingsError, match=f"^{name} "):
        Settings.from_env({name: value})
