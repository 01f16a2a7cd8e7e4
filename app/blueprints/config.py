"""`POST /config` (SPEC §8): read, change and reset the runtime settings and page overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, request

from app.blueprints import gateway, json_response
from app.blueprints.admin_auth import admin_auth
from app.blueprints.bodies import json_body
from app.json_body import expect, optional, shape_error
from app.services.pages import PAGE_PATHS
from app.services.runtime_config import RuntimeConfig
from app.settings import ProxySetting, UsageRule, VisionAbility, known_models, parse_usage_rule

bp = Blueprint("config", __name__)
auth = admin_auth()
VISION = {
    "none": "none",
    "disabled": "none",
    "base64": "base64",
    "base64-only": "base64",
    "all": "all",
    "base64-http": "all",
}
FLAGS = ("enable_slow_pool", "enable_all_claude", "enable_dynamic_key", "include_web_references")


def failed(status: int, error: str) -> Response:
    return json_response({"status": "failed", "code": status, "error": error}, status)


@auth.error_handler
def unauthorized(status: int) -> Response:
    missing = request.headers.get("Authorization") is None
    return failed(401, "未提供认证令牌" if missing else "无效的认证令牌")


@dataclass
class ConfigRequest:
    action: str | None
    path: str
    content: dict | None
    settings: dict[str, Any] = field(default_factory=dict)  # RuntimeConfig field → typed value


def _content(body: dict) -> dict | None:
    content = optional(body, "content", dict, "an object")
    if content is None:
        return None
    kind = expect(content.get("type"), str, "content.type", "a string")
    if kind == "default":
        return {"type": "default"}
    if kind not in ("text", "html"):
        raise shape_error("content.type", f"unknown variant `{kind}`, expected one of default, text, html")
    return {"type": kind, "content": expect(content.get("content"), str, "content.content", "a string")}


def _usage_rule(body: dict):
    rule = optional(body, "usage_check_models", dict, "an object")
    if rule is None:
        return None
    kind = expect(rule.get("type"), str, "usage_check_models.type", "a string")
    if kind not in ("none", "default", "all", "list"):
        raise shape_error("usage_check_models.type", f"unknown variant `{kind}`")
    if kind != "list":
        return parse_usage_rule(kind, empty_means="none")
    models = known_models(expect(rule.get("content"), str, "usage_check_models.content", "a string"))
    return UsageRule("list", models) if models else UsageRule("none")  # unlike the variable: none


def _parse(body: Any) -> ConfigRequest:
    expect(body, dict, "body", "a JSON object")
    parsed = ConfigRequest(
        optional(body, "action", str, "a string"), optional(body, "path", str, "a string", ""), _content(body)
    )
    vision = optional(body, "vision_ability", str, "a string")
    if vision is not None:
        if vision not in VISION:
            raise shape_error("vision_ability", f"unknown variant `{vision}`")
        parsed.settings["vision_ability"] = VisionAbility(VISION[vision])
    for name in FLAGS:
        value = optional(body, name, bool, "a boolean")
        if value is not None:
            parsed.settings[name] = value
    usage = _usage_rule(body)
    if usage is not None:
        parsed.settings["usage_check"] = usage
    share = optional(body, "share_token", str, "a string")
    if share is not None:
        parsed.settings["share_token"] = share
    proxies = optional(body, "proxies", str, "a string")
    if proxies is not None:
        parsed.settings["proxies"] = ProxySetting.parse(proxies)
    return parsed


def config_data(config: RuntimeConfig, page: dict | None) -> dict:
    usage: dict[str, str] = {"type": config.usage_check.kind}
    if config.usage_check.kind == "list":
        usage["content"] = ",".join(config.usage_check.models)
    data = {
        "page_content": page,
        "vision_ability": config.vision_ability.value,
        "enable_slow_pool": config.enable_slow_pool,
        "enable_all_claude": config.enable_all_claude,
        "usage_check_models": usage,
        "enable_dynamic_key": config.enable_dynamic_key,
        "share_token": config.share_token,
        "proxies": config.proxies.canonical,
        "include_web_references": config.include_web_references,
    }
    if not config.share_token:
        del data["share_token"]
    return data


@bp.post("/config")
@json_body(_parse)
@auth.login_required
def configure(change: ConfigRequest) -> Response:
    gw = gateway()
    if change.action == "get":
        page = gw.pages.get(change.path)
        return json_response({"status": "success", "data": config_data(gw.config.current(), page)})
    if change.action == "update":
        if change.path and change.content is not None:
            if change.path not in PAGE_PATHS:
                return failed(500, "更新页面内容失败: 无效的路径")
            gw.pages.set(change.path, change.content)
        gw.config.update(change.settings)
        return json_response({"status": "success", "message": "配置已更新"})
    if change.action == "reset":
        if change.path:
            if change.path not in PAGE_PATHS:
                return failed(500, "重置页面内容失败: 无效的路径")
            gw.pages.set(change.path, {"type": "default"})
        gw.config.reset(list(change.settings))
        return json_response({"status": "success", "message": "配置已重置"})
    return failed(400, "无效的操作类型")


@bp.post("/config/doctor")
@auth.login_required
def doctor() -> Response:
    """The doctor's checks (app/tools/doctor.py) with the first usable pool token: which protocol
    generation answers, and which setting to change. Admin only; tokens masked."""
    from app.tools.doctor import as_json, diagnose, report

    gw = gateway()
    picked = gw.models.pool_token()
    if picked is None:
        return failed(409, "no usable token in the pool")
    token, checksum = picked
    checks = diagnose(gw.settings, token, checksum)
    return json_response({"status": "success", "checks": as_json(checks), "report": report(checks, gw.settings, token)})
