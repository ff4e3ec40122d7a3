"""Notes while a painting waits or runs: "⏳ You're #N in line", kept current, and for a
clip "🎞 12/75 frames"; both deleted when they are no longer true."""
from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from telegram import Message
from telegram.error import TelegramError

from bot import texts
from bot.context import BotContext
from bot.handlers.common import say
from bot.jobs import Ticket
from bot.painting import FrameCounter
from bot.telegram_io import running

PROGRESS_EVERY = 2.0   # seconds between edits of the progress message (not every frame)


class Note:
    """One status message: sent, edited, and finally deleted - also when the wait it
    describes ends while the message is still being sent. Sending and deleting run
    shielded from the caller's cancellation, and `clear` waits for both, so the message id
    is never lost and the message never stays behind in the chat."""

    def __init__(self, context: BotContext, chat_id: int, reply_to: int | None) -> None:
        self._context, self._chat, self._reply_to = context, chat_id, reply_to
        self._sending: asyncio.Future[Message | None] | None = None
        self._clearing: asyncio.Future[None] | None = None

    async def show(self, text: str) -> None:
        if self._sending is None:
            self._sending = asyncio.ensure_future(
                say(self._context, self._chat, text, self._reply_to))
            await asyncio.shield(self._sending)
            return
        message = await asyncio.shield(self._sending)
        if message is not None:
            with contextlib.suppress(TelegramError):
                await message.edit_text(text)

    async def clear(self) -> None:
        """Delete the message (once sent); every call waits until it is gone."""
        if self._clearing is None:
            self._clearing = asyncio.ensure_future(self._delete())
        await asyncio.shield(self._clearing)

    async def _delete(self) -> None:
        message = await self._sending if self._sending is not None else None
        if message is not None:
            with contextlib.suppress(TelegramError):
                await message.delete()


@contextlib.asynccontextmanager
async def place_in_line(context: BotContext, chat_id: int, ticket: Ticket,
                        reply_to: int | None) -> AsyncIterator[None]:
    """While the job waits, show "⏳ You're #N in line" and keep it current; delete it
    as soon as the job starts."""
    note = Note(context, chat_id, reply_to)

    async def follow() -> None:
        shown = None
        while ticket.position > 0:
            ticket.changed.clear()
            if _worth_showing(ticket.position, shown):
                shown = ticket.position
                await note.show(context.t(texts.IN_LINE, count=shown))
                continue
            await ticket.changed.wait()
        await note.clear()

    try:
        async with running(follow()):
            yield
    finally:
        await note.clear()


def _worth_showing(position: int, shown: int | None) -> bool:
    """Edit a waiting note only at a few milestones (first shown, halved, the last three
    places): editing every note on every move of the queue costs O(N²) edits, and
    Telegram answers that with 429s."""
    if shown is None:
        return True
    return position != shown and (position <= 3 or position <= shown // 2)


@contextlib.asynccontextmanager
async def frames_progress(context: BotContext, chat_id: int, reply_to: int,
                          ticket: Ticket, counter: FrameCounter) -> AsyncIterator[None]:
    """While the clip is painted, "🎞 12/75 frames", edited every PROGRESS_EVERY seconds
    (a short clip that is done before that gets no message at all); deleted at the end."""
    note = Note(context, chat_id, reply_to)

    async def follow() -> None:
        shown = None
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            if ticket.position != 0 or not counter.total:
                continue  # still in line (place_in_line shows that) or scanning
            text = context.t(texts.CLIP_PROGRESS, done=counter.done, count=counter.total)
            if text != shown:
                shown = text
                await note.show(text)

    try:
        async with running(follow()):
            yield
    finally:
        await note.clear()
