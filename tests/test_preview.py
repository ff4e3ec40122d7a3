"""`python -m nst preview`: 9 presets on one photo, numbered tiles (issue 20)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import StyleOptions, load_image
from nst.preview import GAP, preview_grid, tile_size
from tests.cli_harness import one_line_error, run
from tests.conftest import DATA_DIR, EXIF_DIR

PHOTO = EXIF_DIR / "Landscape_0.jpg"
PORTRAIT = DATA_DIR / "portraits" / "hopper.jpg"


def _tiles(grid: Image.Image, tw: int, th: int, n: int = 9) -> list[np.ndarray]:
    return [np.asarray(grid.crop(((i % 3) * (tw + GAP), (i // 3) * (th + GAP),
                                  (i % 3) * (tw + GAP) + tw, (i // 3) * (th + GAP) + th)),
                       np.float32) for i in range(n)]


def _body(tile: np.ndarray) -> np.ndarray:
    """The tile without its number badge (top-left quarter)."""
    h, w = tile.shape[:2]
    return np.concatenate([tile[h // 3:].reshape(-1, 3), tile[:h // 3, w // 3:].reshape(-1, 3)])


def test_cli_preview_is_a_3x3_of_9_different_paintings_in_order(capsys, tmp_path: Path, engine) -> None:
    out = tmp_path / "grid.jpg"
    code, stdout, _ = run(capsys, "preview", PHOTO, "-o", out)
    assert code == 0 and "9 presets" in stdout
    grid = load_image(out)
    photo = load_image(PHOTO)
    tw, th = tile_size(*photo.size)
    assert grid.size == (3 * tw + 2 * GAP, 3 * th + 2 * GAP)
    assert abs(tw / th - photo.width / photo.height) < 0.01      # the photo's aspect
    tiles = _tiles(grid, tw, th)
    ids = [p.id for p in engine.catalog.presets()[:9]]
    small = photo.resize((tw, th), Image.Resampling.LANCZOS, reducing_gap=3.0)
    alone = [_body(np.asarray(engine.stylize(small, style, StyleOptions(max_side=tw, protect="none")),
                              np.float32)) for style in ids]
    for i, tile in enumerate(tiles):
        # cell i looks most like preset i painted alone, and clearly unlike every other cell
        near = [float(np.abs(_body(tile) - ref).mean()) for ref in alone]
        assert int(np.argmin(near)) == i, (i, near)
        for j in range(i + 1, 9):
            assert float(np.abs(_body(tile) - _body(tiles[j])).mean()) > 10.0, (i, j)


def test_cli_preview_follows_the_given_order(capsys, tmp_path: Path, engine) -> None:
    ids = ["udnie", "the_scream", "great_wave"]
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run(capsys, "preview", PHOTO, "-o", a, "--styles", ",".join(ids))[0] == 0
    assert run(capsys, "preview", PHOTO, "-o", b, "--styles", ",".join(reversed(ids)))[0] == 0
    photo = load_image(PHOTO)
    tw, th = tile_size(*photo.size)
    ga, gb = load_image(a), load_image(b)
    assert ga.size == (3 * tw + 2 * GAP, th)          # one row of three
    ta, tb = _tiles(ga, tw, th, 3), _tiles(gb, tw, th, 3)
    for i in range(3):
        assert np.array_equal(_body(ta[i]), _body(tb[2 - i]))


@pytest.mark.parametrize("styles, words", [
    ("udnie,nope", "unknown preset 'nope'"),
    ("udnie,udnie", "different preset ids"),
    (",".join(["udnie"] * 10), "1 to 9"),
])
def test_cli_preview_bad_styles(capsys, tmp_path: Path, styles: str, words: str) -> None:
    code, _, err = run(capsys, "preview", PHOTO, "-o", tmp_path / "g.jpg", "--styles", styles)
    assert code == 2 and words in one_line_error(err)
    assert not (tmp_path / "g.jpg").exists()


def test_cli_preview_bad_photo_is_one_line(capsys, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    for photo in (tmp_path / "missing.jpg", broken):
        code, _, err = run(capsys, "preview", photo, "-o", tmp_path / "g.jpg")
        assert code == 2 and str(photo) in one_line_error(err)
    assert not (tmp_path / "g.jpg").exists()


def test_preview_keeps_faces_like_stylize(engine) -> None:
    photo = load_image(PORTRAIT)
    kept = np.asarray(preview_grid(engine, photo, ["the_scream"], protect="faces"), np.float32)
    plain = np.asarray(preview_grid(engine, photo, ["the_scream"], protect="none"), np.float32)
    small = np.asarray(photo.resize(kept.shape[1::-1], Image.Resampling.LANCZOS), np.float32)
    f = engine.subjects(photo).faces[0]
    k = kept.shape[1] / photo.width
    face = (slice(int(f.y0 * k), int(f.y1 * k)), slice(int(f.x0 * k), int(f.x1 * k)))
    assert np.abs(kept[face] - small[face]).mean() <= 0.5 * np.abs(plain[face] - small[face]).mean()


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nst", *argv], check=True, capture_output=True)
    return time.perf_counter() - started


@pytest.mark.slow
def test_preview_costs_at_most_1_5x_one_painting(tmp_path: Path) -> None:
    """Whole processes, alternated so machine noise hits both alike; the best of 3 each
    (the cost without the shared machine's noise), after one run of each fills the caches."""
    paint, grid = [], []
    for _ in range(4):
        paint.append(_wall(["stylize", str(PHOTO), "starry_night", "-o", str(tmp_path / "s.jpg")]))
        grid.append(_wall(["preview", str(PHOTO), "-o", str(tmp_path / "g.jpg")]))
    ratio = min(grid[1:]) / min(paint[1:])
    assert ratio <= 1.5, (grid, paint)
