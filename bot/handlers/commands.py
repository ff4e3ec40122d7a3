"""Slash commands: /start, /help, /styles, /forget, /stylize."""
from __future__ import annotations

import asyncio
import io
import logging
from html import escape
from typing import TYPE_CHECKING

from telegram import Update
from telegram.error import BadRequest

from bot import gallery, texts
from bot.context import BotContext
from bot.handlers.common import (arrival_refused, chat_of, is_private, message_of, new_content,
                                 say, user_of)
from bot.intake import classify
from bot.keyboards import STRENGTHS
from bot.painting import LIMITS
from bot.telegram_io import reply_params, with_retries

if TYPE_CHECKING:  # pragma: no cover
    from nst.catalog import Preset
    from nst.engine import Engine

log = logging.getLogger(__name__)


async def start(update: Update, context: BotContext) -> None:
    """A short, friendly hello: what I do and the three steps to a painting (in a group:
    how /stylize works there)."""
    text = texts.WELCOME if is_private(update) else texts.WELCOME_GROUP
    await say(context, chat_of(update).id, context.t(text))


async def help_command(update: Update, context: BotContext) -> None:
    """Everything the bot can do, in a few lines, plus what it keeps and for how long."""
    ttl_hours = round(context.bot_data.config.input_ttl / 3600)
    text = (context.t(texts.HELP, username=f"@{context.bot.username}", ttl_hours=ttl_hours,
                      min_pct=min(STRENGTHS), max_pct=max(STRENGTHS))
            + "\n\n" + context.t(texts.HELP_BRUSH)
            + "\n\n" + context.t(texts.HELP_PROTECT)
            + "\n\n" + context.t(texts.HELP_GLANCE)
            + "\n\n" + context.t(texts.HELP_CLIPS, count=LIMITS.max_seconds))
    await say(context, chat_of(update).id, text)


async def styles(update: Update, context: BotContext) -> None:
    """One collage of every painting, numbered like the buttons. Drawn and uploaded once;
    afterwards Telegram's copy (file_id) is sent again."""
    svc = context.bot_data
    chat_id = chat_of(update).id
    all_presets = svc.presets()
    key = gallery.cache_key(all_presets)
    private = is_private(update)
    text = context.t(texts.STYLES_CAPTION if private else texts.STYLES_CAPTION_GROUP,
                     count=len(all_presets))
    t = context.t
    if any(t.title(p.title) != p.title for p in all_presets):  # titles in the user's language
        lines = [t(texts.STYLES_LEGEND_LINE, number=n, title=escape(t.title(p.title)))
                 for n, p in enumerate(all_presets, start=1)]
        text = gallery.legend(text, lines)
    reply_to = None if private else message_of(update).message_id
    cached = await svc.state.cached(key)
    if cached:
        try:
            await with_retries(lambda: context.bot.send_photo(
                chat_id, photo=cached["file_id"], caption=text,
                reply_parameters=reply_params(reply_to)), what="sendPhoto")
            return
        except BadRequest as exc:  # e.g. the token changed: Telegram forgot the file
            log.warning("cached gallery refused (%s); drawing it again", exc)
            await svc.state.uncache(key)
    sheet = await asyncio.to_thread(_draw, svc.engine, all_presets)
    message = await with_retries(lambda: context.bot.send_photo(
        chat_id, photo=sheet, caption=text, reply_parameters=reply_params(reply_to)),
        what="sendPhoto")
    await svc.state.cache(key, {"file_id": message.photo[-1].file_id})


def _draw(engine: Engine, all_presets: list[Preset]) -> bytes:
    out = io.BytesIO()
    gallery.render_collage(all_presets, engine.catalog.image).save(out, "JPEG", quality=88)
    return out.getvalue()


async def forget(update: Update, context: BotContext) -> None:
    """Deletes everything stored about the user (photos' file_ids, results, buttons) and
    says how much went — in a group only that it is done, since everybody reads it."""
    count = await context.bot_data.state.forget(user_of(update).id)
    if context.bot_data.webapp is not None:  # the Mini App's decoded photos in memory
        context.bot_data.webapp.forget(user_of(update).id)
    log.info("user %s: forgot %d documents", user_of(update).id, count)
    if not is_private(update):
        text = context.t(texts.FORGOTTEN_GROUP)
    elif count:
        text = context.t(texts.FORGOTTEN, count=count)
    else:
        text = context.t(texts.FORGOTTEN_NOTHING)
    reply_to = None if is_private(update) else message_of(update).message_id
    await say(context, chat_of(update).id, text, reply_to)


async def stylize(update: Update, context: BotContext) -> None:
    """Replying /stylize to a photo or a clip (groups) shows the paintings for it; the
    buttons belong to whoever asked. Without one it explains how (in a private chat:
    that a photo alone is enough)."""
    message, chat = message_of(update), chat_of(update)
    target = message.reply_to_message
    ref = classify(target)
    if ref is None or target is None:
        hint = texts.STYLIZE_PRIVATE if is_private(update) else texts.STYLIZE_NEEDS_PHOTO
        await say(context, chat.id, context.t(hint), message.message_id)
        return
    if await arrival_refused(context, ref, chat.id, message.message_id):
        return
    await new_content(context, chat_id=chat.id, user_id=user_of(update).id, ref=ref,
                      reply_to=target.message_id, ask_id=message.message_id)
