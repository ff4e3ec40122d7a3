"""The /styles gallery: one collage of every preset, numbered like the keyboard.

Drawing it costs a few hundred milliseconds, so it is drawn once per catalog,
sent once, and afterwards only Telegram's file_id is sent again.
"""
from __future__ import annotations

import hashlib
import math
import unicodedata
from typing import Any, Callable, Sequence

from PIL import Image, ImageDraw, ImageFont, ImageOps

TILE_W, TILE_H = 256, 192
LABEL_H = 44
GAP = 8
BACKGROUND = (24, 24, 28)
TEXT = (245, 245, 245)
BADGE = (230, 80, 60)
CAPTION_LIMIT = 1024   # Bot API: a photo's caption, after entity parsing


def cache_key(presets: Sequence[Any]) -> str:
    """Changes whenever the catalog's ids or titles change, so a stale collage is not reused."""
    digest = hashlib.sha1("|".join(f"{p.id}={p.title}" for p in presets).encode()).hexdigest()
    return f"gallery:{digest[:16]}"


def legend(caption: str, lines: Sequence[str], limit: int = CAPTION_LIMIT) -> str:
    """`caption` and below it one line per painting ("1. Звёздная ночь"), as many as fit
    Telegram's caption limit: the collage's built-in font draws Latin titles only."""
    text = caption + "\n"
    for line in lines:
        if _length(f"{text}\n{line}\n…") > limit:
            return text + "\n…"
        text += "\n" + line
    return text


def _length(text: str) -> int:
    """Telegram counts UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    """Shorten with an ellipsis until it fits the tile.

    Accents are folded ("Rhône" → "Rhone"): Pillow's built-in font, the only one
    sure to exist on App Engine, has no glyphs for them and would draw boxes.
    """
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def render_collage(presets: Sequence[Any], image_of: Callable[[str], Image.Image]) -> Image.Image:
    """A grid of thumbnails, each with a number badge and the painting's title."""
    count = len(presets)
    cols = max(1, min(5, math.ceil(math.sqrt(count * 1.2))))
    rows = max(1, math.ceil(count / cols))
    cell_h = TILE_H + LABEL_H
    sheet = Image.new("RGB", (GAP + cols * (TILE_W + GAP), GAP + rows * (cell_h + GAP)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    title_font = ImageFont.load_default(size=18)
    number_font = ImageFont.load_default(size=24)
    for i, preset in enumerate(presets):
        x = GAP + (i % cols) * (TILE_W + GAP)
        y = GAP + (i // cols) * (cell_h + GAP)
        thumb = ImageOps.fit(image_of(preset.id).convert("RGB"), (TILE_W, TILE_H))
        sheet.paste(thumb, (x, y))
        number = str(i + 1)
        badge_w = int(draw.textlength(number, font=number_font)) + 16
        draw.rounded_rectangle((x + 6, y + 6, x + 6 + badge_w, y + 38), radius=8, fill=BADGE)
        draw.text((x + 14, y + 9), number, font=number_font, fill=TEXT)
        title = _fit_text(draw, preset.title, title_font, TILE_W - 4)
        draw.text((x + 2, y + TILE_H + 4), title, font=title_font, fill=TEXT)
        artist = _fit_text(draw, f"{preset.artist}, {preset.year}", title_font, TILE_W - 4)
        draw.text((x + 2, y + TILE_H + 23), artist, font=title_font, fill=(170, 170, 180))
    return sheet
