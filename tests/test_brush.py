"""Brush sizes (nst/brush.py): resolution per brush, sharp guided upsampling, stroke size."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from nst import Engine, StyleOptions, load_image
from nst.brush import BRUSHES, PAINT_PIXELS, edge_energy, edge_mask, paint_size, stroke_length
from nst.catalog import LocalCatalog
from nst.config import BUILTIN_STYLES
from nst.engine import OptionError
from tests.conftest import EXIF_DIR

LANDSCAPE = EXIF_DIR / "Landscape_0.jpg"   # 1800×1200


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return load_image(LANDSCAPE)


class CountingBackend:
    """The real backend, counting the pixels the transformer is asked to paint."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.pixels = 0

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def transfer(self, content: np.ndarray, code: np.ndarray) -> np.ndarray:
        self.pixels += content.shape[0] * content.shape[1]
        return self._backend.transfer(content, code)


# --- options ------------------------------------------------------------------------------
def test_brush_option_validation():
    assert StyleOptions().brush is None  # = the preset's default
    for brush in BRUSHES:
        assert StyleOptions(brush=brush).brush == brush
    for bad in ("Bold", "huge", "", 3, True):
        with pytest.raises(OptionError) as e:
            StyleOptions(brush=bad)
        assert e.value.code == "bad_brush" and e.value.user_message


def test_paint_size_is_independent_of_the_output_size():
    assert paint_size(1280, 853, "fine") is None
    bold = paint_size(1280, 853, "bold")
    hd = paint_size(4096, 2731, "bold")
    assert abs(hd[0] - bold[0]) <= 1 and abs(hd[1] - bold[1]) <= 1
    assert bold[0] * bold[1] <= PAINT_PIXELS["bold"] and abs(bold[0] / bold[1] - 1.5) < 0.02
    medium = paint_size(1280, 853, "medium")
    assert medium[0] * medium[1] > 2 * bold[0] * bold[1]
    assert paint_size(300, 200, "bold") is None  # already smaller than the brush's pass


# --- geometry and speed -------------------------------------------------------------------
@pytest.mark.parametrize("turn,expected", [(False, (1280, 853)), (True, (853, 1280))])
def test_every_brush_keeps_size_and_aspect(engine, photo, turn, expected):
    content = photo.transpose(Image.Transpose.ROTATE_90) if turn else photo
    for brush in BRUSHES:
        out = engine.stylize(content, "the_scream", StyleOptions(brush=brush))
        assert out.size == expected and out.mode == "RGB"


def test_bold_paints_the_fewest_pixels(engine, photo):
    """The brush sets the transformer's resolution: bold is the cheapest, fine the dearest."""
    counting = CountingBackend(engine.backend)
    eng = Engine(counting, engine.catalog)
    pixels = {}
    for brush in BRUSHES:
        counting.pixels = 0
        eng.stylize(photo, "udnie", StyleOptions(brush=brush))
        pixels[brush] = counting.pixels
    assert pixels["bold"] <= PAINT_PIXELS["bold"] < pixels["medium"] <= PAINT_PIXELS["medium"]
    assert pixels["fine"] == 1280 * 853


# --- look -----------------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["starry_night", "the_scream"])
def test_bold_is_sharp_along_the_photos_edges(engine, photo, style):
    """Guided upsampling: ≥ 1.2× the gradient energy of a plain Lanczos upscale of the
    same low-resolution painting, measured along the photo's strongest edges."""
    bold = engine.stylize(photo, style, StyleOptions(brush="bold"))
    low_size = paint_size(*bold.size, "bold")
    low = engine.stylize(photo.resize(low_size, Image.Resampling.LANCZOS), style,
                         StyleOptions(brush="fine"))
    plain = low.resize(bold.size, Image.Resampling.LANCZOS)
    mask = edge_mask(photo.resize(bold.size, Image.Resampling.LANCZOS))
    ratio = edge_energy(bold, mask) / edge_energy(plain, mask)
    print(style, "edge energy bold / lanczos", round(ratio, 2))
    assert ratio >= 1.2
    # still the low-resolution painting, not the photo: same colours and layout
    blocks = lambda im: np.asarray(im.resize((16, 16), Image.Resampling.BOX), np.float32)  # noqa: E731
    assert np.abs(blocks(bold) - blocks(plain)).mean() < 4


@pytest.mark.parametrize("style", ["starry_night", "the_scream", "great_wave"])
def test_strokes_grow_from_fine_to_bold(engine, photo, style):
    lengths = {b: stroke_length(engine.stylize(photo, style, StyleOptions(brush=b))) for b in BRUSHES}
    print(style, {b: round(v, 2) for b, v in lengths.items()})
    assert lengths["fine"] < lengths["medium"] < lengths["bold"]
    assert lengths["bold"] >= 1.25 * lengths["fine"]


# --- HD (tiled) outputs, options ------------------------------------------------------------
@pytest.mark.parametrize("brush", BRUSHES)
def test_tiled_outputs_work_with_every_brush(engine, photo, brush):
    """With passes smaller than the brush's resolution every brush tiles, and the result
    looks like the one-pass result of the same brush."""
    tiny = Engine(engine.backend, engine.catalog, pass_pixels=300 * 300)
    seen: list[float] = []
    options = StyleOptions(brush=brush, max_side=1024, keep_colors=True)
    tiled = tiny.stylize(photo, "udnie", options, progress=seen.append)
    whole = engine.stylize(photo, "udnie", options)
    assert tiled.size == whole.size == (1024, 683)
    assert len(seen) > 2 and seen == sorted(set(seen)) and seen[-1] == 1.0
    blocks = lambda im: np.asarray(im.resize((8, 8), Image.Resampling.BOX), np.float32)  # noqa: E731
    assert np.abs(blocks(tiled) - blocks(whole)).mean() < 18
    yk, yc = (np.asarray(i.convert("YCbCr"), np.float32)
              for i in (tiled, photo.resize(tiled.size, Image.Resampling.LANCZOS)))
    chroma = np.abs(yk - yc).mean(axis=(0, 1))
    assert chroma[1] <= 3 and chroma[2] <= 3  # keep-colours applied at full resolution


def test_small_outputs_are_the_same_for_every_brush(engine):
    content = load_image(LANDSCAPE).resize((300, 200), Image.Resampling.LANCZOS)
    outs = [np.asarray(engine.stylize(content, "te_fare", StyleOptions(brush=b))) for b in BRUSHES]
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


# --- per-preset default -----------------------------------------------------------------------
def test_manifest_brush_is_the_presets_default(engine, tmp_path, caplog):
    entries = json.loads((BUILTIN_STYLES / "manifest.json").read_text(encoding="utf-8"))
    keep = {e["id"]: e for e in entries if e["id"] in ("udnie", "the_kiss", "the_scream")}
    keep["udnie"]["brush"] = "fine"
    keep["the_kiss"]["brush"] = "huge"   # unknown: ignored with a warning
    keep["the_scream"].pop("brush", None)
    for e in keep.values():
        shutil.copy(BUILTIN_STYLES / e.get("file", f"{e['id']}.jpg"), tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(list(keep.values())), encoding="utf-8")
    eng = Engine(engine.backend, LocalCatalog(tmp_path))
    assert eng.catalog.get("udnie").brush == "fine"
    assert "unknown brush" in caplog.text
    from nst.brush import DEFAULT_BRUSH
    assert eng.default_brush("udnie") == "fine"
    assert eng.default_brush("the_kiss") == eng.default_brush("the_scream") == DEFAULT_BRUSH
    photo = load_image(LANDSCAPE)
    assert np.array_equal(np.asarray(eng.stylize(photo, "udnie", StyleOptions(max_side=800))),
                          np.asarray(eng.stylize(photo, "udnie", StyleOptions(max_side=800, brush="fine"))))


# --- the contact sheet script ----------------------------------------------------------------
def test_contact_sheet_renders_every_brush(engine, tmp_path):
    from bench.contact_sheet import CELL_H, DEFAULT_PHOTOS, main, render_sheet

    assert all(p.is_file() for p in DEFAULT_PHOTOS), "the default photos ship with the repo"
    sheet = render_sheet(engine, [LANDSCAPE], 600, ["udnie", "grande_jatte"])
    assert sheet.height > 2 * CELL_H and sheet.width > 3 * CELL_H * 1.5
    out = tmp_path / "sheet.jpg"
    assert main(["--photo", str(LANDSCAPE), "--preset", "udnie", "--side", "300",
                 "--out", str(out), "--width", "400"]) == 0
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.width == 400
