"""The 3×3 preview: one photo painted in up to 9 presets, numbered tiles in one picture.

The whole grid must cost about one ordinary painting (issue 20), so everything that
can be shared is done once:

* the photo is decoded and brought down to the tile size once;
* the style codes come from the catalog's cached vectors (``Catalog.vectors``: one
  file read for all presets, no predictor run);
* every tile is painted at ``PAINT_SIDE`` (about half a bold brush's pass, so the
  strokes are bold relative to the tile) and resized to ``TILE_SIDE`` (plain Lanczos:
  at 1.25× the guided upsampling cost as much as the painting and showed nothing);
  all 9 passes have the same shape, so the backend prepares it once (OpenVINO's
  dynamic model, LiteRT's allocated tensors);
* faces are found once (whole picture: a face too small to find there is a few pixels
  in a tile) and their mask refined once, then blended into each tile.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nst.protect import blend, coarse_mask, refine

if TYPE_CHECKING:  # pragma: no cover
    from nst.engine import Engine

GRID_SIZE = 9
COLUMNS = 3
#: Long side of one tile: three across make a ~1200-px-wide picture of a landscape photo.
TILE_SIDE = 400
#: Long side of a tile's transformer pass (bench/RESULTS-portrait.md: 9 passes of this
#: size keep the whole preview within 1.5x one painting's time).
PAINT_SIDE = 320
GAP = 6
BACKGROUND = (255, 255, 255)


def tile_size(width: int, height: int, side: int = TILE_SIDE) -> tuple[int, int]:
    """(w, h) of a tile: the photo's aspect, long side ``side`` (never enlarged past the photo)."""
    side = min(side, max(width, height))
    s = side / max(width, height)
    return max(1, round(width * s)), max(1, round(height * s))


def _number(tile: Image.Image, n: int) -> None:
    """Draw ``n`` in a dark rounded badge in the tile's top-left corner."""
    draw = ImageDraw.Draw(tile)
    size = max(14, min(tile.size) // 6)
    font = ImageFont.load_default(size=size)
    pad = max(3, size // 4)
    x0, y0 = pad, pad
    box = draw.textbbox((0, 0), str(n), font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    side = max(w, h) + 2 * pad
    draw.rounded_rectangle((x0, y0, x0 + side, y0 + side), radius=side // 4, fill=(20, 20, 20))
    draw.text((x0 + (side - w) / 2 - box[0], y0 + (side - h) / 2 - box[1]), str(n),
              font=font, fill=(255, 255, 255))


def preview_grid(engine: "Engine", photo: Image.Image, styles: Sequence[str],
                 protect: str = "none", side: int = TILE_SIDE) -> Image.Image:
    """``photo`` painted in each preset of ``styles`` (1–9 ids, in order), numbered
    1…n, three tiles a row.  Raises StyleNotFound for an unknown id, ValueError for
    an empty or too long list."""
    from nst.engine import StyleOptions

    if not 1 <= len(styles) <= GRID_SIZE:
        raise ValueError(f"a preview has 1 to {GRID_SIZE} styles, not {len(styles)}")
    # every code in one catalog call (one cache read); an unknown id fails before any painting
    engine.catalog.vectors(engine.backend, list(styles))
    photo = photo if photo.mode == "RGB" else photo.convert("RGB")
    tw, th = tile_size(photo.width, photo.height, side)
    small = photo.resize((tw, th), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pw, ph = tile_size(tw, th, min(PAINT_SIDE, side))
    paint_in = small.resize((pw, ph), Image.Resampling.LANCZOS) if (pw, ph) != (tw, th) else small
    keep = None
    if protect != "none":
        coarse = coarse_mask(engine.subjects(photo, small_faces=False), protect)
        if coarse is not None:
            keep = refine(coarse, np.asarray(small))
    cols = min(COLUMNS, len(styles))
    rows = math.ceil(len(styles) / COLUMNS)
    grid = Image.new("RGB", (cols * tw + (cols - 1) * GAP, rows * th + (rows - 1) * GAP),
                     BACKGROUND)
    # fine: one pass at paint_in's own size; the resize to the tile is done here
    options = StyleOptions(max_side=max(pw, ph), brush="fine", protect="none")
    for i, style in enumerate(styles):
        tile = engine.stylize(paint_in, style, options)
        if paint_in is not small:
            tile = tile.resize(small.size, Image.Resampling.LANCZOS)
        if keep is not None:
            tile = Image.fromarray(blend(np.asarray(small), np.asarray(tile), keep), "RGB")
        _number(tile, i + 1)
        grid.paste(tile, ((i % COLUMNS) * (tw + GAP), (i // COLUMNS) * (th + GAP)))
    return grid


__all__ = ["preview_grid", "tile_size", "GRID_SIZE", "TILE_SIDE", "PAINT_SIDE"]
