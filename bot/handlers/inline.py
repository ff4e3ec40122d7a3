"""Inline mode: "@bot" in any chat offers the user's recent paintings."""
from __future__ import annotations

from typing import Any

from telegram import (InlineQueryResultCachedMpeg4Gif, InlineQueryResultCachedPhoto,
                      InlineQueryResultsButton, Update)

from bot import texts
from bot.context import BotContext


async def on_inline_query(update: Update, context: BotContext) -> None:
    """Typing @bot shows your latest paintings, ready to send (↗ Share pre-fills the one
    you shared), captioned with the painting and the bot — nothing personal. Nothing yet:
    a button that opens the bot to make the first one."""
    query = update.inline_query
    if query is None:
        return
    recent = await context.bot_data.state.recent_results(query.from_user.id)
    wanted = query.query.strip()
    chosen = [(rid, doc) for rid, doc in recent if rid == wanted]
    results = [
        InlineQueryResultCachedMpeg4Gif(  # painted clips
            id=rid, mpeg4_file_id=doc["file_id"],
            title=_title(context, doc), caption=doc.get("caption"))
        if doc.get("kind") == "animation" else
        InlineQueryResultCachedPhoto(
            id=rid, photo_file_id=doc["file_id"],
            title=_title(context, doc), caption=doc.get("caption"))
        for rid, doc in (chosen or recent)
    ]
    button = None if results else InlineQueryResultsButton(
        text=context.t(texts.INLINE_EMPTY_BUTTON), start_parameter="inline")
    await query.answer(results, cache_time=0, is_personal=True, button=button)


def _title(context: BotContext, doc: dict[str, Any]) -> str:
    """The painting's title in the user's language, or "Your painting"."""
    title = doc.get("title")
    return context.t.title(title) if title else context.t(texts.INLINE_RESULT_TITLE)
