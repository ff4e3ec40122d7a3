"""Inline mode: "@bot" in any chat offers the user's recent paintings."""
from __future__ import annotations

from telegram import (InlineQueryResultCachedMpeg4Gif, InlineQueryResultCachedPhoto,
                      InlineQueryResultsButton, Update)
from telegram.ext import ContextTypes

from bot import texts
from bot.handlers.common import services


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Typing @bot shows your latest paintings, ready to send (↗ Share pre-fills the one
    you shared). Nothing yet: a button that opens the bot to make the first one."""
    query = update.inline_query
    recent = await services(context).state.recent_results(query.from_user.id)
    wanted = query.query.strip()
    chosen = [(rid, doc) for rid, doc in recent if rid == wanted]
    results = [
        InlineQueryResultCachedMpeg4Gif(id=rid, mpeg4_file_id=doc["file_id"],  # painted clips
                                        title=texts.INLINE_RESULT_TITLE,
                                        caption=doc.get("caption"), parse_mode="HTML")
        if doc.get("kind") == "animation" else
        InlineQueryResultCachedPhoto(id=rid, photo_file_id=doc["file_id"],
                                     title=texts.INLINE_RESULT_TITLE,
                                     caption=doc.get("caption"), parse_mode="HTML")
        for rid, doc in (chosen or recent)
    ]
    button = None if results else InlineQueryResultsButton(text=texts.INLINE_EMPTY_BUTTON,
                                                           start_parameter="inline")
    await query.answer(results, cache_time=0, is_personal=True, button=button)
