"""python -m bench.contact_protect [--photo PATH ...] [--preset ID ...] [--side N] [--out FILE] [--docs]

The portrait contact sheet (issue 20): photos × presets (rows) × protect = none /
faces / person (columns side by side), each rendered at the bot's size and shown
scaled down — to choose ``nst.protect.DEFAULT_PROTECT`` by looking.  The README's copy:

    python -m bench.contact_protect --docs      # docs/protect-sheet.jpg
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from PIL import Image, ImageDraw

from bench.contact_sheet import GAP, font, photo_at, save_sheet, sheet_parser, warm_engine
from nst import Engine, StyleOptions
from nst.protect import PROTECT_MODES

log = logging.getLogger("bench.contact_protect")
REPO = Path(__file__).resolve().parents[1]
PORTRAITS = REPO / "tests" / "data" / "portraits"   # public-domain / CC0 (NOTICE)
DEFAULT_PHOTOS = (PORTRAITS / "astronaut.jpg", PORTRAITS / "hopper.jpg", PORTRAITS / "montage.jpg")
DOCS_PRESETS = ("the_scream", "starry_night", "great_wave", "composition_vii", "udnie")
CELL_H = 220
LABEL_W = 190
HEAD_H = 30
DOCS_WIDTH = 1400


def render_sheet(engine: Engine, photos: list[Path], side: int,
                 preset_ids: list[str]) -> Image.Image:
    contents = [photo_at(p, side) for p in photos]
    widths = [round(CELL_H * c.width / c.height) for c in contents]
    row_w = sum(3 * (w + GAP) + 3 * GAP for w in widths)
    sheet = Image.new("RGB", (LABEL_W + row_w, HEAD_H + len(preset_ids) * (CELL_H + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    x = LABEL_W
    for w in widths:
        for m, mode in enumerate(PROTECT_MODES):
            draw.text((x + m * (w + GAP) + 4, 4), mode, fill="black", font=font(20))
        x += 3 * (w + GAP) + 3 * GAP
    started = time.monotonic()
    for r, preset in enumerate(preset_ids):
        y = HEAD_H + r * (CELL_H + GAP)
        draw.text((6, y + 8), preset, fill="black", font=font(18))
        x = LABEL_W
        for content, w in zip(contents, widths):
            for mode in PROTECT_MODES:
                out = engine.stylize(content, preset, StyleOptions(max_side=side, protect=mode))
                sheet.paste(out.resize((w, CELL_H), Image.Resampling.LANCZOS), (x, y))
                x += w + GAP
            x += 3 * GAP
        log.info("%s done (%.0f s)", preset, time.monotonic() - started)
    return sheet


def main(argv: list[str] | None = None) -> int:
    args = sheet_parser("python -m bench.contact_protect", __doc__, "protect-sheet.png",
                        "the README's copy: docs/protect-sheet.jpg", DOCS_WIDTH).parse_args(argv)
    if args.docs:
        args.out = REPO / "docs" / "protect-sheet.jpg"
    sheet = render_sheet(warm_engine(), args.photo or list(DEFAULT_PHOTOS), args.side,
                         args.preset or list(DOCS_PRESETS))
    save_sheet(sheet, args.out, args.width)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
