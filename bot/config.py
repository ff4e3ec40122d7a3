"""Bot settings, read from the environment in this one place."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nst.config import EngineConfig

DEFAULT_API_BASE = "https://api.telegram.org"


def _default_store_url() -> str:
    data_dir = Path(os.environ.get("BOT_DATA_DIR", "data"))
    return f"sqlite:///{data_dir / 'bot.sqlite3'}"


@dataclass(frozen=True)
class BotConfig:
    """Everything the conversation and the webhook need to know."""

    token: str = ""                          # TELEGRAM_BOT_TOKEN
    api_base: str = DEFAULT_API_BASE         # TELEGRAM_API_BASE
    webhook_secret: str = ""                 # WEBHOOK_SECRET
    store_url: str = field(default_factory=_default_store_url)  # BOT_STORE
    engine: EngineConfig = field(default_factory=EngineConfig)
    input_ttl: float = 24 * 3600             # BOT_INPUT_TTL seconds: how long photo file_ids are kept
    rate_per_minute: int = 10                # BOT_RATE_PER_MINUTE: images per user per minute
    max_pending_per_user: int = 2            # BOT_MAX_PENDING: queued jobs per user
    # BOT_WORKERS: render threads. One engine interpreter serves them all and already
    # uses every core; bench/ measured 2 workers 1.1x slower than 1 (contention).
    workers: int = 1
    update_timeout: float = 55.0             # BOT_UPDATE_TIMEOUT: webhook waits this long per update

    @property
    def base_url(self) -> str:
        """PTB appends the token itself, so the base ends in /bot."""
        return f"{self.api_base.rstrip('/')}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_base.rstrip('/')}/file/bot"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "BotConfig":
        env = os.environ if env is None else env
        defaults = cls()

        def num(name: str, default: float, kind: type = float):
            raw = env.get(name)
            return kind(raw) if raw not in (None, "") else default

        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            api_base=(env.get("TELEGRAM_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
            webhook_secret=env.get("WEBHOOK_SECRET", ""),
            store_url=env.get("BOT_STORE") or defaults.store_url,
            engine=EngineConfig.from_env(env),
            input_ttl=num("BOT_INPUT_TTL", defaults.input_ttl),
            rate_per_minute=num("BOT_RATE_PER_MINUTE", defaults.rate_per_minute, int),
            max_pending_per_user=num("BOT_MAX_PENDING", defaults.max_pending_per_user, int),
            workers=num("BOT_WORKERS", defaults.workers, int),
            update_timeout=num("BOT_UPDATE_TIMEOUT", defaults.update_timeout),
        )
