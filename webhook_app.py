"""The bot's HTTP face on App Engine: Telegram's webhook, warmup, cron and health.

Thin on purpose: it checks who is calling and what was sent, then hands the
update to the worker's `BotRuntime`, which does the rest inside the request
(App Engine gives no CPU after the response). gunicorn runs it as
``webhook_app:app``; see app.yaml.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import threading

from flask import Flask, Response, current_app, jsonify, request

from bot.config import BotConfig
from bot.logs import CURRENT_UPDATE, configure_logging
from bot.runtime import BotRuntime
from bot.store import Store
from bot.webapp.routes import blueprint as webapp_blueprint

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024           # Telegram updates are a few kB; refuse anything near this
CLEANUP_EVERY = 30 * 60.0        # seconds between store.cleanup() runs from the keep-warm cron
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class RuntimeHolder:
    """Creates the `BotRuntime` on first use, once per process.

    Never at import and never before gunicorn forks: the runtime owns a thread
    and an event loop, and neither survives a fork. The pid check makes a copy
    inherited through a fork build its own.
    """

    def __init__(self, config: BotConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store
        self._lock = threading.Lock()
        self._runtime: BotRuntime | None = None
        self._pid = 0

    def get(self) -> BotRuntime:
        with self._lock:
            if self._runtime is None or self._pid != os.getpid():
                self._runtime, self._pid = BotRuntime(self.config, self.store), os.getpid()
            return self._runtime

    def close(self) -> None:
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None and self._pid == os.getpid():
            runtime.close()


def runtime() -> BotRuntime:
    """The current app's runtime (created lazily)."""
    return current_app.extensions["bot_runtime"].get()


def create_app(config: BotConfig | None = None, *, store: Store | None = None) -> Flask:
    """Application factory; `config` defaults to `BotConfig.from_env()`, checked here once
    (ValueError names every bad setting). `store` replaces the one BOT_STORE names."""
    config = BotConfig.from_env() if config is None else config
    configure_logging(config)
    problems = config.problems()
    if problems:
        raise ValueError("bad settings: " + "; ".join(problems))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions["bot_runtime"] = RuntimeHolder(config, store)
    # The Mini App (/app/…) talks to the same runtime as the webhook.
    app.extensions["bot_webapp"] = app.extensions["bot_runtime"].get
    app.register_blueprint(webapp_blueprint)
    secret = config.webhook_secret.encode()
    refused_unconfigured = threading.Event()

    def secret_ok() -> bool:
        if not secret:
            if not refused_unconfigured.is_set():
                refused_unconfigured.set()
                log.error("WEBHOOK_SECRET is empty: refusing every webhook call")
            return False
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, secret)

    @app.post("/webhook")
    def webhook() -> Response | tuple[str, int]:
        """Telegram's POST of one update; 2xx means "don't send it again"."""
        if not secret_ok():
            return "forbidden", 403
        if (request.content_length or 0) > MAX_BODY:
            return "too large", 413
        try:  # get_data enforces MAX_CONTENT_LENGTH on bodies without a length too
            update = json.loads(request.get_data(cache=False))
        except ValueError:
            return "not JSON", 400
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return "no update_id", 400
        context = CURRENT_UPDATE.set(update_id)
        try:
            outcome = runtime().process(update, config.update_timeout)
        except Exception:
            # The bot could not start, so the update was never claimed: let Telegram resend.
            log.exception("update %s: bot unavailable", update_id)
            return "unavailable", 503
        finally:
            CURRENT_UPDATE.reset(context)
        log.info("update %s: %s in %.2f s", update_id, outcome.status, outcome.seconds,
                 extra={"update_id": update_id})
        # "busy": another instance holds a live claim on it; it may have died, so Telegram
        # must resend until that claim is done (200) or its lease ran out (taken over).
        # "working": still being painted here; the resend joins the work in a live request
        # (App Engine gives no CPU after the response).
        status = 503 if outcome.status in ("busy", "working") else 200
        return Response(outcome.status, status, mimetype="text/plain")

    @app.get("/_ah/warmup")
    def warmup() -> tuple[str, int]:
        """App Engine's warmup request: load the model before users arrive (once)."""
        return ("ready", 200) if runtime().warmup() else ("not ready", 503)

    @app.get("/cron/keep-warm")
    def keep_warm() -> Response | tuple[str, int]:
        """Cron tick; App Engine strips X-Appengine-Cron from outside requests."""
        if request.headers.get("X-Appengine-Cron") != "true":
            return "forbidden", 403
        try:
            return jsonify(runtime().keep_warm(CLEANUP_EVERY))
        except Exception:
            log.exception("keep-warm failed")
            return "not ready", 503

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        """200 {"ok": true, "status": "healthy"} or 503 {"ok": false, "status": "unhealthy"};
        anyone can ask, so the reason (paths, bucket names) goes to the log only."""
        if runtime().health():
            return jsonify(ok=True, status="healthy"), 200
        return jsonify(ok=False, status="unhealthy"), 503

    return app


app = create_app()
