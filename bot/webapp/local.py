"""Polling mode's Mini App server: the blueprint on a small threaded HTTP server.

`python -m bot` has no Flask app of its own, so the page is served on
127.0.0.1:BOT_WEBAPP_PORT (put an https tunnel in front of it and set BOT_PUBLIC_URL
to its address for Telegram to open it).
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Callable, Coroutine, TypeVar

from flask import Flask
from telegram.ext import Application
from werkzeug.serving import BaseWSGIServer, make_server

from bot.config import BotConfig
from bot.webapp.routes import blueprint

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BODY = 1024 * 1024   # the largest request: an own-style upload of ≤ 600 kB


class LoopBridge:
    """The bot of this process (an Application on its running loop), for Flask threads."""

    def __init__(self, application: Application, loop: asyncio.AbstractEventLoop) -> None:
        self.application, self.loop = application, loop
        self.config: BotConfig = application.bot_data.config

    @property
    def engine(self) -> Any:
        return self.application.bot_data.engine

    def call(self, fn: Callable[[Any], Coroutine[Any, Any, T]], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(fn(self.application), self.loop).result(timeout)


def make_app(bridge: Any) -> Flask:
    """A Flask app with only the Mini App, talking to `bridge`."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions["bot_webapp"] = lambda: bridge
    app.register_blueprint(blueprint)
    return app


def serve(application: Application, loop: asyncio.AbstractEventLoop, host: str,
          port: int) -> BaseWSGIServer:
    """Start serving the page in a daemon thread; stop it with ``.shutdown()``."""
    server = make_server(host, port, make_app(LoopBridge(application, loop)), threaded=True)
    threading.Thread(target=server.serve_forever, name="webapp", daemon=True).start()
    log.info("Mini App page on http://%s:%d/app/", host, server.server_port)
    return server
