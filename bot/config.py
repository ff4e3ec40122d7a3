"""Bot settings, read from the environment in this one place."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from nst.config import EngineConfig

DEFAULT_API_BASE = "https://api.telegram.org"
# What Telegram accepts as a webhook secret_token.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Telegram opens Mini Apps over https only; plain http is for a loopback test server.
_PUBLIC_URL_RE = re.compile(r"^(https://[^\s/?#]+|http://(127\.0\.0\.1|localhost)(:\d+)?)(/[^\s?#]*)?$")
_QUEUE_RE = re.compile(r"^projects/[a-z0-9:.-]+/locations/[a-z0-9-]+/queues/[A-Za-z0-9-]{1,100}$")
_HOST_PORT_RE = re.compile(r"^[\w.-]+:\d{1,5}$")


def _default_store_url() -> str:
    data_dir = Path(os.environ.get("BOT_DATA_DIR", "data"))
    return f"sqlite:///{data_dir / 'bot.sqlite3'}"


@dataclass(frozen=True)
class BotConfig:
    """Everything the conversation and the webhook need to know."""

    token: str = field(default="", repr=False)           # TELEGRAM_BOT_TOKEN
    api_base: str = DEFAULT_API_BASE         # TELEGRAM_API_BASE
    webhook_secret: str = field(default="", repr=False)  # WEBHOOK_SECRET
    store_url: str = field(default_factory=_default_store_url)  # BOT_STORE
    engine: EngineConfig = field(default_factory=EngineConfig)
    input_ttl: float = 24 * 3600             # BOT_INPUT_TTL seconds: how long photo file_ids are kept
    rate_per_minute: int = 10                # BOT_RATE_PER_MINUTE: renders per user per minute
    # BOT_ACTIONS_PER_MINUTE: photos and button presses per user per minute (cheap, but
    # each costs a download check, store calls and an answer)
    actions_per_minute: int = 30
    max_pending_per_user: int = 2            # BOT_MAX_PENDING: queued jobs per user
    # BOT_MAX_WAITING: paintings waiting or running on this instance, all users together
    # (each holds its downloaded inputs, up to 20 MB); beyond it: "busy, try in a minute"
    max_waiting: int = 16
    # BOT_WORKERS: render threads. One engine interpreter serves them all and already
    # uses every core; bench/ measured 2 workers 1.1x slower than 1 (contention).
    workers: int = 1
    update_timeout: float = 55.0             # BOT_UPDATE_TIMEOUT: webhook waits this long per update
    # BOT_CLAIM_LEASE: how long an update's claim outlives a silent owner; the owner renews
    # it every third of this while it works, so only a dead owner's claim runs out.
    claim_lease: float = 60.0
    # BOT_PUBLIC_URL: the app's public base URL (https; http://127.0.0.1:PORT in tests). The
    # Mini App button links under it; without it the keyboard has no Mini App button.
    public_url: str = ""
    webapp_port: int = 8085                  # BOT_WEBAPP_PORT: polling mode's local page server
    previews_per_minute: int = 60            # BOT_PREVIEWS_PER_MINUTE: Mini App previews per user
    webapp_max_age: float = 3600.0           # BOT_WEBAPP_MAX_AGE: oldest launch data accepted (s)
    # BOT_TASKS_QUEUE=projects/P/locations/L/queues/Q: the webhook only enqueues each update
    # as a Cloud Tasks App Engine task and answers at once; /tasks/update does the work.
    tasks_queue: str = ""
    tasks_emulator: str = ""                 # CLOUD_TASKS_EMULATOR_HOST=host:port (tests)
    # BOT_TASK_TIMEOUT: a task request waits this long for its update (App Engine allows
    # 10 min); past it the answer is 503 and the queue's retry joins the running work.
    task_timeout: float = 540.0
    log_level: str = "INFO"                  # LOG_LEVEL
    # LOG_FORMAT=json|text; JSON lines by default on App Engine (GAE_ENV is set there),
    # so Cloud Logging reads each line's severity.
    log_json: bool = False

    @property
    def base_url(self) -> str:
        """PTB appends the token itself, so the base ends in /bot."""
        return f"{self.api_base.rstrip('/')}/bot"

    @property
    def bot_id(self) -> str:
        """The bot's numeric id: the token's part before the colon."""
        return self.token.partition(":")[0]

    @property
    def base_file_url(self) -> str:
        return f"{self.api_base.rstrip('/')}/file/bot"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "BotConfig":
        env: Mapping[str, str] = os.environ if environ is None else environ
        defaults = cls()

        def num(name: str, default: float, kind: type = float) -> Any:
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
            actions_per_minute=num("BOT_ACTIONS_PER_MINUTE", defaults.actions_per_minute, int),
            max_pending_per_user=num("BOT_MAX_PENDING", defaults.max_pending_per_user, int),
            max_waiting=num("BOT_MAX_WAITING", defaults.max_waiting, int),
            workers=num("BOT_WORKERS", defaults.workers, int),
            update_timeout=num("BOT_UPDATE_TIMEOUT", defaults.update_timeout),
            claim_lease=num("BOT_CLAIM_LEASE", defaults.claim_lease),
            public_url=(env.get("BOT_PUBLIC_URL") or "").strip().rstrip("/"),
            webapp_port=num("BOT_WEBAPP_PORT", defaults.webapp_port, int),
            previews_per_minute=num("BOT_PREVIEWS_PER_MINUTE", defaults.previews_per_minute, int),
            webapp_max_age=num("BOT_WEBAPP_MAX_AGE", defaults.webapp_max_age),
            tasks_queue=env.get("BOT_TASKS_QUEUE", "").strip(),
            tasks_emulator=env.get("CLOUD_TASKS_EMULATOR_HOST", "").strip(),
            task_timeout=num("BOT_TASK_TIMEOUT", defaults.task_timeout),
            log_level=(env.get("LOG_LEVEL") or defaults.log_level).upper(),
            log_json=(env.get("LOG_FORMAT") or ("json" if env.get("GAE_ENV") else "text"))
            .lower() == "json",
        )

    def problems(self) -> list[str]:
        """What is wrong with these settings, one sentence each (empty when all is well).
        A missing token or secret is not listed: the webhook refuses calls without them."""
        found = []
        if self.token and not re.match(r"^\d+:[\w-]+$", self.token):
            found.append("TELEGRAM_BOT_TOKEN does not look like 123456:ABC-…")
        if self.webhook_secret and not _SECRET_RE.match(self.webhook_secret):
            found.append("WEBHOOK_SECRET may only hold 1-256 of A-Z a-z 0-9 _ -")
        if not self.api_base.startswith(("http://", "https://")):
            found.append("TELEGRAM_API_BASE must start with http:// or https://")
        if not self.store_url.startswith(("sqlite:///", "gs://")):
            found.append("BOT_STORE must be sqlite:///path or gs://bucket/prefix")
        if self.public_url and not _PUBLIC_URL_RE.match(self.public_url):
            found.append("BOT_PUBLIC_URL must be https://host[/path] (or http://127.0.0.1:PORT)")
        for name, value in (("BOT_UPDATE_TIMEOUT", self.update_timeout),
                            ("BOT_PREVIEWS_PER_MINUTE", self.previews_per_minute),
                            ("BOT_WEBAPP_MAX_AGE", self.webapp_max_age),
                            ("BOT_CLAIM_LEASE", self.claim_lease),
                            ("BOT_INPUT_TTL", self.input_ttl),
                            ("BOT_RATE_PER_MINUTE", self.rate_per_minute),
                            ("BOT_ACTIONS_PER_MINUTE", self.actions_per_minute),
                            ("BOT_MAX_PENDING", self.max_pending_per_user),
                            ("BOT_MAX_WAITING", self.max_waiting),
                            ("BOT_WORKERS", self.workers),
                            ("BOT_TASK_TIMEOUT", self.task_timeout)):
            if value <= 0:
                found.append(f"{name} must be positive, not {value}")
        if self.tasks_queue and not _QUEUE_RE.match(self.tasks_queue):
            found.append("BOT_TASKS_QUEUE must be projects/P/locations/L/queues/Q")
        if self.tasks_emulator and not _HOST_PORT_RE.match(self.tasks_emulator):
            found.append("CLOUD_TASKS_EMULATOR_HOST must be host:port")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            found.append(f"LOG_LEVEL {self.log_level!r} is not a logging level")
        return found
