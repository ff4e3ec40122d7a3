"""Inline buttons: painting picks, pages, and the tweaks under a result."""
from __future__ import annotations

import logging
import secrets
from typing import Any, Awaitable, Callable

from telegram import ForceReply, Update
from telegram.ext import ContextTypes

from bot import keyboards as kb
from bot import texts
from bot.handlers.common import (answer, is_private, offer_presets, preset_title, presets, say,
                                 services)
from bot.handlers.render import new_render, run_safely, start_render

log = logging.getLogger(__name__)

Action = Callable[[Update, ContextTypes.DEFAULT_TYPE, dict[str, Any], Any], Awaitable[None]]


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any button: stale or foreign buttons get a short notice and nothing else happens;
    otherwise the spinner stops at once and the action runs."""
    query = update.callback_query
    found = await services(context).state.redeem(query.data)
    if (found is None or query.message is None
            or found[0].get("chat") != query.message.chat.id):
        log.info("user %s: expired or unknown button", query.from_user.id)
        await answer(update, texts.BUTTON_EXPIRED)
        return
    doc, (action, arg) = found
    if doc.get("user") != query.from_user.id:
        await answer(update, texts.NOT_YOUR_BUTTON)
        return
    handler = ACTIONS.get(action)
    if handler is None:
        await answer(update, texts.BUTTON_EXPIRED)
        return
    await handler(update, context, doc, arg)


async def _pick(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                preset_id: str) -> None:
    """A painting: the photo comes back painted, as a reply to it."""
    await answer(update)
    ctx = doc["ctx"]
    if "base" in ctx:  # the ➕ mix keyboard: same picture and style, plus this painting
        base = await services(context).state.render(doc["user"], ctx["base"])
        if base is None:
            await say(context, doc["chat"], texts.PHOTO_GONE, ctx.get("ask"))
            return
        keep = ("user", "chat", "content", "reply_to", "ask", "style", "strength",
                "keep_colors", "origin")
        render = {**{k: base[k] for k in keep}, "mix": preset_id, "brush": base.get("brush")}
    else:
        render = new_render(doc["user"], doc["chat"], ctx, {"preset": preset_id}, "preset")
        session = await services(context).state.session(doc["chat"], doc["user"])
        if session and session.get("content") == ctx["content"]:
            await services(context).state.set_session(doc["chat"], doc["user"],
                                                      {**session, "styled": True})
    await start_render(update, context, render)


async def _random(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                  _: Any) -> None:
    """🎲: a painting chosen for you (never the one already in a mix)."""
    exclude = doc["ctx"].get("base_style")
    choices = [p.id for p in presets(context) if p.id != exclude] or [exclude]
    await _pick(update, context, doc, secrets.choice(choices))


async def _page(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                page: int) -> None:
    """◀ ▶: the same message shows the next page of paintings."""
    await answer(update)
    await offer_presets(context, chat_id=doc["chat"], user_id=doc["user"], ctx=doc["ctx"],
                        reply_to=None, page=int(page), edit=update.callback_query.message)


async def _own_style(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                     _: Any) -> None:
    """🖼: "send me the style photo" (in groups: "reply to this message with it")."""
    await answer(update)
    ctx = doc["ctx"]
    await services(context).state.set_session(doc["chat"], doc["user"],
                                              {**ctx, "awaiting_style": True, "styled": False})
    if is_private(update):
        await say(context, doc["chat"], texts.SEND_STYLE)
    else:  # privacy mode: the bot only sees replies to its own messages
        await say(context, doc["chat"], texts.SEND_STYLE_GROUP, ctx.get("ask"),
                  reply_markup=ForceReply(selective=True))


async def _rerender(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                    changes: dict[str, Any]) -> None:
    """Change settings of a result and edit it in place with the new painting."""
    state = services(context).state
    current = await state.render(doc["user"], doc["ctx"]["rid"])
    if current is None:
        await answer(update, texts.BUTTON_EXPIRED)
        return
    if all(current.get(k) == v for k, v in changes.items()):
        await answer(update, texts.ALREADY_THAT)
        return
    await answer(update)
    render = await state.change_render(doc["user"], doc["ctx"]["rid"], changes)
    if render is None:
        await say(context, doc["chat"], texts.PHOTO_GONE)
        return
    await run_safely(update, context, render, "edit")


async def _strength(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                    pct: int) -> None:
    """25 / 50 / 75 / 100 %: how much of the painting goes into the photo."""
    if int(pct) not in kb.STRENGTHS:
        await answer(update, texts.BUTTON_EXPIRED)
        return
    await _rerender(update, context, doc, {"strength": int(pct)})


async def _colors(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                  keep: bool) -> None:
    """🎨 on/off: keep the photo's own colours, take only the brushwork."""
    await _rerender(update, context, doc, {"keep_colors": bool(keep)})


async def _brush(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                 brush: str) -> None:
    """🖌 bold → medium → fine: the size of the brush strokes, repainted in place."""
    if brush not in kb.BRUSHES:
        await answer(update, texts.BUTTON_EXPIRED)
        return
    await _rerender(update, context, doc, {"brush": brush})


async def _with_render(update: Update, context: ContextTypes.DEFAULT_TYPE,
                       doc: dict[str, Any]) -> dict[str, Any] | None:
    """The render behind a result keyboard, or None after telling the user it expired."""
    render = await services(context).state.render(doc["user"], doc["ctx"]["rid"])
    await answer(update, None if render else texts.BUTTON_EXPIRED)
    return render


async def _another(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
                   _: Any) -> None:
    """🔁: the painting keyboard again, for the same photo."""
    render = await _with_render(update, context, doc)
    if render:
        ctx = {k: render[k] for k in ("content", "reply_to", "ask")}
        await services(context).state.set_session(doc["chat"], doc["user"],
                                                  {**ctx, "styled": False})
        await offer_presets(context, chat_id=doc["chat"], user_id=doc["user"], ctx=ctx,
                            reply_to=render["ask"])


async def _mix(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
               _: Any) -> None:
    """➕: pick a second painting to blend with this result's style."""
    render = await _with_render(update, context, doc)
    if render:
        base_style = render["style"].get("preset")
        ctx = {"content": render["content"], "reply_to": render["reply_to"],
               "ask": render["ask"], "base": render["rid"], "base_style": base_style,
               "base_title": preset_title(context, base_style)}
        await offer_presets(context, chat_id=doc["chat"], user_id=doc["user"], ctx=ctx,
                            reply_to=render["ask"])


async def _hd(update: Update, context: ContextTypes.DEFAULT_TYPE, doc: dict[str, Any],
              _: Any) -> None:
    """⬇ HD: the same painting at full resolution (up to 4096 px) as a JPEG file."""
    render = await _with_render(update, context, doc)
    if render:
        await run_safely(update, context, render, "hd")


ACTIONS: dict[str, Action] = {
    kb.PICK: _pick, kb.RANDOM: _random, kb.PAGE: _page, kb.OWN: _own_style,
    kb.STRENGTH: _strength, kb.COLORS: _colors, kb.ANOTHER: _another, kb.MIX: _mix,
    kb.HD: _hd, kb.BRUSH: _brush,
}
