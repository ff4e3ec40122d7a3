"""Photos and files coming in, and everything that is not a photo."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from telegram import Message, Update
from telegram.ext import filters

from bot import texts
from bot.context import BotContext
from bot.handlers.common import chat_of, is_private, message_of, new_content, say, user_of
from bot.handlers.render import start_render
from bot.intake import arrival_problem, classify, oversized
from bot.records import FileRef, Render, Subject

log = logging.getLogger(__name__)

ALBUM_WAIT = 2.0       # how long the first photo of an album waits for its partner
# What a refusal says when the picture was sent as the style.
_AS_STYLE = {texts.UNREADABLE: texts.STYLE_UNREADABLE, texts.UNREADABLE_FILE: texts.STYLE_UNREADABLE,
             texts.TOO_BIG_TO_OPEN: texts.STYLE_TOO_BIG}
_STYLIZE_RE = re.compile(r"^/stylize(@\w+)?(\s|$)", re.IGNORECASE)

# What I cannot paint yet, one sentence per kind. When a kind becomes supported, drop it
# here (and from NOT_YET_FILTER) and register its handler before `not_yet` (clips went
# this way: bot/handlers/animations.py).
NOT_YET_FILTER = filters.Sticker.ALL


def not_yet_text(message: Message) -> str:
    """The msgid that says this kind of message can't be painted yet."""
    return texts.NOT_YET_STICKER


def wants_stylize(text: str | None) -> bool:
    """A caption (or text) that starts with /stylize."""
    return bool(_STYLIZE_RE.match(text or ""))


def _replies_to_me(update: Update, context: BotContext) -> bool:
    reply = update.effective_message.reply_to_message if update.effective_message else None
    return bool(reply and reply.from_user and reply.from_user.id == context.bot.id)


def addressed(update: Update, context: BotContext) -> bool:
    """Private chats always; in groups only a /stylize caption or a reply to me."""
    message = message_of(update)
    return (is_private(update) or wants_stylize(message.caption)
            or _replies_to_me(update, context))


async def on_image(update: Update, context: BotContext) -> None:
    """A photo (or an image sent as a file) gets the painting keyboard at once — or, after
    🖼 "use my own style", becomes that photo's style. A picture I can't use is refused
    right away. In groups only a photo captioned /stylize or a reply to my "send the
    style" message counts."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or update.effective_user is None:
        return
    ref = classify(message)  # a clip went to animations.on_clip before this
    if ref is None or ref.is_clip:
        if is_private(update):
            await say(context, chat.id, context.t(texts.NOT_AN_IMAGE), message.message_id)
        return
    await picture_arrived(update, context, ref)


async def picture_arrived(update: Update, context: BotContext, ref: FileRef) -> None:
    """A photo or picture file for me (or not, in a group): album, style or new content."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    if not addressed(update, context):
        return  # a group photo that is not for us
    if oversized(ref):
        await say(context, chat.id, context.t(texts.TOO_BIG), message.message_id)
        return
    if is_private(update) and message.media_group_id:
        await _album_photo(update, context, ref, message.media_group_id)
        return
    await _single_photo(update, context, ref)


async def not_yet(update: Update, context: BotContext) -> None:
    """Stickers: one clear "I can't paint these yet"."""
    message = message_of(update)
    if addressed(update, context):
        await say(context, chat_of(update).id, context.t(not_yet_text(message)),
                  message.message_id)


async def _single_photo(update: Update, context: BotContext, ref: FileRef) -> None:
    message, chat, user = message_of(update), chat_of(update), user_of(update)
    state = context.bot_data.state
    session = await state.session(chat.id, user.id)
    as_style = is_style(session, ref, update, context)
    if not as_style and not is_private(update) and not wants_stylize(message.caption):
        return  # a reply to me that isn't the awaited style
    problem = await arrival_problem(context.bot, ref, context.bot_data.arrivals,
                                    as_style=as_style)
    if problem is not None:
        msgid = problem.user_message
        if as_style:
            msgid = _AS_STYLE.get(msgid, msgid)
        await say(context, chat.id, context.t(msgid, **problem.values), message.message_id)
        return
    if as_style and session is not None:
        await state.set_session(chat.id, user.id, {**session, "awaiting_style": False},
                                since=context.arrived)
        await start_render(update, context, Render.new(
            user.id, chat.id, Subject.from_doc(session), style_photo=ref, origin="own"))
        return
    await new_content(context, chat_id=chat.id, user_id=user.id, ref=ref,
                      reply_to=message.message_id, ask_id=message.message_id)


def is_style(session: dict[str, Any] | None, ref: FileRef, update: Update,
             context: BotContext) -> bool:
    """Is this photo the style the user asked to send (🖼 "use my own style")? Any other
    photo is a new photo with its own keyboard."""
    if not session or not session.get("content") or not session.get("awaiting_style"):
        return False
    if session["content"].get("file_unique_id") == ref.file_unique_id:
        return False  # the same picture again: start over with it
    return is_private(update) or _replies_to_me(update, context)


async def _album_photo(update: Update, context: BotContext, ref: FileRef, group: str) -> None:
    """Two photos sent together: the first (lower message_id) is the content, the second
    the style. The updates may be handled at the same time, so they meet in the store and
    whichever completes the pair starts the painting. A third and later photo gets one
    line (once per album) saying only two are used."""
    message, chat, user = message_of(update), chat_of(update), user_of(update)
    state = context.bot_data.state
    mid = message.message_id
    joined = await state.album_join(user.id, group, mid, {"ref": ref.to_doc()},
                                    since=context.arrived)
    if joined is None or not await state.kept(user.id):
        return  # past its 24 h, or the user said /forget since this photo arrived
    album = joined
    if not album.get("starter"):
        deadline = time.monotonic() + ALBUM_WAIT
        while time.monotonic() < deadline and not album.get("starter"):
            await asyncio.sleep(0.2)
            album = await state.album(user.id, group) or album
        if not album.get("starter"):
            album = await state.album_claim_single(user.id, group, mid)
    pair = album.get("pair", [])
    if album.get("starter") != mid:
        if len(pair) == 1:  # the first went ahead alone: this one is a photo of its own
            await _single_photo(update, context, ref)
        elif mid not in pair and await state.album_tell_once(user.id, group):
            await say(context, chat.id, context.t(texts.ALBUM_EXTRA), mid)
        return
    if len(pair) == 1:
        await _single_photo(update, context, ref)
        return
    items = album["items"]
    content, style = (state.stamp(FileRef.from_doc(items[str(n)]["ref"]), context.arrived)
                      for n in pair[:2])
    subject = Subject(content, pair[0], pair[0])
    await state.set_session(chat.id, user.id, subject.to_doc(), since=context.arrived)
    await start_render(update, context, Render.new(user.id, chat.id, subject, style_photo=style,
                                                   origin="album"))


async def on_other(update: Update, context: BotContext) -> None:
    """Text, voice, files, unknown commands in a private chat: a gentle "send me a photo".
    (Groups: silence — it wasn't meant for me.)"""
    if is_private(update) and update.effective_message is not None:
        await say(context, chat_of(update).id, context.t(texts.SEND_A_PHOTO),
                  update.effective_message.message_id)
