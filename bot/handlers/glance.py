"""👀 9 at a glance: the user's photo painted in 9 paintings, one numbered picture.

A press of 👀 under the painting list sends the grid (nst.preview) as a photo with
buttons 1–9 — each a pick of that painting, painted at full size as usual — then ◀ ▶
for the next 9 in preset order and 🎲 for 9 random ones, which change the grid in place.
The grid takes a place in the fair queue like a painting, at about its cost.
"""
from __future__ import annotations

import functools
import logging
import secrets
import time
from typing import Any

from telegram import InputMediaPhoto, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from bot import keyboards as kb
from bot import painting, texts
from bot.context import BotContext
from bot.errors import UserError
from bot.handlers.buttons import expired, pressed
from bot.handlers.common import answer, query_of, say
from bot.handlers.progress import place_in_line
from bot.handlers.render import result_of
from bot.jobs import Replaced
from bot.painting import Painting
from bot.records import Render, Subject
from bot.telegram_io import MEDIA_READ_TIMEOUT, ProbablyDelivered, chat_action, download, \
    reply_params, with_retries
from nst.preview import GRID_SIZE

log = logging.getLogger(__name__)

#: Queue cost of one grid, in photos (bench/RESULTS-portrait.md: ~1.3–1.4× a painting).
GLANCE_COST = 1.5


def _choose(all_ids: list[str], page: int) -> list[str] | None:
    """The presets of a grid page (or 9 random ones); None for a page that doesn't exist."""
    if page == kb.RANDOM_PAGE:
        return secrets.SystemRandom().sample(all_ids, min(GRID_SIZE, len(all_ids)))
    if not 0 <= page < kb.glance_pages(len(all_ids)):
        return None
    return all_ids[page * GRID_SIZE:(page + 1) * GRID_SIZE]


@pressed
async def glance(update: Update, context: BotContext, doc: dict[str, Any], page: int) -> None:
    """👀 / ◀ ▶ / 🎲: the photo painted in 9 paintings as one numbered picture with buttons
    1–9 (under a grid, the grid changes in place)."""
    ctx = doc["ctx"]
    all_ids = [p.id for p in context.bot_data.presets()]
    ids = _choose(all_ids, int(page)) if "content" in ctx and "base" not in ctx else None
    if not ids or ctx["content"].get("kind") == "clip":
        await expired(update, context)
        return
    await answer(update)
    message = query_of(update).message
    in_place = message if isinstance(message, Message) and message.photo else None
    try:
        await _deliver(update, context, doc, ids, int(page), len(all_ids), in_place)
    except UserError as exc:
        await say(context, doc["chat"], context.t(exc.user_message, **exc.values), ctx.get("ask"))
    except TelegramError:
        log.exception("Telegram refused the grid for user %s", doc["user"])
        await say(context, doc["chat"], context.t(texts.TELEGRAM_FAILED), ctx.get("ask"))


async def _deliver(update: Update, context: BotContext, doc: dict[str, Any], ids: list[str],
                   page: int, count: int, in_place: Message | None) -> None:
    """Paint the grid in a queue slot and send it (or put it in place of `in_place`)."""
    svc, user, chat, ctx = context.bot_data, doc["user"], doc["chat"], doc["ctx"]
    subject = Subject.from_doc(ctx)
    # a newer ◀ ▶ 🎲 on the same grid replaces a waiting one
    key = (user, "glance", in_place.message_id) if in_place is not None else None
    try:
        slot = svc.queue.reserve(user, key, time.monotonic_ns())
    except Replaced:
        return
    sent = False
    try:
        wait = await svc.state.take_rate(user)
        if wait:
            raise UserError(texts.RATE_LIMITED_IN, seconds=wait)
        async with chat_action(context.bot, chat, ChatAction.UPLOAD_PHOTO):
            content = await download(context.bot, subject.content)
            job = functools.partial(painting.paint_glance, svc.engine, content, ids)
            ticket = svc.queue.submit(user, job, slot, cost=GLANCE_COST)
            async with place_in_line(context, chat, ticket, subject.ask):
                grid = await result_of(ticket, Render.new(user, chat, subject))
            try:
                sent = await _send(context, doc, grid, ids, page, count, in_place)
            except ProbablyDelivered:
                sent = True
    except Replaced:
        await svc.state.refund_rate(user)
        return
    finally:
        svc.queue.release(slot)
    if sent and svc.delivery is not None and update.update_id is not None:
        await svc.delivery.mark_sent(update.update_id)


async def _send(context: BotContext, doc: dict[str, Any], grid: Painting, ids: list[str],
                page: int, count: int, in_place: Message | None) -> bool:
    svc, bot, t = context.bot_data, context.bot, context.t
    user, chat, ctx = doc["user"], doc["chat"], doc["ctx"]
    rows = kb.glance_rows(t, ids, page, count)
    # the buttons keep the list's context: 1–9 are picks of that photo, as from the list
    token = await svc.state.issue(chat, user, ctx, kb.actions(rows), since=context.arrived)
    markup = kb.markup(rows, token)
    text = (t(texts.GLANCE_CAPTION_RANDOM) if page == kb.RANDOM_PAGE
            else t(texts.GLANCE_CAPTION, page=page + 1, pages=kb.glance_pages(count)))
    if in_place is not None:
        media = InputMediaPhoto(grid.data, caption=text)
        try:
            await with_retries(lambda: bot.edit_message_media(
                media=media, chat_id=chat, message_id=in_place.message_id, reply_markup=markup,
                read_timeout=MEDIA_READ_TIMEOUT), what="editMessageMedia")
            return True
        except BadRequest as exc:  # deleted, too old…: a new grid is just as good
            log.warning("editMessageMedia refused (%s); sending a new grid", exc)
    await with_retries(lambda: bot.send_photo(
        chat, photo=grid.data, caption=text, reply_parameters=reply_params(ctx.get("ask")),
        reply_markup=markup, read_timeout=MEDIA_READ_TIMEOUT), what="sendPhoto")
    return True
