"""Logging for both entry points (webhook and polling), set up in one place.

`configure_logging(config)` gives the root logger one handler (unless the host, e.g.
pytest or gunicorn's own setup, already installed some) and puts two filters on every
root handler: the bot token never reaches a log line (httpx logs request URLs, PTB
logs download URLs, and a traceback may quote either), and each record carries the
update it belongs to. On App Engine each line is one JSON object with ``severity``,
``message`` and ``update_id``, which Cloud Logging reads as a structured entry; plain
text lines would all be shown with the same severity.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import traceback
from typing import IO
from urllib.parse import quote

from bot.config import BotConfig

# Loggers whose lines can contain request URLs (and so the token): httpx at INFO,
# PTB at DEBUG (File objects carry the full download URL). Filtered at the logger as
# well, for records that reach handlers other than root's.
# The update being handled (set by the webhook for its request, by the runtime in its
# loop); UpdateContext adds it to every record.
CURRENT_UPDATE: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "update_id", default=None)

TOKEN_LOGGERS = ("httpx", "telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Application",
                 "telegram.ext.Updater", "telegram.request.BaseRequest",
                 "telegram.request.HTTPXRequest")


class RedactToken(logging.Filter):
    """Keeps the bot token out of every log line, tracebacks included."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        # download URLs carry it URL-quoted ("123%3AABC")
        self.forms = [f for f in {token, quote(token, safe="")} if f]

    def redact(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        # Format now: PTB mutates the dicts it logged (adding the download URL) afterwards.
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class UpdateContext(logging.Filter):
    """Adds ``record.update_id``: the Telegram update being handled, or None."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "update_id", None) is None:
            record.update_id = CURRENT_UPDATE.get()
        return True


def _utc(seconds: float | None) -> time.struct_time:
    return time.gmtime(seconds)


class JsonLines(logging.Formatter):
    """One JSON object per line, in the fields Cloud Logging understands."""

    converter = staticmethod(_utc)

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        entry = {"severity": record.levelname, "message": message, "logger": record.name,
                 "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{record.msecs:03.0f}Z"}
        update_id = getattr(record, "update_id", None)
        if update_id is not None:
            entry["update_id"] = update_id
        return json.dumps(entry, ensure_ascii=False)


class TextLines(logging.Formatter):
    """Plain lines for a terminal (polling, local runs), times in UTC like JsonLines."""

    converter = staticmethod(_utc)

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")


def install_log_redaction(token: str, target: logging.Logger | logging.Handler | None = None
                          ) -> None:
    """Attach RedactToken to `target`, or to every root handler."""
    targets = [target] if target is not None else logging.getLogger().handlers
    for item in targets:
        if not any(isinstance(f, RedactToken) and f.token == token for f in item.filters):
            item.addFilter(RedactToken(token))


def configure_logging(config: BotConfig, stream: IO[str] | None = None) -> None:
    """Root handler (JSON lines or text), level, and the filters on every root handler.
    Safe to call more than once."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonLines() if config.log_json else TextLines())
        root.addHandler(handler)
        root.setLevel(config.log_level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for each in root.handlers:
        if not any(isinstance(f, UpdateContext) for f in each.filters):
            each.addFilter(UpdateContext())
    if config.token:
        install_log_redaction(config.token)
        for name in TOKEN_LOGGERS:
            install_log_redaction(config.token, logging.getLogger(name))
