"""Engine behaviour on the real TFLite models: options, geometry, tiling, memory."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from nst import Engine, StyleOptions
from nst.engine import MAX_SIDE, OptionError, keep_colors, output_size
from nst.errors import NstError, StyleNotFound
from nst.tiling import axis_weights, layout, plan_grid
from tests.conftest import EXIF_DIR, MAGENTA_DIR, USER_STYLE

REPO = Path(__file__).resolve().parents[1]
CONTENT = MAGENTA_DIR / "content"
PHOTO = EXIF_DIR / "Landscape_0.jpg"


def _content(name: str = "golden_gate_sq.jpg") -> Image.Image:
    from nst import load_image

    return load_image(CONTENT / name)


def _arr(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.float32)


def _dist(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(_arr(a) - _arr(b)).mean())


@pytest.fixture(params=["default", "lite"])
def any_engine(request):
    """Fidelity tests run on the default backend and on the ``lite`` fallback."""
    return request.getfixturevalue("engine" if request.param == "default" else "lite_engine")


# --- options ------------------------------------------------------------------------------
def test_style_options_validation():
    assert StyleOptions().max_side == 1280 and StyleOptions().strength == 1.0
    assert StyleOptions(max_side=100_000).max_side == MAX_SIDE == 4096
    for bad in (dict(strength=1.5), dict(strength=-0.1), dict(strength=float("nan")),
                dict(strength="1"), dict(max_side=0), dict(max_side=-5), dict(max_side=10),
                dict(max_side=12.5), dict(max_side=float("inf")), dict(max_side=True)):
        with pytest.raises(OptionError) as e:
            StyleOptions(**bad)
        assert isinstance(e.value, NstError) and isinstance(e.value, ValueError)
        assert e.value.user_message


def test_unknown_preset_and_bad_mix(engine):
    img = _content()
    with pytest.raises(StyleNotFound):
        engine.stylize(img, "no_such_style")
    with pytest.raises(StyleNotFound):  # even with weight 0 an unknown id is an error
        engine.stylize(img, "starry_night", mix="no_such_style", mix_weight=0.0)
    with pytest.raises(OptionError):
        engine.stylize(img, "starry_night", mix="udnie", mix_weight=1.5)
    with pytest.raises(TypeError):
        engine.stylize(img, 42)


def test_health(engine):
    ok, msg = engine.health()
    assert ok and "18 presets" in msg


# --- geometry -----------------------------------------------------------------------------
@pytest.mark.parametrize("size,max_side,expected", [
    ((384, 128), 1280, (384, 128)),      # 3:1, never upscaled
    ((128, 384), 1280, (128, 384)),      # 1:3
    ((600, 200), 300, (300, 100)),
    ((200, 600), 300, (100, 300)),
    ((301, 97), 150, (150, 48)),
])
def test_aspect_and_size(any_engine, size, max_side, expected):
    assert output_size(*size, max_side) == expected
    content = _content().resize(size)
    out = any_engine.stylize(content, "starry_night", StyleOptions(max_side=max_side))
    assert out.size == expected and out.mode == "RGB"


def test_non_rgb_content(engine):
    out = engine.stylize(_content().convert("L"), "udnie", StyleOptions(max_side=64))
    assert out.mode == "RGB" and out.size == (64, 64)


# --- strength, mix, colours ---------------------------------------------------------------
@pytest.mark.parametrize("style", ["starry_night", "the_scream", "water_lilies"])
def test_strength_is_monotone(any_engine, style):
    content = _content("eiffel_tower.jpg")
    strengths = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    d = [_dist(any_engine.stylize(content, style, StyleOptions(strength=s)), content) for s in strengths]
    assert d[0] == 0.0                               # 0 = the content
    assert all(b > a for a, b in zip(d, d[1:])), d   # grows with strength
    full = any_engine.stylize(content, style)
    assert _dist(any_engine.stylize(content, style, StyleOptions(strength=1.0)), full) == 0.0


def test_mix_endpoints_equal_single_styles(engine):
    content = _content("colva_beach_sq.jpg")
    a = engine.stylize(content, "starry_night")
    b = engine.stylize(content, "great_wave")
    assert np.array_equal(_arr(engine.stylize(content, "starry_night", mix="great_wave", mix_weight=0.0)), _arr(a))
    assert np.array_equal(_arr(engine.stylize(content, "starry_night", mix="great_wave", mix_weight=1.0)), _arr(b))
    mid = engine.stylize(content, "starry_night", mix="great_wave", mix_weight=0.5)
    assert _dist(mid, a) > 1 and _dist(mid, b) > 1


def test_mix_is_vector_interpolation(engine):
    v1 = engine.catalog.vector("starry_night", engine.backend)
    v2 = engine.catalog.vector("great_wave", engine.backend)
    x = np.asarray(_content(), np.float32) / 255
    want = engine.backend.transfer(x, 0.7 * v1 + 0.3 * v2)
    got = _arr(engine.stylize(_content(), "starry_night", mix="great_wave", mix_weight=0.3)) / 255
    assert np.abs(got - want).max() <= 1 / 255 + 1e-6


def test_style_image_equals_preset(engine):
    content = _content()
    by_id = engine.stylize(content, "udnie")
    by_image = engine.stylize(content, engine.catalog.image("udnie"))
    assert np.array_equal(_arr(by_id), _arr(by_image))
    user_style = Image.open(USER_STYLE)
    assert _dist(engine.stylize(content, user_style), by_id) > 5


@pytest.mark.parametrize("style", ["starry_night", "mondrian_composition_ii", "the_kiss"])
def test_keep_colors(any_engine, style):
    content = _content("statue_of_liberty_sq.jpg")
    plain = any_engine.stylize(content, style)
    kept = any_engine.stylize(content, style, StyleOptions(keep_colors=True))
    yk, yc, yp = (np.asarray(i.convert("YCbCr"), np.float32) for i in (kept, content, plain))
    chroma = np.abs(yk - yc).mean(axis=(0, 1))
    assert chroma[1] <= 3 and chroma[2] <= 3, chroma
    assert np.abs(yk[..., 0] - yp[..., 0]).mean() <= 3       # luminance from the stylized result
    assert np.abs(yk[..., 0] - yc[..., 0]).mean() > 5        # …which is not the content's


def test_keep_colors_helper_is_exact_for_grey():
    content = np.full((4, 4, 3), (200, 40, 90), np.uint8)
    styl = np.full((4, 4, 3), 128, np.uint8)
    out = keep_colors(styl.copy(), content)
    y = lambda a: a.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)  # noqa: E731
    assert np.abs(y(out) - 128).max() <= 1
    assert np.abs((out.astype(int) - content.astype(int)) - (out.astype(int) - content.astype(int))[..., :1]).max() <= 1


# --- tiling -------------------------------------------------------------------------------
def test_axis_weights_partition_of_unity():
    for length, size, _n in [(1000, 300, 4), (427, 204, 3), (640, 184, 6), (200, 200, 1)]:
        grid = plan_grid(length, length, size * size, 10)
        ws = axis_weights(length, grid.ys, grid.tile_h, grid.margin)
        total = np.zeros(length)
        for s, w in zip(grid.ys, ws):
            assert w[: grid.margin].max() <= 1e-6 or s == 0
            total[s: s + grid.tile_h] += w
        assert np.allclose(total, 1.0, atol=1e-6)


def test_grid_respects_pass_pixels():
    for h, w, px in [(4096, 4096, 360_000), (2731, 4096, 360_000), (853, 1280, 360_000),
                     (4096, 205, 360_000), (427, 640, 40_000), (300, 200, 10_000)]:
        lay = layout(h, w, px)
        g = lay.grid
        assert g.tile_h * g.tile_w <= px and lay.global_h * lay.global_w <= px
        assert g.ys[0] == 0 and g.ys[-1] + g.tile_h == h and g.xs[0] == 0 and g.xs[-1] + g.tile_w == w


def _noise_content(w: int = 640, h: int = 427) -> Image.Image:
    """Statistically uniform texture: every row/column is comparable."""
    rng = np.random.default_rng(0)
    base = Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8))
    img = Image.blend(base.filter(ImageFilter.GaussianBlur(3)), base.filter(ImageFilter.GaussianBlur(12)), 0.5)
    return Image.fromarray(np.clip((_arr(img) - 128) * 4 + 128, 0, 255).astype(np.uint8))


def _line_ratios(a: np.ndarray, lines, axis: int, win: int = 24) -> np.ndarray:
    """Gradient energy across each line (between index i-1 and i) / median of its neighbours."""
    d = np.abs(np.diff(a.astype(np.float32), axis=axis)).sum(2)
    energy = d.mean(1) if axis == 0 else d.mean(0)
    out = []
    for line in lines:
        i = line - 1
        out.append(energy[i] / np.median(energy[max(0, i - win): i + win + 1]))
    return np.array(out)


def _tile_lines(lay):
    g = lay.grid
    rows, cols = set(), set()
    for y in g.ys[1:]:
        rows |= {y, y + g.margin}
    for y in g.ys[:-1]:
        rows |= {y + g.tile_h, y + g.tile_h - g.margin}
    for x in g.xs[1:]:
        cols |= {x, x + g.margin}
    for x in g.xs[:-1]:
        cols |= {x + g.tile_w, x + g.tile_w - g.margin}
    return sorted(rows), sorted(cols)


@pytest.mark.parametrize("style", ["starry_night", "the_scream"])
def test_tiles_have_no_seams(any_engine, style):
    pass_px = 200 * 200
    small = Engine(any_engine.backend, any_engine.catalog, pass_pixels=pass_px)
    content = _noise_content()
    out = np.asarray(small.stylize(content, style, StyleOptions(max_side=640, brush="fine")))
    lay = layout(427, 640, pass_px)
    assert lay.grid.count >= 6
    rows, cols = _tile_lines(lay)
    r = np.concatenate([_line_ratios(out, rows, 0), _line_ratios(out, cols, 1)])
    # tile borders: as much gradient energy as any comparable row/column, no more
    assert r.mean() <= 1.2, r
    assert r.max() <= 2.0, r

    # the measure does see seams: naive tiles (no overlap, no global pass) fail it
    vec = any_engine.catalog.vector(style, any_engine.backend)
    src = np.asarray(content)
    naive = np.empty_like(src)
    for y in range(0, 427, 200):
        for x in range(0, 640, 200):
            t = src[y:y + 200, x:x + 200].astype(np.float32) / 255
            naive[y:y + 200, x:x + 200] = np.clip(any_engine.backend.transfer(t, vec) * 255 + 0.5, 0, 255)
    n = np.concatenate([_line_ratios(naive, [200, 400], 0), _line_ratios(naive, [200, 400, 600], 1)])
    assert n.mean() > 2.0 and n.min() > 1.5, n


@pytest.mark.parametrize("style", ["the_scream", "udnie"])
def test_tiled_keeps_the_global_look(engine, style):
    """Tiled (global pass at half the side, like 1280 px with the default pass size)
    and whole-image results of the same size look alike: same colours, same layout."""
    from nst import load_image

    content = load_image(PHOTO).resize((512, 341), Image.Resampling.LANCZOS)
    fine = StyleOptions(brush="fine")   # the tiles under test are at the output's resolution
    whole = engine.stylize(content, style, fine)
    tiled = Engine(engine.backend, engine.catalog, pass_pixels=45_000).stylize(content, style, fine)
    assert tiled.size == whole.size
    mean_diff = np.abs(_arr(tiled).mean(axis=(0, 1)) - _arr(whole).mean(axis=(0, 1)))
    assert mean_diff.max() < 6, mean_diff
    blocks = lambda im: _arr(im.resize((8, 8), Image.Resampling.BOX))  # noqa: E731
    assert np.abs(blocks(tiled) - blocks(whole)).mean() < 15


def test_tiled_keep_colors_and_progress(engine):
    small = Engine(engine.backend, engine.catalog, pass_pixels=150 * 150)
    content = _content("colva_beach_sq.jpg")
    seen: list[float] = []
    out = small.stylize(content, "starry_night", StyleOptions(keep_colors=True), progress=seen.append)
    assert len(seen) > 3 and seen == sorted(set(seen)) and seen[-1] == 1.0 and 0 < seen[0] < 1
    yk, yc = (np.asarray(i.convert("YCbCr"), np.float32) for i in (out, content))
    chroma = np.abs(yk - yc).mean(axis=(0, 1))
    assert chroma[1] <= 3 and chroma[2] <= 3


def test_progress_exception_cancels(engine):
    small = Engine(engine.backend, engine.catalog, pass_pixels=150 * 150)

    def cancel(fraction: float) -> None:
        if fraction > 0.3:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        small.stylize(_content(), "udnie", progress=cancel)


def test_same_size_requests_do_not_reallocate(engine):
    content = _content().resize((200, 150))
    engine.stylize(content, "udnie")
    n = engine.backend.allocations
    for style in ("udnie", "the_kiss", "great_wave"):
        engine.stylize(content, style)
    assert engine.backend.allocations == n


def test_concurrent_stylize_is_consistent(engine):
    jobs = [(_content(n).resize((160 + 32 * i, 128)), s)
            for i, (n, s) in enumerate([("golden_gate_sq.jpg", "udnie"), ("eiffel_tower.jpg", "starry_night"),
                                        ("colva_beach_sq.jpg", "the_kiss"), ("statue_of_liberty_sq.jpg", "te_fare")])]
    expected = [_arr(engine.stylize(c, s)) for c, s in jobs]
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait()
        return _arr(engine.stylize(*job))

    with ThreadPoolExecutor(len(jobs)) as pool:
        got = list(pool.map(run, jobs))
    for e, g in zip(expected, got):
        assert np.array_equal(e, g)


# --- memory at 4096 px (subprocess) ----------------------------------------------------------
def _fresh_process(body: str) -> dict:
    """Run ``body`` after a warmed default engine in a fresh process; its JSON report
    plus the process's peak RSS (VmHWM: this process image only — ru_maxrss would also
    count the forked copy of the parent, pytest maybe with TensorFlow, before exec)."""
    script = textwrap.dedent(f"""
        import json, time
        from PIL import Image
        from nst import Engine, EngineConfig, StyleOptions
        engine = Engine.from_config(EngineConfig.from_env())
        engine.warmup()
        photo = Image.open({str(PHOTO)!r}).convert("RGB")
    """) + textwrap.dedent(body) + textwrap.dedent("""
        peak = next(int(line.split()[1]) / 1024 for line in open("/proc/self/status")
                    if line.startswith("VmHWM:"))
        print(json.dumps(dict(report, peak_mb=peak)))
    """)
    res = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    print(report)
    return report


@pytest.mark.slow
def test_4096_px_memory_is_bounded():
    """A 4096-px-long output in a fresh process stays far below a whole-image pass."""
    report = _fresh_process("""
        content = photo.resize((4096, 1365), Image.Resampling.BICUBIC)
        t = time.monotonic()
        out = engine.stylize(content, "starry_night", StyleOptions(max_side=4096, brush="fine"))
        report = {"size": out.size, "seconds": time.monotonic() - t}
    """)
    assert tuple(report["size"]) == (4096, 1365)
    assert report["peak_mb"] <= 700, report


@pytest.mark.slow
def test_eight_previews_then_hd_stay_under_one_gb():
    """An instance's life: 8 previews of 8 aspect ratios at 1280 px, then a 4096-px HD
    result, in one process: peak RSS ≤ 1 GB (issue 11)."""
    report = _fresh_process("""
        for w, h in [(4, 3), (3, 4), (16, 9), (9, 16), (1, 1), (3, 2), (2, 3), (21, 9)]:
            side = min(photo.width * h // w, photo.height)
            crop = photo.crop((0, 0, side * w // h, side))
            engine.stylize(crop, "starry_night", StyleOptions(max_side=1280, brush="fine"))
        out = engine.stylize(photo.resize((4096, 2731)), "starry_night",
                             StyleOptions(max_side=4096, brush="fine"))
        report = {"size": out.size}
    """)
    assert tuple(report["size"]) == (4096, 2731)
    assert report["peak_mb"] <= 1000, report
