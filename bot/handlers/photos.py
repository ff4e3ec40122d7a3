"""Photos and files coming in, and everything that is not a photo."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot import texts
from bot.handlers.common import image_ref, is_private, new_content, say, services
from bot.handlers.render import new_render, start_render
from bot.telegram_io import MAX_DOWNLOAD

log = logging.getLogger(__name__)

STYLE_WINDOW = 600.0   # a second photo within 10 min of the first (no result yet) = its style
ALBUM_WAIT = 2.0       # how long the first photo of an album waits for its partner
_STYLIZE_RE = re.compile(r"^/stylize(@\w+)?(\s|$)", re.IGNORECASE)


def wants_stylize(text: str | None) -> bool:
    return bool(_STYLIZE_RE.match(text or ""))


async def on_image(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo (or an image sent as a file) gets the painting keyboard — or, right after
    another photo or "use my own style", becomes that photo's style. In groups only a
    photo captioned /stylize or a reply to my "send the style" message counts."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    private = is_private(update)
    ref = image_ref(message)
    if ref is None:
        if private:
            await say(context, chat.id, texts.NOT_AN_IMAGE, message.message_id)
        return
    addressed = private or wants_stylize(message.caption) or _replies_to_me(update, context)
    if not addressed:
        return  # a group photo that is not for us
    if (ref.get("file_size") or 0) > MAX_DOWNLOAD:
        await say(context, chat.id, texts.TOO_BIG, message.message_id)
        return
    if private and message.media_group_id:
        await _album_photo(update, context, ref)
        return
    await _single_photo(update, context, ref)


def _replies_to_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    reply = update.effective_message.reply_to_message
    return bool(reply and reply.from_user and reply.from_user.id == context.bot.id)


async def _single_photo(update: Update, context: ContextTypes.DEFAULT_TYPE,
                        ref: dict[str, Any]) -> None:
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    state = services(context).state
    session = await state.session(chat.id, user.id)
    if _is_style(session, ref, update, context):
        await state.set_session(chat.id, user.id, {**session, "styled": True,
                                                   "awaiting_style": False})
        render = new_render(user.id, chat.id, session, {"photo": ref}, "own")
        await start_render(update, context, render)
        return
    if not is_private(update) and not wants_stylize(message.caption):
        return  # a reply to me that isn't the awaited style
    await new_content(context, chat_id=chat.id, user_id=user.id, ref=ref,
                      reply_to=message.message_id, ask_id=message.message_id)


def _is_style(session: dict | None, ref: dict[str, Any], update: Update,
              context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Is this photo the style for the photo before it?"""
    if not session or not session.get("content"):
        return False
    if session["content"].get("file_unique_id") == ref.get("file_unique_id"):
        return False  # the same picture again: start over with it
    if session.get("awaiting_style"):
        return is_private(update) or _replies_to_me(update, context)
    fresh = time.time() - float(session.get("at", 0)) < STYLE_WINDOW
    return is_private(update) and fresh and not session.get("styled")


async def _album_photo(update: Update, context: ContextTypes.DEFAULT_TYPE,
                       ref: dict[str, Any]) -> None:
    """Two photos sent together: the first (lower message_id) is the content, the second
    the style. The two updates may be handled at the same time, so they meet in the store
    and whichever completes the pair starts the painting."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    state = services(context).state
    group, mid = message.media_group_id, message.message_id
    album = await state.album_join(user.id, group, mid, {"ref": ref})
    if not album.get("starter"):
        deadline = time.monotonic() + ALBUM_WAIT
        while time.monotonic() < deadline and not album.get("starter"):
            await asyncio.sleep(0.2)
            album = await state.album(user.id, group) or album
        if not album.get("starter"):
            album = await state.album_claim_single(user.id, group, mid)
    pair = album.get("pair", [])
    if album.get("starter") != mid:
        if len(pair) == 1:  # the first went ahead alone: this one is "the next photo"
            await _single_photo(update, context, ref)
        return  # the partner started the pair, or a 3rd+ photo of the album
    if len(pair) == 1:
        await _single_photo(update, context, ref)
        return
    items = album["items"]
    content, style = items[str(pair[0])]["ref"], items[str(pair[1])]["ref"]
    ctx = {"content": content, "reply_to": pair[0], "ask": pair[0]}
    await state.set_session(chat.id, user.id, {**ctx, "styled": True})
    await start_render(update, context, new_render(user.id, chat.id, ctx, {"photo": style},
                                                   "album"))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, videos, voice, text, unknown commands in a private chat: a gentle
    "send me a photo". (Groups: silence — it wasn't meant for me.)"""
    if is_private(update) and update.effective_message is not None:
        await say(context, update.effective_chat.id, texts.SEND_A_PHOTO,
                  update.effective_message.message_id)
