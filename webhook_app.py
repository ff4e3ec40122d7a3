"""The bot's HTTP face on App Engine: Telegram's webhook, warmup, cron and health.

Thin on purpose: it checks who is calling and what was sent, then hands the
update to the worker's `BotRuntime`, which does the rest inside the request
(App Engine gives no CPU after the response). With BOT_TASKS_QUEUE set, /webhook only
enqueues the update (bot/tasks.py) and answers at once; the queue's request to
/tasks/update does the work. gunicorn runs it as ``webhook_app:app``; see app.yaml.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import threading
import time
from typing import Callable

from flask import Flask, Response, current_app, jsonify, request

from bot.config import BotConfig
from bot.logs import CURRENT_UPDATE, configure_logging
from bot.runtime import BotRuntime
from bot.store import Store
from bot.webapp.routes import blueprint as webapp_blueprint
from bot.tasks import QUEUE_HEADER, TASK_ROUTE, EnqueueError, queue_matches

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024           # Telegram updates are a few kB; refuse anything near this
CLEANUP_EVERY = 30 * 60.0        # seconds between store.cleanup() runs from the keep-warm cron
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_CACHE = 10.0              # seconds one /healthz verdict is reused (anyone may ask)


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


def warm_in_background(app: Flask) -> None:
    """Start warming `app`'s runtime now, without waiting (gunicorn.conf.py: a worker that
    has just loaded the app)."""
    app.extensions["bot_runtime"].get().warm_in_background()


def runtime() -> BotRuntime:
    """The current app's runtime (created lazily)."""
    return current_app.extensions["bot_runtime"].get()


class HealthCache:
    """One health verdict reused for `ttl` seconds of `clock`; one probe at a time."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._lock = threading.Lock()
        self._at: float | None = None
        self._ok = False

    def get(self, probe: Callable[[], bool]) -> bool:
        with self._lock:
            if self._at is None or self.clock() - self._at >= self.ttl:
                self._ok, self._at = probe(), self.clock()
            return self._ok


def create_app(config: BotConfig | None = None, *, store: Store | None = None,
               clock: Callable[[], float] = time.monotonic) -> Flask:
    """Application factory; `config` defaults to `BotConfig.from_env()`, checked here once
    (ValueError names every bad setting). `store` replaces the one BOT_STORE names;
    `clock` times the /healthz cache (tests move it by hand)."""
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
    health = HealthCache(HEALTH_CACHE, clock)

    def secret_ok() -> bool:
        if not secret:
            if not refused_unconfigured.is_set():
                refused_unconfigured.set()
                log.error("WEBHOOK_SECRET is empty: refusing every webhook call")
            return False
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, secret)

    def read_update() -> tuple[dict, bytes] | tuple[str, int]:
        """The posted update and its raw body, or the error answer."""
        if (request.content_length or 0) > MAX_BODY:
            return "too large", 413
        try:  # get_data enforces MAX_CONTENT_LENGTH on bodies without a length too
            body = request.get_data(cache=False)
            update = json.loads(body)
        except ValueError:
            return "not JSON", 400
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return "no update_id", 400
        return update, body

    @app.post("/webhook")
    def webhook() -> Response | tuple[str, int]:
        """Telegram's POST of one update; 2xx means "don't send it again"."""
        if not secret_ok():
            return "forbidden", 403
        read = read_update()
        if isinstance(read[0], str):
            return read
        update, body = read
        update_id = update["update_id"]
        if config.tasks_queue:
            return enqueue(update, body)
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
        # (App Engine gives no CPU after the response). "lost": stopped unsent because its
        # claim was taken over or could not be confirmed; the resend settles it.
        status = 503 if outcome.status in ("busy", "working", "lost") else 200
        return Response(outcome.status, status, mimetype="text/plain")

    def enqueue(update: dict, body: bytes) -> Response | tuple[str, int]:
        """Cloud Tasks mode: hand the update to the queue and answer at once."""
        update_id = update["update_id"]
        try:
            outcome = runtime().enqueue(update, body)
        except EnqueueError as exc:
            log.error("update %s: not enqueued, Telegram will resend it (%s)", update_id, exc)
            return "unavailable", 503
        log.info("update %s: %s in %.2f s", update_id, outcome.status, outcome.seconds,
                 extra={"update_id": update_id})
        return Response(outcome.status, 200, mimetype="text/plain")

    @app.post(TASK_ROUTE)
    def run_task() -> Response | tuple[str, int]:
        """Cloud Tasks' POST of one update: 2xx = done (or a duplicate), 5xx = retry later.
        App Engine strips X-AppEngine-* headers from outside requests, so the queue header
        proves the caller is the queue."""
        if not config.tasks_queue:
            return "not found", 404
        if not queue_matches(request.headers.get(QUEUE_HEADER, ""), config.tasks_queue):
            return "forbidden", 403
        read = read_update()
        if isinstance(read[0], str):
            return read
        update = read[0]
        update_id = update["update_id"]
        context = CURRENT_UPDATE.set(update_id)
        try:
            outcome = runtime().process(update, config.task_timeout)
        except Exception:
            log.exception("update %s: bot unavailable; the queue retries", update_id)
            return "unavailable", 503
        finally:
            CURRENT_UPDATE.reset(context)
        log.info("task for update %s: %s in %.2f s (attempt %s)", update_id, outcome.status,
                 outcome.seconds, request.headers.get("X-AppEngine-TaskRetryCount", "?"),
                 extra={"update_id": update_id})
        # busy: a live owner elsewhere (the retry takes it over if that owner dies);
        # working: still running here past BOT_TASK_TIMEOUT (the retry joins it);
        # lost: stopped unsent, its claim not surely ours (the retry settles who paints).
        status = 503 if outcome.status in ("busy", "working", "lost") else 200
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
        anyone can ask, so the reason (paths, bucket names) goes to the log only, and one
        verdict serves every call for HEALTH_CACHE seconds (no Cloud Storage read each)."""
        if health.get(lambda: runtime().health()):
            return jsonify(ok=True, status="healthy"), 200
        return jsonify(ok=False, status="unhealthy"), 503

    return app


app = create_app()
