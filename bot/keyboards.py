"""Inline keyboards.

A keyboard is first described as rows of `Button`s; `State.issue` stores the
buttons' actions under one random token and `markup` turns the rows into
Telegram buttons whose callback_data is ``"{action}:{token}.{n}"`` — short
(≤ 64 bytes), routed by its action prefix (bot/handlers/__init__.py) and checked
against the store when it comes back (the stored action must match the prefix).
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot import texts
from bot.i18n import Translator
from nst.brush import BRUSHES
from nst.preview import GRID_SIZE
from nst.protect import PROTECT_MODES

PER_PAGE = 8
LABEL_CHARS = 26   # a painting's title on its button, before "…"
ROW_CHARS = 36     # the labels of one row that a phone shows without cutting them
STRENGTHS = (25, 50, 75, 100)
MIX_SHARES = (25, 50, 75)   # % of the second painting in a mix

# Actions: the callback_data prefix and the first element of a stored button.
PICK, PAGE, RANDOM, OWN = "pick", "page", "random", "own"
STRENGTH, COLORS, ANOTHER, MIX, HD = "strength", "colors", "another", "mix", "hd"
MIX_SHARE = "share"
BRUSH = "brush"   # 🖌 cycles through nst.brush.BRUSHES
PROTECT = "protect"   # 🙂 cycles through nst.protect.PROTECT_MODES
GLANCE = "glance"     # 👀 9 at a glance: a page number, or RANDOM_PAGE
RANDOM_PAGE = -1
WEBAPP_PATH = "/app/"   # the Mini App's page (bot/webapp/routes.py)


def pattern(action: str) -> str:
    """The CallbackQueryHandler pattern of one action's buttons."""
    return f"^{action}:"


@dataclass(frozen=True)
class Button:
    text: str
    action: list[Any] | None = None      # [name, arg] stored behind the token
    switch_inline: str | None = None     # opens inline mode in a chat the user picks


Rows = list[list[Button]]


def width(label: str) -> int:
    """Characters a phone shows: bidi marks and joiners (format characters) take no room."""
    return sum(unicodedata.category(c) != "Cf" for c in label)


def pages(count: int) -> int:
    return max(1, math.ceil(count / PER_PAGE))


def short(title: str) -> str:
    """Cut long titles ("The Wreck of a Transport Ship (also known as …)") for buttons."""
    title = title.split(" (")[0]
    return title if len(title) <= LABEL_CHARS else title[:LABEL_CHARS - 1].rstrip() + "…"


def preset_rows(t: Translator, presets: Sequence[Any], page: int, *,
                own_style: bool = True, glance: bool = False) -> Rows:
    """Numbered presets (numbers match the /styles collage), titles in the user's language,
    two to a row where both fit a phone's row, paged; with `glance`, a 👀 button that
    shows 9 of them painted on the photo at once."""
    total = pages(len(presets))
    page %= total
    start = page * PER_PAGE
    rows = pair_up([Button(f"{number}. {short(t.title(preset.title))}", [PICK, preset.id])
                    for number, preset in enumerate(presets[start:start + PER_PAGE],
                                                    start=start + 1)])
    if total > 1:
        rows.append([Button(texts.BTN_PREV, [PAGE, (page - 1) % total]),
                     Button(texts.BTN_NEXT, [PAGE, (page + 1) % total])])
    extra = [Button(t(texts.BTN_RANDOM), [RANDOM, None])]
    if own_style:
        extra.append(Button(t(texts.BTN_OWN_STYLE), [OWN, None]))
    if glance:
        rows.append([Button(t(texts.BTN_GLANCE), [GLANCE, page * PER_PAGE // GRID_SIZE])])
    rows.append(extra)
    return rows


def pair_up(buttons: list[Button]) -> Rows:
    """Two buttons to a row when both labels fit half a row (Telegram gives the buttons of
    a row equal widths), else one."""
    rows: Rows = []
    while buttons:
        pair = buttons[:2]
        fits = len(pair) == 2 and all(2 * width(b.text) <= ROW_CHARS for b in pair)
        take = 2 if fits else 1
        rows.append(buttons[:take])
        buttons = buttons[take:]
    return rows


def glance_pages(count: int) -> int:
    return max(1, math.ceil(count / GRID_SIZE))


def glance_rows(t: Translator, preset_ids: Sequence[str], page: int, count: int) -> Rows:
    """Under a 👀 grid: 1–9 paint that tile's preset (as a pick from the list), ◀ ▶ the
    next 9 in preset order, 🎲 9 random ones."""
    numbers = [Button(str(n), [PICK, pid]) for n, pid in enumerate(preset_ids, start=1)]
    rows = [numbers[i:i + 3] for i in range(0, len(numbers), 3)]
    total = glance_pages(count)
    if total > 1 and page != RANDOM_PAGE:
        rows.append([Button(texts.BTN_PREV, [GLANCE, (page - 1) % total]),
                     Button(texts.BTN_NEXT, [GLANCE, (page + 1) % total])])
    rows.append([Button(t(texts.BTN_GLANCE_RANDOM), [GLANCE, RANDOM_PAGE])])
    return rows


def result_rows(t: Translator, strength: int, keep_colors: bool, share_query: str,
                mix_share: int | None = None, brush: str | None = None, *,
                hd: bool = True, protect: str | None = None) -> Rows:
    """Under a result: strength, (a mix's balance), colours and 🖌 brush, 🙂 faces (when a
    face was found: `protect` set), another style, mix, HD (not for clips), share."""
    strengths = [
        Button(t(texts.BTN_STRENGTH_CURRENT if pct == strength else texts.BTN_STRENGTH,
                 pct=pct), [STRENGTH, pct])
        for pct in STRENGTHS
    ]
    rows = [strengths]
    if mix_share is not None:
        rows.append([
            Button(t(texts.BTN_MIX_WEIGHT_CURRENT if share == mix_share else texts.BTN_MIX_WEIGHT,
                     first=100 - share, second=share), [MIX_SHARE, share])
            for share in reversed(MIX_SHARES)
        ])
    colors = texts.BTN_KEEP_COLORS_ON if keep_colors else texts.BTN_KEEP_COLORS_OFF
    return rows + [
        [Button(t(colors), [COLORS, not keep_colors]), *brush_button(t, brush)],
        *protect_row(t, protect),
        [Button(t(texts.BTN_ANOTHER), [ANOTHER, None]), Button(t(texts.BTN_MIX), [MIX, None])],
        [Button(t(texts.BTN_HD), [HD, None])] * hd
        + [Button(t(texts.BTN_SHARE), switch_inline=share_query)],
    ]


def brush_button(t: Translator, brush: str | None) -> list[Button]:
    """🖌 Brush: <current> — a tap moves on to the next brush."""
    if brush not in BRUSHES:
        return []
    after = BRUSHES[(BRUSHES.index(brush) + 1) % len(BRUSHES)]
    return [Button(t(texts.BTN_BRUSH, brush=t(texts.BRUSH_NAMES[brush])), [BRUSH, after])]


def protect_row(t: Translator, protect: str | None) -> Rows:
    """🙂 <current>: a tap moves on to the next of faces kept → person kept → painted."""
    if protect not in PROTECT_MODES:
        return []
    after = PROTECT_MODES[(PROTECT_MODES.index(protect) + 1) % len(PROTECT_MODES)]
    return [[Button(t(texts.BTN_PROTECT, mode=t(texts.PROTECT_NAMES[protect])), [PROTECT, after])]]


def actions(rows: Rows) -> list[list[Any]]:
    """The stored side: the action of every callback button, in order."""
    return [b.action for row in rows for b in row if b.action is not None]


def webapp_url(public_url: str, token: str) -> str:
    """The Mini App for one keyboard: only the random part of its token travels (the
    page's verified launch data says whose it is), never a file id or user id."""
    return f"{public_url.rstrip('/')}{WEBAPP_PATH}?t={token.split(':', 1)[-1]}"


def markup(rows: Rows, token: str, web_app: tuple[str, str] | None = None
           ) -> InlineKeyboardMarkup:
    """The Telegram side: callback buttons numbered in the same order as `actions`, each
    prefixed with its action for routing; `web_app` = (label, public URL) adds a last row
    opening the Mini App on this keyboard's photo (private chats only: Telegram's rule)."""
    index = 0
    keyboard = []
    for row in rows:
        buttons = []
        for b in row:
            if b.action is None:
                buttons.append(InlineKeyboardButton(b.text, switch_inline_query=b.switch_inline))
            else:
                data = f"{b.action[0]}:{token}.{index}"
                buttons.append(InlineKeyboardButton(b.text, callback_data=data))
                index += 1
        keyboard.append(buttons)
    if web_app is not None:
        label, public_url = web_app
        keyboard.append([InlineKeyboardButton(
            label, web_app=WebAppInfo(webapp_url(public_url, token)))])
    return InlineKeyboardMarkup(keyboard)
