"""The words under a painting: which painting (or photo) gave the style, the settings,
and the shorter caption of a result shared through inline mode (nothing personal)."""
from __future__ import annotations

from html import escape
from typing import Sequence

from bot import texts
from bot.i18n import ENGLISH, Translator
from bot.records import Render
from nst.catalog import Preset


def _style_line(render: Render, all_presets: Sequence[Preset], t: Translator, *,
                shared: bool = False) -> str:
    """Which painting(s) — or which photo — gave the style. `shared`: nothing personal."""
    by_id = {p.id: p for p in all_presets}
    preset = by_id.get(render.preset or "")
    mix = by_id.get(render.mix or "")
    if preset is None and (shared or mix is None):
        if shared:
            return t(texts.SHARED_OWN_STYLE)
        return t(texts.CAPTION_ALBUM if render.origin == "album" else texts.CAPTION_OWN_STYLE)
    if mix is not None:
        first = t.title(preset.title) if preset else t(texts.OWN_STYLE_TITLE)
        return t(texts.CAPTION_MIX, title=escape(first), mix_title=escape(t.title(mix.title)))
    assert preset is not None
    year: int | str = int(preset.year) if str(preset.year).isdigit() else preset.year  # ۱۸۸۹ in fa
    return t(texts.CAPTION_PRESET, title=escape(t.title(preset.title)),
             artist=escape(t.artist(preset.artist)), year=year)


def caption(render: Render, all_presets: Sequence[Preset], t: Translator = ENGLISH, *,
            brush: str | None = None, protect: str | None = None) -> str:
    """Title, artist and year of the painting (or which photo was the style) + settings,
    and `brush`, the brush it was painted with (None for a clip: no brush to offer), and
    `protect`, what it kept of faces (None: no face found)."""
    settings = texts.CAPTION_SETTINGS_COLORS if render.keep_colors else texts.CAPTION_SETTINGS
    line = t(settings, pct=render.strength)
    if render.mix:
        share = render.mix_share
        line += " · " + t(texts.CAPTION_MIX_WEIGHTS, first=100 - share, second=share)
    if brush:
        line += " · " + t(texts.CAPTION_BRUSH, brush=t(texts.BRUSH_NAMES[brush]))
    if protect:
        line += " · " + t(texts.BTN_PROTECT, mode=t(texts.PROTECT_NAMES[protect]))
    return "\n".join([_style_line(render, all_presets, t), line])


def shared_caption(render: Render, all_presets: Sequence[Preset], t: Translator,
                   bot_username: str) -> str:
    """The caption of a result shared through inline mode: the painting and the bot."""
    return "\n".join([_style_line(render, all_presets, t, shared=True),
                      t(texts.SHARED_BY, bot=f"@{bot_username}")])
