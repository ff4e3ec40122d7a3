"""Inline buttons: painting picks, pages, and the tweaks under a result.

Each action has its own handler, routed by the callback_data prefix in
bot/handlers/__init__.py; `pressed` checks the button against the store first.
"""
from __future__ import annotations

import functools
import logging
import secrets
from typing import Any, Callable, Coroutine

from telegram import ForceReply, Update

from bot import keyboards as kb
from bot import texts
from bot.context import BotContext
from bot.handlers.common import answer, is_private, offer_presets, preset_title, query_of, say
from bot.handlers.render import run_safely, start_render
from bot.painting import PREVIEW_SIDE
from bot.records import Render, Subject

log = logging.getLogger(__name__)

Action = Callable[[Update, BotContext, dict[str, Any], Any], Coroutine[Any, Any, None]]
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def pressed(action: Action) -> Handler:
    """Stale, forged or foreign buttons get a short notice and nothing else happens;
    otherwise `action` runs with the keyboard's stored doc and the button's argument."""
    @functools.wraps(action)
    async def handler(update: Update, context: BotContext) -> None:
        query = query_of(update)
        found = await context.bot_data.state.redeem(query.data)
        if (found is None or query.message is None
                or found[0].get("chat") != query.message.chat.id):
            await expired(update, context)
            return
        doc, (_, arg) = found
        if doc.get("user") != query.from_user.id:
            await answer(update, context.t(texts.NOT_YOUR_BUTTON))
            return
        await action(update, context, doc, arg)

    return handler


async def expired(update: Update, context: BotContext) -> None:
    """A button I no longer know (or never made): "this button has expired"."""
    log.info("user %s: expired or unknown button", query_of(update).from_user.id)
    await answer(update, context.t(texts.BUTTON_EXPIRED))


async def _pick(update: Update, context: BotContext, doc: dict[str, Any],
                preset_id: str) -> None:
    """A painting: the photo comes back painted, as a reply to it."""
    await answer(update)
    ctx, state = doc["ctx"], context.bot_data.state
    if "base" in ctx:  # the ➕ mix keyboard: same picture and style, plus this painting
        base = await state.render(doc["user"], ctx["base"])
        if base is None:
            await say(context, doc["chat"], context.t(texts.PHOTO_GONE), ctx.get("ask"))
            return
        render = base.with_mix(preset_id)
    else:
        render = Render.new(doc["user"], doc["chat"], Subject.from_doc(ctx), preset=preset_id)
    await start_render(update, context, render)


pick = pressed(_pick)


@pressed
async def random_pick(update: Update, context: BotContext, doc: dict[str, Any], _: Any) -> None:
    """🎲: a painting chosen for you (never the one already in a mix)."""
    exclude = doc["ctx"].get("base_style")
    choices = [p.id for p in context.bot_data.presets() if p.id != exclude] or [exclude]
    await _pick(update, context, doc, secrets.choice(choices))


@pressed
async def page(update: Update, context: BotContext, doc: dict[str, Any], number: int) -> None:
    """◀ ▶: the same message shows the next page of paintings."""
    await answer(update)
    await offer_presets(context, chat_id=doc["chat"], user_id=doc["user"], ctx=doc["ctx"],
                        reply_to=None, page=int(number), edit=query_of(update).message)


@pressed
async def own_style(update: Update, context: BotContext, doc: dict[str, Any], _: Any) -> None:
    """🖼: "send me the style photo" (in groups: "reply to this message with it"); the next
    photo becomes the style of this one."""
    await answer(update)
    ctx = doc["ctx"]
    await context.bot_data.state.set_session(doc["chat"], doc["user"],
                                             {**ctx, "awaiting_style": True},
                                             since=context.arrived)
    if is_private(update):
        await say(context, doc["chat"], context.t(texts.SEND_STYLE))
    else:  # privacy mode: the bot only sees replies to its own messages
        await say(context, doc["chat"], context.t(texts.SEND_STYLE_GROUP), ctx.get("ask"),
                  reply_markup=ForceReply(selective=True))


async def _rerender(update: Update, context: BotContext, doc: dict[str, Any],
                    **changes: Any) -> None:
    """Change settings of a result and edit it in place with the new painting."""
    state = context.bot_data.state
    current = await state.render(doc["user"], doc["ctx"]["rid"])
    if current is None:
        await answer(update, context.t(texts.BUTTON_EXPIRED))
        return
    if all(getattr(current, k) == v for k, v in changes.items()):
        await answer(update, context.t(texts.ALREADY_THAT))
        return
    await answer(update)
    render = await state.change_render(doc["user"], doc["ctx"]["rid"], since=context.arrived,
                                       **changes)
    if render is None:
        await say(context, doc["chat"], context.t(texts.PHOTO_GONE))
        return
    await run_safely(update, context, render, "edit")


@pressed
async def strength(update: Update, context: BotContext, doc: dict[str, Any], pct: int) -> None:
    """25 / 50 / 75 / 100 %: how much of the painting goes into the photo."""
    if int(pct) not in kb.STRENGTHS:
        await expired(update, context)
        return
    await _rerender(update, context, doc, strength=int(pct))


@pressed
async def mix_share(update: Update, context: BotContext, doc: dict[str, Any],
                    share: int) -> None:
    """75/25 · 50/50 · 25/75 under a mix: how much of each painting."""
    if int(share) not in kb.MIX_SHARES:
        await expired(update, context)
        return
    await _rerender(update, context, doc, mix_share=int(share))


@pressed
async def colors(update: Update, context: BotContext, doc: dict[str, Any], keep: bool) -> None:
    """🎨 on/off: keep the photo's own colours, take only the brushwork."""
    await _rerender(update, context, doc, keep_colors=bool(keep))


@pressed
async def brush(update: Update, context: BotContext, doc: dict[str, Any], name: str) -> None:
    """🖌 bold → medium → fine: the size of the brush strokes, repainted in place."""
    if name not in kb.BRUSHES:
        await expired(update, context)
        return
    await _rerender(update, context, doc, brush=name)


@pressed
async def protect(update: Update, context: BotContext, doc: dict[str, Any], mode: str) -> None:
    """🙂 faces kept → person kept → faces painted: what of the people stays as in the
    photo, repainted in place (shown only when a face was found)."""
    if mode not in kb.PROTECT_MODES:
        await expired(update, context)
        return
    await _rerender(update, context, doc, protect=mode)


async def _with_render(update: Update, context: BotContext,
                       doc: dict[str, Any]) -> Render | None:
    """The render behind a result keyboard, or None after telling the user it expired."""
    render = await context.bot_data.state.render(doc["user"], doc["ctx"]["rid"])
    if render is None:
        await answer(update, context.t(texts.BUTTON_EXPIRED))
    return render


@pressed
async def another(update: Update, context: BotContext, doc: dict[str, Any], _: Any) -> None:
    """🔁: the painting keyboard again, for the same photo."""
    render = await _with_render(update, context, doc)
    if render:
        await answer(update)
        await offer_presets(context, chat_id=doc["chat"], user_id=doc["user"],
                            ctx=render.subject.to_doc(), reply_to=render.ask)


@pressed
async def mix(update: Update, context: BotContext, doc: dict[str, Any], _: Any) -> None:
    """➕: pick a second painting to blend with this result's style."""
    render = await _with_render(update, context, doc)
    if render:
        await answer(update)
        ctx = {**render.subject.to_doc(), "base": render.rid, "base_style": render.preset,
               "base_title": preset_title(context, render.preset)}
        await offer_presets(context, chat_id=doc["chat"], user_id=doc["user"], ctx=ctx,
                            reply_to=render.ask)


@pressed
async def hd(update: Update, context: BotContext, doc: dict[str, Any], _: Any) -> None:
    """⬇ HD: the same painting at full resolution (up to 4096 px) as a JPEG file. A photo
    Telegram already shrank has nothing more to give: a pop-up says to send it as a file."""
    render = await _with_render(update, context, doc)
    if not render:
        return
    content = render.content
    if content.kind == "photo" and 0 < (content.side or 0) <= PREVIEW_SIDE:
        await answer(update, context.t(texts.HD_NEEDS_FILE), alert=True)
        return
    await answer(update)
    await run_safely(update, context, render, "hd")
