"""python -m bench.contact_sheet [--photo PATH ...] [--preset ID ...] [--side N] [--out FILE] [--width W]

The brush contact sheet: presets (rows) × each photo × bold / medium / fine
(columns, the three brushes of one photo side by side), each rendered at the bot's
preview size and shown scaled down — to choose the default brush by looking
(issue 16).  Each row names the preset's default brush.  Writes a PNG (full size)
or, for a .jpg --out, a JPEG scaled to --width.  The README's copy:

    python -m bench.contact_sheet --docs

Default photos: the EXIF test photo (1800 px) and two of Magenta's 256 px content
photos, enlarged first (so those two look soft; the stroke size is what to compare).

Under the (scaled) sheet, rows of 1:1 crops (``--crop-preset``, default the README's
CROP_PRESETS): the same region of each brush's render at its real pixels — stroke
edges, text and strong edges up close (issue 22).
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from nst import Engine, EngineConfig, StyleOptions, load_image
from nst.brush import BRUSHES

log = logging.getLogger("bench.contact_sheet")
REPO = Path(__file__).resolve().parents[1]
TESTDATA = REPO / "tests" / "data"   # vendored test photos (licences in NOTICE)
DEFAULT_PHOTOS = (TESTDATA / "exif" / "Landscape_0.jpg",
                  TESTDATA / "magenta" / "content" / "golden_gate_sq.jpg",
                  TESTDATA / "magenta" / "content" / "colva_beach_sq.jpg")
CELL_H = 240          # pixels of one thumbnail's height on the full sheet
LABEL_W = 230         # the preset-name column
HEAD_H = 56           # the photo / brush header
GAP = 6
#: The README's copy (docs/brush-sheet.jpg): one photo, presets of both default brushes.
DOCS_PRESETS = ("starry_night", "great_wave", "the_scream", "udnie", "composition_vii",
                "tree_of_life", "grande_jatte", "water_lilies")
DOCS_WIDTH = 1000
JPEG_QUALITY = 70
#: The 1:1 rows: presets, and the region's centre as a fraction of the render (the
#: test photo's "bottom" label, the waterfall's foot and the river bank).
CROP_PRESETS = ("the_scream", "starry_night")
CROP_CENTRE = (0.55, 0.90)


def photo_at(path: Path, side: int) -> Image.Image:
    """The photo with its long side = ``side`` (small photos are enlarged first)."""
    img = load_image(path)
    scale = side / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)),
                      Image.Resampling.LANCZOS)


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def render_sheet(engine: Engine, photos: list[Path], side: int,
                 preset_ids: list[str] | None = None) -> Image.Image:
    contents = [photo_at(p, side) for p in photos]
    widths = [round(CELL_H * c.width / c.height) for c in contents]
    presets = [p for p in engine.catalog.presets() if not preset_ids or p.id in preset_ids]
    sheet_w = LABEL_W + sum(3 * (w + GAP) + 3 * GAP for w in widths)
    sheet = Image.new("RGB", (sheet_w, HEAD_H + len(presets) * (CELL_H + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    x = LABEL_W
    for path, w in zip(photos, widths):
        draw.text((x, 4), path.name, fill="black", font=font(18))
        for b, brush in enumerate(BRUSHES):
            draw.text((x + b * (w + GAP), 30), brush, fill="black", font=font(20))
        x += 3 * (w + GAP) + 3 * GAP
    started = time.monotonic()
    for r, preset in enumerate(presets):
        y = HEAD_H + r * (CELL_H + GAP)
        title = preset.title.split(" (")[0]
        draw.text((6, y + 8), preset.id, fill="black", font=font(18))
        draw.text((6, y + 34), title[:26], fill="dimgray", font=font(15))
        draw.text((6, y + 60), f"default: {engine.default_brush(preset.id)}", fill="black",
                  font=font(17))
        x = LABEL_W
        for content, w in zip(contents, widths):
            for brush in BRUSHES:
                out = engine.stylize(content, preset.id, StyleOptions(max_side=side, brush=brush))
                sheet.paste(out.resize((w, CELL_H), Image.Resampling.LANCZOS), (x, y))
                x += w + GAP
            x += 3 * GAP
        log.info("%s done (%.0f s)", preset.id, time.monotonic() - started)
    return sheet


def crop_rows(engine: Engine, photo: Path, side: int, preset_ids: list[str], width: int) -> Image.Image:
    """Rows of 1:1 crops (one per preset, the three brushes side by side), ``width`` wide."""
    content = photo_at(photo, side)
    label_w = LABEL_W * width // (LABEL_W + 3 * 400)
    cell_w = (width - label_w - 3 * GAP) // 3
    cell_h = cell_w * 2 // 3
    rows = Image.new("RGB", (width, HEAD_H + len(preset_ids) * (cell_h + GAP)), "white")
    draw = ImageDraw.Draw(rows)
    draw.text((6, 8), "1:1 crops", fill="black", font=font(18))
    for b, brush in enumerate(BRUSHES):
        draw.text((label_w + b * (cell_w + GAP), 30), f"{brush} (1:1)", fill="black", font=font(18))
    cx, cy = round(CROP_CENTRE[0] * content.width), round(CROP_CENTRE[1] * content.height)
    x0 = min(max(0, cx - cell_w // 2), content.width - cell_w)
    y0 = min(max(0, cy - cell_h // 2), content.height - cell_h)
    for r, preset_id in enumerate(preset_ids):
        y = HEAD_H + r * (cell_h + GAP)
        draw.text((6, y + 8), preset_id, fill="black", font=font(16))
        for b, brush in enumerate(BRUSHES):
            out = engine.stylize(content, preset_id, StyleOptions(max_side=side, brush=brush))
            rows.paste(out.crop((x0, y0, x0 + cell_w, y0 + cell_h)), (label_w + b * (cell_w + GAP), y))
    return rows


def sheet_parser(prog: str, doc: str | None, out_name: str, docs_help: str,
                 width: int) -> argparse.ArgumentParser:
    """The options both contact sheets take (photos, presets, size, output, the docs copy)."""
    p = argparse.ArgumentParser(prog=prog, description=(doc or "").splitlines()[0])
    p.add_argument("--photo", action="append", type=Path, help="a photo (repeatable)")
    p.add_argument("--preset", action="append", help="a preset id (repeatable)")
    p.add_argument("--side", type=int, default=1280, help="output long side of each render")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out" / out_name)
    p.add_argument("--width", type=int, default=width, help="width of a .jpg sheet")
    p.add_argument("--docs", action="store_true", help=docs_help)
    return p


def warm_engine() -> Engine:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    return engine


def main(argv: list[str] | None = None) -> int:
    p = sheet_parser("python -m bench.contact_sheet", __doc__, "brush-sheet.png",
                     "the README's copy: docs/brush-sheet.jpg", DOCS_WIDTH)
    p.add_argument("--crop-preset", action="append", help="a preset of the 1:1 crop rows (repeatable)")
    args = p.parse_args(argv)
    if args.docs:
        args.photo, args.preset = args.photo or DEFAULT_PHOTOS[:1], args.preset or list(DOCS_PRESETS)
        args.out = REPO / "docs" / "brush-sheet.jpg"
    engine = warm_engine()
    photos = args.photo or list(DEFAULT_PHOTOS)
    sheet = render_sheet(engine, photos, args.side, args.preset)
    if args.out.suffix.lower() in (".jpg", ".jpeg"):   # the crops are 1:1 on the final width
        sheet = sheet.resize((args.width, round(sheet.height * args.width / sheet.width)),
                             Image.Resampling.LANCZOS)
    crops = crop_rows(engine, photos[0], args.side, args.crop_preset or list(CROP_PRESETS), sheet.width)
    full = Image.new("RGB", (sheet.width, sheet.height + crops.height), "white")
    full.paste(sheet, (0, 0))
    full.paste(crops, (0, sheet.height))
    save_sheet(full, args.out, full.width)
    return 0


def save_sheet(sheet: Image.Image, out: Path, width: int) -> None:
    """A PNG at full size, or a .jpg scaled to ``width`` (the README's copies)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".jpg", ".jpeg"):
        height = round(sheet.height * width / sheet.width)
        sheet = sheet.resize((width, height), Image.Resampling.LANCZOS)
        sheet.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    else:
        sheet.save(out)
    log.info("wrote %s (%dx%d, %d KB)", out, *sheet.size, out.stat().st_size // 1024)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
