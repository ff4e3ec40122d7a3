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


@contextlib.asynccontextmanager
async def place_in_line(context: BotContext, chat_id: int, ticket: Ticket,
                        reply_to: int | None) -> AsyncIterator[None]:
    """While the job waits, show "⏳ You're #N in line" and keep it current; delete it
    as soon as the job starts."""
    note: Message | None = None

    async def follow() -> None:
        nonlocal note
        shown = None
        while ticket.position > 0:
            ticket.changed.clear()
            if _worth_showing(ticket.position, shown):
                shown = ticket.position
                text = context.t(texts.IN_LINE, count=shown)
                if note is None:
                    note = await say(context, chat_id, text, reply_to)
                else:
                    with contextlib.suppress(TelegramError):
                        await note.edit_text(text)
                continue
            await ticket.changed.wait()
        await remove()

    async def remove() -> None:
        nonlocal note
        if note is not None:
            gone, note = note, None
            with contextlib.suppress(TelegramError):
                await gone.delete()

    task = asyncio.create_task(follow()) if ticket.position > 0 else None
    try:
        yield
    finally:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await remove()


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
    note: Message | None = None

    async def follow() -> None:
        nonlocal note
        shown = None
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            if ticket.position != 0 or not counter.total:
                continue  # still in line (place_in_line shows that) or scanning
            text = context.t(texts.CLIP_PROGRESS, done=counter.done, count=counter.total)
            if text == shown:
                continue
            shown = text
            if note is None:
                note = await say(context, chat_id, text, reply_to)
            else:
                with contextlib.suppress(TelegramError):
                    await note.edit_text(text)

    try:
        async with running(follow()):
            yield
    finally:
        if note is not None:
            with contextlib.suppress(TelegramError):
                await note.delete()
