"""Settings that `POST /config` can change at run time (SPEC §8), kept in the store so every
worker sees a change on its next request (D19).

At start-up they are reset to the environment's values (SPEC §8.5: only page overrides
survive a restart).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from app.settings import ProxySetting, Settings, UsageRule, VisionAbility
from app.store import Store

CONFIG_KEY = "runtime_config"


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    vision_ability: VisionAbility
    enable_slow_pool: bool
    enable_all_claude: bool
    usage_check: UsageRule
    enable_dynamic_key: bool
    share_token: str
    proxies: ProxySetting
    include_web_references: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> RuntimeConfig:
        return cls(
            vision_ability=settings.vision_ability,
            enable_slow_pool=settings.enable_slow_pool,
            enable_all_claude=settings.pass_any_claude,
            usage_check=settings.usage_check,
            enable_dynamic_key=settings.dynamic_key,
            share_token=settings.shared_token,
            proxies=settings.proxies,
            include_web_references=settings.include_web_references,
        )

    def to_document(self) -> dict:
        return {
            "vision_ability": self.vision_ability.value,
            "enable_slow_pool": self.enable_slow_pool,
            "enable_all_claude": self.enable_all_claude,
            "usage_check": {"kind": self.usage_check.kind, "models": list(self.usage_check.models)},
            "enable_dynamic_key": self.enable_dynamic_key,
            "share_token": self.share_token,
            "proxies": {"mode": self.proxies.mode, "url": self.proxies.url},
            "include_web_references": self.include_web_references,
        }

    @classmethod
    def from_document(cls, doc: dict) -> RuntimeConfig:
        return cls(
            vision_ability=VisionAbility(doc["vision_ability"]),
            enable_slow_pool=doc["enable_slow_pool"],
            enable_all_claude=doc["enable_all_claude"],
            usage_check=UsageRule(doc["usage_check"]["kind"], tuple(doc["usage_check"]["models"])),
            enable_dynamic_key=doc["enable_dynamic_key"],
            share_token=doc["share_token"],
            proxies=ProxySetting(doc["proxies"]["mode"], doc["proxies"]["url"]),
            include_web_references=doc["include_web_references"],
        )


# The built-in defaults `reset` restores (not the environment's values: D15, SPEC §8.2).
BUILT_IN = RuntimeConfig(
    vision_ability=VisionAbility.BASE64,
    enable_slow_pool=False,
    enable_all_claude=False,
    usage_check=UsageRule("default"),
    enable_dynamic_key=False,
    share_token="",
    proxies=ProxySetting("system"),
    include_web_references=False,
)


class RuntimeConfigService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def current(self) -> RuntimeConfig:
        doc = self._store.get(CONFIG_KEY)
        return RuntimeConfig.from_document(doc) if doc else RuntimeConfig.from_settings(self._settings)

    def reset_to_environment(self) -> None:
        self._store.put(CONFIG_KEY, RuntimeConfig.from_settings(self._settings).to_document())

    def update(self, changes: dict) -> None:
        """Set the given settings (field name → typed value), atomically for every worker."""

        def change(doc: dict | None) -> dict:
            current = RuntimeConfig.from_document(doc) if doc else RuntimeConfig.from_settings(self._settings)
            return dataclasses.replace(current, **changes).to_document()

        self._store.update(CONFIG_KEY, change)

    def reset(self, names: list[str]) -> None:
        """Restore the named settings to the built-in defaults (not the environment: D15)."""
        self.update({name: getattr(BUILT_IN, name) for name in names})
