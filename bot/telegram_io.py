"""Talking to the Bot API safely: downloads with limits, sends with bounded retries.

A send that timed out while waiting for Telegram's answer has usually been carried
out (PTB's docs say so too): retrying it would show the user the message twice. Such
sends are not retried; the caller gets ProbablyDelivered and carries on as if it had
worked. Timeouts before the request left (connect, pool) and reads are retried.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import warnings
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

import httpx
from telegram import Bot, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot import texts
from bot.errors import UserError
from bot.records import FileRef

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_DOWNLOAD = 20 * 1024 * 1024   # getFile refuses bigger files
ATTEMPTS = 5                      # first try + 4 retries
MAX_RETRY_AFTER = 30.0            # never sleep longer than this for one 429
BACKOFF = 0.5                     # seconds, doubled after each 5xx / connection error
ACTION_EVERY = 4.0                # a chat action shows for ~5 s
# Telegram answers a photo/document upload only after processing it; PTB's default read
# timeout (5 s) is shorter than that for big images.
MEDIA_READ_TIMEOUT = 60.0
# Calls a retry would repeat for the user (a second message / photo / file / edit).
SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendAnimation",
                   "editMessageMedia"})


class ProbablyDelivered(Exception):
    """A send timed out after the request went out: Telegram most likely carried it out,
    so it must not be repeated, and there is no failure to apologise for."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: no answer in time, probably delivered")
        self.what = what


def _request_went_out(exc: TimedOut) -> bool:
    """False only when the request certainly never reached Telegram."""
    return not isinstance(exc.__cause__, (httpx.ConnectTimeout, httpx.PoolTimeout))


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about int vs timedelta here
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def with_retries(call: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run one Bot API call; retry 429 (honouring retry_after) and 5xx / network errors
    with exponential back-off, a bounded number of times. 4xx are not retried, nor is a
    send (`what` in SENDS) whose answer timed out: that raises ProbablyDelivered."""
    delay = BACKOFF
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            wait = min(_retry_after_seconds(exc), MAX_RETRY_AFTER)
            if attempt == ATTEMPTS:
                raise
            log.warning("%s: flood control, retrying in %.1f s (attempt %d)", what, wait, attempt)
            await asyncio.sleep(wait)
        except (BadRequest, Forbidden, InvalidToken):
            raise  # our request is wrong or the user blocked us: retrying won't help
        except NetworkError as exc:  # includes 5xx and timeouts
            if isinstance(exc, TimedOut) and what in SENDS and _request_went_out(exc):
                log.warning("%s: no answer in time (%s); probably delivered, not sending it "
                            "again", what, type(exc.__cause__).__name__)
                raise ProbablyDelivered(what) from exc
            if attempt == ATTEMPTS:
                raise
            log.warning("%s: %s, retrying in %.1f s (attempt %d)",
                        what, type(exc).__name__, delay, attempt)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


async def download(bot: Bot, ref: FileRef) -> bytes:
    """The bytes of a photo or document kept as a Telegram file reference.

    The size is checked before getFile (documents carry it) and again after, so a
    30 MB file costs no download. Raises UserError for files Telegram won't serve.
    """
    if (ref.file_size or 0) > MAX_DOWNLOAD:
        raise UserError(texts.TOO_BIG)
    try:
        file = await with_retries(lambda: bot.get_file(ref.file_id), what="getFile")
    except BadRequest as exc:
        text = str(exc).lower()
        if "too big" in text:
            raise UserError(texts.TOO_BIG) from exc
        log.warning("getFile refused a stored file_id: %s", exc)
        raise UserError(texts.PHOTO_GONE) from exc
    if (file.file_size or 0) > MAX_DOWNLOAD:
        raise UserError(texts.TOO_BIG)
    data = await with_retries(file.download_as_bytearray, what="download")
    if len(data) > MAX_DOWNLOAD:
        raise UserError(texts.TOO_BIG)
    return bytes(data)


async def reply_text(bot: Bot, chat_id: int, text: str, reply_to: int | None = None,
                     **kwargs: Any) -> Message:
    """Send one short message (HTML: the application's Defaults), as a reply when `reply_to`
    is given."""
    return await with_retries(
        lambda: bot.send_message(chat_id, text, reply_parameters=reply_params(reply_to),
                                 **kwargs),
        what="sendMessage",
    )


def reply_params(message_id: int | None) -> ReplyParameters | None:
    """Reply to a message, but still deliver if it was deleted meanwhile."""
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


@contextlib.asynccontextmanager
async def chat_action(bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_PHOTO,
                      every: float = ACTION_EVERY) -> AsyncIterator[None]:
    """Keep "sending photo…" visible while the block runs (it fades after ~5 s)."""
    async def keep_alive() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, action)
            except Exception as exc:  # cosmetic: never let it break the real work
                log.debug("chat action failed: %s", exc)
            await asyncio.sleep(every)

    async with running(keep_alive()):
        yield


@contextlib.asynccontextmanager
async def running(coro: Awaitable[None]) -> AsyncIterator[None]:
    """Run ``coro`` in the background while the block runs; cancel it after."""
    task = asyncio.ensure_future(coro)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
