"""Environment parsing (SPEC §3; decisions D11, D17, D22, D24)."""
from __future__ import annotations

import re

import pytest

from app.settings import ENV_VARS, MIB, ProxySetting, Settings, SettingsError, UsageRule, VisionAbility, load_dotenv_file
from tests.support import ROOT

SPEC_VARIABLES = (
    "PORT", "AUTH_TOKEN", "ROUTE_PREFIX", "SHARED_TOKEN", "TOKEN_LIST_FILE", "ENABLE_SLOW_POOL", "PASS_ANY_CLAUDE",
    "VISION_ABILITY", "USAGE_CHECK", "DYNAMIC_KEY", "KEY_PREFIX", "DEFAULT_INSTRUCTIONS", "REVERSE_PROXY_HOST",
    "PROXIES", "REQUEST_BODY_LIMIT_MB", "TOKEN_DELIMITER", "USE_COMMA_DELIMITER", "DEBUG", "DEBUG_LOG_FILE",
    "REQUEST_LOGS_LIMIT", "SERVICE_TIMEOUT", "INCLUDE_WEB_REFERENCES", "LOGS_FILE_PATH", "PAGES_FILE_PATH",
    "CURSOR_API2_BASE_URL", "CURSOR_WEB_BASE_URL", "DATA_DIR", "STORE_URL", "WEB_CONCURRENCY",
    "SSE_KEEPALIVE_SECONDS", "STREAM_IDLE_TIMEOUT", "MAX_TOKEN_RETRIES", "IMAGE_FETCH_ALLOW_PRIVATE",
    "IMAGE_MAX_BYTES", "ENABLE_STREAM_CHECK", "INCLUDE_STOP_REASON_STREAM", "TOKEN_FILE",
)  # fmt: skip


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


def test_defaults():
    s = settings()
    assert (s.port, s.auth_token, s.route_prefix, s.token_list_file) == (3000, None, "", ".tokens")
    assert s.vision_ability is VisionAbility.BASE64 and s.usage_check == UsageRule("default")
    assert s.proxies == ProxySetting("system") and s.request_body_limit_bytes == 2 * MIB
    assert (s.token_delimiter, s.use_comma_delimiter, s.key_prefix) == (",", False, "sk-")
    assert (s.request_logs_limit, s.service_timeout) == (100, 30)
    assert s.default_instructions == "Respond in Chinese by default"


@pytest.mark.parametrize("value,expected", [("true", True), ("TRUE", True), ("1", True), ("false", False), ("0", False),
                                            (" true", False), ("yes", False), ("", False)])
def test_booleans_fall_back_to_the_default(value, expected):
    assert settings(ENABLE_SLOW_POOL=value).enable_slow_pool is expected
    assert settings(USE_COMMA_DELIMITER=value, TOKEN_DELIMITER=";").use_comma_delimiter is (expected if value in ("true", "TRUE", "1", "false", "0") else True)


def test_numbers_are_capped_or_defaulted():
    assert settings(REQUEST_LOGS_LIMIT="5000").request_logs_limit == 2000
    assert settings(SERVICE_TIMEOUT="9999").service_timeout == 600
    assert settings(SERVICE_TIMEOUT="-1").service_timeout == 30
    assert settings(REQUEST_BODY_LIMIT_MB="0").request_body_limit_bytes == 0
    assert settings(REQUEST_BODY_LIMIT_MB="x").request_body_limit_bytes == 2 * MIB


@pytest.mark.parametrize("value,expected", [(";", ";"), ("|", "|"), ("a", ","), ("5", ","), ("+", ","), ("/", ","),
                                            (";;", ","), ("é", ","), ("", ",")])
def test_token_delimiter(value, expected):
    assert settings(TOKEN_DELIMITER=value).token_delimiter == expected


@pytest.mark.parametrize("value,expected", [("none", "none"), ("Disabled", "none"), ("BASE64-only", "base64"),
                                            ("all", "all"), ("base64-http", "all"), ("weird", "base64"), ("", "base64")])
def test_vision_aliases(value, expected):
    assert settings(VISION_ABILITY=value).vision_ability.value == expected


@pytest.mark.parametrize("value,expected", [
    ("none", UsageRule("none")), ("ALL", UsageRule("all")), ("everything", UsageRule("all")),
    ("gpt-4o, bogus ,o1", UsageRule("list", ("gpt-4o", "o1"))), ("bogus", UsageRule("default")), ("", UsageRule("default")),
])
def test_usage_check(value, expected):
    assert settings(USAGE_CHECK=value).usage_check == expected


@pytest.mark.parametrize("value,expected", [
    ("", ProxySetting("none")), ("no", ProxySetting("none")), ("system", ProxySetting("system")),
    ("nonsense", ProxySetting("system")), ("ftp://x, http://127.0.0.1:8080", ProxySetting("url", "http://127.0.0.1:8080")),
    ("socks5h://proxy:1080", ProxySetting("url", "socks5h://proxy:1080")), ("NO", ProxySetting("system")),
])
def test_proxies(value, expected):
    assert settings(PROXIES=value).proxies == expected
    assert expected.canonical == {"none": "", "system": "system"}.get(expected.mode, expected.url)


def test_key_prefix_and_instructions():
    assert settings(KEY_PREFIX="  ").key_prefix == "sk-"
    assert settings(KEY_PREFIX=" ck- ").key_prefix == "ck-"
    assert settings(DEFAULT_INSTRUCTIONS="   ").default_instructions == ""


@pytest.mark.parametrize("env,variable", [
    ({"ROUTE_PREFIX": "v1"}, "ROUTE_PREFIX"), ({"ROUTE_PREFIX": "/p/"}, "ROUTE_PREFIX"), ({"AUTH_TOKEN": "  "}, "AUTH_TOKEN"),
    ({"PORT": "70000"}, "PORT"), ({"PORT": "http"}, "PORT"), ({"CURSOR_API2_BASE_URL": "api2.cursor.sh"}, "CURSOR_API2_BASE_URL"),
    ({"CURSOR_WEB_BASE_URL": "https://x/path"}, "CURSOR_WEB_BASE_URL"), ({"STORE_URL": "mysql://x"}, "STORE_URL"),
    ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"), ({"STREAM_IDLE_TIMEOUT": "-3"}, "STREAM_IDLE_TIMEOUT"),
    ({"IMAGE_MAX_BYTES": "lots"}, "IMAGE_MAX_BYTES"),
])
def test_bad_values_name_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ROUTE_PREFIX": "x", "PORT": "0", "AUTH_TOKEN": " "})
    assert len(str(caught.value).splitlines()) == 3


def test_base_urls_lose_a_trailing_slash():
    assert settings(CURSOR_API2_BASE_URL="http://127.0.0.1:8080/").cursor_api2_base_url == "http://127.0.0.1:8080"


def test_ignored_variables_are_noted():
    assert settings(LOGS_FILE_PATH="x", TOKEN_FILE=".token").ignored_variables == ("LOGS_FILE_PATH", "TOKEN_FILE")


def test_env_example_documents_every_variable():
    text = (ROOT / ".env.example").read_text()
    for name in set(ENV_VARS) | set(SPEC_VARIABLES):
        assert re.search(rf"^# {name}=", text, re.M), name


def test_dotenv_never_overrides_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("GATEWAY_TEST_A=from-file\nGATEWAY_TEST_B=from-file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_TEST_A", "from-env")
    monkeypatch.delenv("GATEWAY_TEST_B", raising=False)
    assert load_dotenv_file() == str(tmp_path / ".env")
    import os

    assert (os.environ["GATEWAY_TEST_A"], os.environ["GATEWAY_TEST_B"]) == ("from-env", "from-file")
    monkeypatch.delenv("GATEWAY_TEST_B")
