"""Helpers every handler shares: which messages are clips, replies, the painting keyboard."""
from __future__ import annotations

import logging
from html import escape
from typing import Any, TypeVar

from telegram import CallbackQuery, Chat, MaybeInaccessibleMessage, Message, Update, User
from telegram.ext import filters
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import keyboards, texts
from bot.context import BotContext
from bot.intake import arrival_problem, classify
from bot.records import FileRef, Subject
from bot.telegram_io import ProbablyDelivered, reply_text, with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")

class _Clips(filters.MessageFilter):
    """Messages whose file bot.intake.classify calls a clip (GIFs, animations, videos,
    round videos, GIF and video files)."""

    def filter(self, message: Message) -> bool:
        ref = classify(message)
        return ref is not None and ref.is_clip


CLIPS = _Clips(name="CLIPS")


def _present(value: T | None, update: Update, what: str) -> T:
    if value is None:
        raise ValueError(f"update {update.update_id} carries no {what}")
    return value


def message_of(update: Update) -> Message:
    """The message of an update a message handler got (its filter guarantees one)."""
    return _present(update.effective_message, update, "message")


def chat_of(update: Update) -> Chat:
    """The chat of an update that came from a chat (messages, button presses)."""
    return _present(update.effective_chat, update, "chat")


def user_of(update: Update) -> User:
    """Who sent the update (every message, press or inline query has a sender here)."""
    return _present(update.effective_user, update, "sender")


def query_of(update: Update) -> CallbackQuery:
    """The button press a callback query handler got."""
    return _present(update.callback_query, update, "button press")


def is_private(update: Update) -> bool:
    """A one-to-one chat with the bot."""
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def preset_title(context: BotContext, preset_id: str | None) -> str:
    for p in context.bot_data.presets():
        if p.id == preset_id:
            return p.title
    return context.t(texts.OWN_STYLE_TITLE)


async def say(context: BotContext, chat_id: int, text: str,
              reply_to: int | None = None, **kwargs: Any) -> Message | None:
    """Send a short message; if even that fails, log it (there is nobody else to tell)."""
    try:
        return await reply_text(context.bot, chat_id, text, reply_to, **kwargs)
    except ProbablyDelivered:
        return None  # logged where it happened; the user has the message
    except Exception:
        log.exception("could not send a message to chat %s", chat_id)
        return None


async def arrival_refused(context: BotContext, ref: FileRef, chat_id: int, reply_to: int) -> bool:
    """Check a photo or clip as it arrives (bot.intake); True once the user was told, in a
    reply to `reply_to`, why it cannot be painted."""
    problem = await arrival_problem(context.bot, ref, context.bot_data.arrivals)
    if problem is None:
        return False
    await say(context, chat_id, context.t(problem.user_message, **problem.values), reply_to)
    return True


async def offer_presets(context: BotContext, *, chat_id: int, user_id: int,
                        ctx: dict[str, Any], reply_to: int | None, page: int = 0,
                        edit: MaybeInaccessibleMessage | None = None) -> None:
    """Show (or page) the painting keyboard; `ctx` says what a pick applies to."""
    svc, t = context.bot_data, context.t
    all_presets = svc.presets()
    mixing = "base" in ctx
    # 👀 9 at a glance: for a picture (not a clip, not while choosing a mix's second painting)
    glance = not mixing and ctx.get("content", {}).get("kind") != "clip"
    rows = keyboards.preset_rows(t, all_presets, page, own_style=not mixing, glance=glance)
    token = await svc.state.issue(chat_id, user_id, ctx, keyboards.actions(rows),
                                  since=context.arrived)
    if not await svc.state.kept(user_id):
        return  # the user said /forget since this update came: its photo is not kept
    total = keyboards.pages(len(all_presets))
    if ctx.get("content", {}).get("kind") == "clip" and not mixing:
        text = t(texts.CHOOSE_STYLE_CLIP)
    elif mixing:
        title = ctx.get("base_title") or t(texts.OWN_STYLE_TITLE)
        text = t(texts.CHOOSE_MIX, title=escape(t.title(title)))
    elif total > 1:
        text = t(texts.CHOOSE_STYLE_PAGE, page=page % total + 1, pages=total)
    else:
        text = t(texts.CHOOSE_STYLE)
    markup = keyboards.markup(rows, token, _web_app(context, chat_id, user_id, ctx))
    if edit is not None:  # by ids: an old message may come back "inaccessible"
        await with_retries(lambda: context.bot.edit_message_text(
            text, chat_id=edit.chat.id, message_id=edit.message_id, reply_markup=markup),
            what="editMessageText")
    else:
        await reply_text(context.bot, chat_id, text, reply_to, reply_markup=markup)


def _web_app(context: BotContext, chat_id: int, user_id: int,
             ctx: dict[str, Any]) -> tuple[str, str] | None:
    """The Mini App button's (label, base URL) for a photo's painting keyboard in a private
    chat (a private chat's id is its user's id), when BOT_PUBLIC_URL is set; not for mixes
    or clips."""
    public_url = context.bot_data.config.public_url
    content = ctx.get("content") or {}
    if (not public_url or chat_id != user_id or "base" in ctx
            or content.get("kind") == "clip"):
        return None
    return context.t(texts.WEBAPP_OPEN), public_url


async def new_content(context: BotContext, *, chat_id: int, user_id: int,
                      ref: FileRef, reply_to: int, ask_id: int) -> None:
    """A photo to paint: remember it (for "use my own style"), show the paintings."""
    state = context.bot_data.state
    ctx = Subject(state.stamp(ref, context.arrived), reply_to, ask_id).to_doc()
    if not await state.set_session(chat_id, user_id, ctx, since=context.arrived):
        return  # not kept (past its 24 h; outside an update, a /forget): nothing shown
    await offer_presets(context, chat_id=chat_id, user_id=user_id, ctx=ctx, reply_to=ask_id)


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Stop the button's spinner (with an optional short notice).

    Never fatal: Telegram refuses to answer a query twice or after ~15 minutes
    ("query is too old"), which is exactly what a resent webhook update carries —
    the work behind the button must still happen.
    """
    try:
        await query_of(update).answer(text, show_alert=alert)
    except TelegramError as exc:
        log.info("could not answer callback query: %s", exc)
