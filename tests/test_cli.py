"""python -m nst: exit codes, one-line errors, outputs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cli_harness import one_line_error, run
from nst.config import BUILTIN_MODELS, BUILTIN_STYLES
from nst.models import PREDICTOR, SPECS
from tests.conftest import EXIF_DIR, MAGENTA_DIR, USER_STYLE

REPO = Path(__file__).resolve().parents[1]
CONTENT = MAGENTA_DIR / "content" / "golden_gate_sq.jpg"
STYLE_FILE = USER_STYLE
PHOTO = EXIF_DIR / "Landscape_0.jpg"


# --- success ------------------------------------------------------------------------------
@pytest.mark.parametrize("ext,fmt", [("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")])
def test_stylize_preset(capsys, tmp_path, ext, fmt):
    out = tmp_path / f"out.{ext}"
    code, stdout, err = run(capsys, "stylize", CONTENT, "starry_night", "-o", out, "--max-side", "128")
    assert code == 0, err
    assert err == ""
    with Image.open(out) as img:
        assert img.format == fmt and img.size == (128, 128)
        img.load()
    assert "wrote" in stdout
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp files left


def test_stylize_style_file_mix_and_options(capsys, tmp_path):
    out = tmp_path / "o.jpg"
    code, _, err = run(capsys, "stylize", CONTENT, STYLE_FILE, "-o", out, "--mix", "great_wave",
                       "--mix-weight", "0.3", "--strength", "0.7", "--keep-colors", "--quality", "80")
    assert code == 0, err
    with Image.open(out) as img:
        assert img.size == (256, 256)


def test_stylize_replaces_existing_output(capsys, tmp_path):
    out = tmp_path / "o.png"
    out.write_bytes(b"old")
    assert run(capsys, "stylize", CONTENT, "udnie", "-o", out, "--max-side", "64")[0] == 0
    with Image.open(out) as img:
        assert img.size == (64, 64)


def test_progress_on_stderr_for_tiled_work(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_PASS_PIXELS", str(300 * 300))  # make 800 px a tiled output
    out = tmp_path / "big.jpg"
    code, _, err = run(capsys, "stylize", PHOTO, "the_scream", "-o", out, "--max-side", "800")
    assert code == 0
    lines = err.splitlines()
    assert lines and all(ln.startswith("stylizing… ") for ln in lines) and lines[-1].endswith("100%")
    with Image.open(out) as img:
        assert img.size == (800, 533)


def test_stylize_brush(capsys, tmp_path):
    """--brush sets the stroke size: same size out, different paintings."""
    outs = {}
    for brush in ("bold", "fine"):
        out = tmp_path / f"{brush}.png"
        code, _, err = run(capsys, "stylize", PHOTO, "great_wave", "-o", out, "--max-side", "900",
                           "--brush", brush)
        assert code == 0, err
        with Image.open(out) as img:
            assert img.size == (900, 600)
            outs[brush] = np.asarray(img.convert("RGB"), np.float32)
    assert np.abs(outs["bold"] - outs["fine"]).mean() > 5


# --- bad input → exit 2, one line ----------------------------------------------------------
def _bad_cases(tmp_path: Path) -> list[tuple[list, str]]:
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    truncated = tmp_path / "half.jpg"
    truncated.write_bytes(CONTENT.read_bytes()[:2000])
    a_file = tmp_path / "file"
    a_file.write_text("x")
    o = tmp_path / "o.jpg"
    return [
        ([tmp_path / "missing.jpg", "udnie", "-o", o], "not found"),
        ([not_image, "udnie", "-o", o], "doesn't look like a picture"),
        ([truncated, "udnie", "-o", o], "damaged"),
        ([tmp_path, "udnie", "-o", o], "is a directory"),
        ([CONTENT, "no_such_preset", "-o", o], "unknown style 'no_such_preset'"),
        ([CONTENT, tmp_path / "missing_style.png", "-o", o], "style file"),
        ([CONTENT, not_image, "-o", o], "style"),
        ([CONTENT, "udnie", "-o", o, "--mix", "nope"], "unknown mix style"),
        ([CONTENT, "udnie", "-o", o, "--strength", "1.5"], "--strength must be between 0 and 1"),
        ([CONTENT, "udnie", "-o", o, "--strength", "-0.1"], "--strength"),
        ([CONTENT, "udnie", "-o", o, "--strength", "nan"], "--strength"),
        ([CONTENT, "udnie", "-o", o, "--strength", "strong"], "invalid float value"),
        ([CONTENT, "udnie", "-o", o, "--max-side", "0"], "--max-side"),
        ([CONTENT, "udnie", "-o", o, "--max-side", "big"], "invalid int value"),
        ([CONTENT, "udnie", "-o", o, "--mix-weight", "0.5"], "--mix-weight needs --mix"),
        ([CONTENT, "udnie", "-o", o, "--mix", "the_kiss", "--mix-weight", "2"], "--mix-weight"),
        ([CONTENT, "udnie", "-o", o, "--quality", "0"], "--quality"),
        ([CONTENT, "udnie", "-o", o, "--brush", "huge"], "argument --brush: invalid choice: 'huge'"),
        ([CONTENT, "udnie", "-o", o, "--brush"], "argument --brush: expected one argument"),
        ([CONTENT, "udnie", "-o", tmp_path / "o.bmp"], "Can't save as '.bmp'"),  # .gif: a clip now
        ([CONTENT, "udnie", "-o", tmp_path / "noext"], "Can't save"),
        ([CONTENT, "udnie", "-o", tmp_path / "nodir" / "o.jpg"], "does not exist"),
        ([CONTENT, "udnie", "-o", a_file / "o.jpg"], "not a directory"),
        ([CONTENT, "udnie", "-o", tmp_path], "Can't save"),
        ([CONTENT, "udnie"], "required: -o/--output"),
        ([CONTENT], "required"),
    ]


def test_bad_inputs_exit_2_with_one_line(capsys, tmp_path):
    for args, expected in _bad_cases(tmp_path):
        code, stdout, err = run(capsys, "stylize", *args)
        line = one_line_error(err)
        assert code == 2, (args, err)
        assert expected in line, (args, line)
        assert not (tmp_path / "o.jpg").exists()


def test_unwritable_output_exit_2(capsys, tmp_path, monkeypatch):
    import nst.files

    def fail(*a, **k):  # root ignores file modes, so refuse the way a read-only dir would
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(nst.files.tempfile, "mkstemp", fail)
    code, _, err = run(capsys, "stylize", CONTENT, "udnie", "-o", tmp_path / "o.jpg", "--max-side", "64")
    assert code == 2 and "cannot write" in one_line_error(err) and "Permission denied" in err


def test_usage_errors(capsys):
    for argv in ([], ["frobnicate"], ["styles", "pull"], ["models", "--bogus"]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        one_line_error(err)


# --- engine failures → exit 1 ---------------------------------------------------------------
def test_corrupt_model_exit_1(capsys, tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    data = bytearray((BUILTIN_MODELS / PREDICTOR).read_bytes())
    data[5000] ^= 0x55
    (models / PREDICTOR).write_bytes(bytes(data))
    monkeypatch.setenv("NST_MODEL_DIR", str(models))
    code, _, err = run(capsys, "stylize", CONTENT, "udnie", "-o", tmp_path / "o.jpg")
    assert code == 1
    line = one_line_error(err)
    assert PREDICTOR in line and "corrupt" in line
    assert not (tmp_path / "o.jpg").exists()
    code, out, err = run(capsys, "models")
    assert code == 1 and "CORRUPT" in out and PREDICTOR in one_line_error(err)


def test_broken_catalog_exit_1(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("STYLES", str(tmp_path / "no-styles"))
    code, _, err = run(capsys, "styles")
    assert code == 1 and "no-styles" in one_line_error(err)


def test_bad_environment_exit_2(capsys, monkeypatch):
    monkeypatch.setenv("NST_BACKEND", "gpu")
    code, _, err = run(capsys, "models")
    assert code == 2 and "NST_BACKEND" in one_line_error(err)


# --- styles / models ----------------------------------------------------------------------------
def test_styles_table(capsys):
    code, out, err = run(capsys, "styles")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "title", "artist"]
    body = [ln for ln in lines[2:] if ln and not ln.startswith("18 presets")]
    assert len(body) == 18 and body[0].startswith("starry_night ")
    assert "18 presets" in lines[-1]


def test_models_report(capsys):
    code, out, err = run(capsys, "models")
    assert code == 0 and err == ""
    assert out.count("sha256 verified") == len(SPECS)
    assert "style_transfer_quantized_dynamic.tflite" in out and "244,072" in out


def test_styles_push_dispatch(capsys, monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("nst.catalog.push")

    def push_presets(src, url):
        calls.append((src, url))
        return 18

    fake.push_presets = push_presets
    monkeypatch.setitem(sys.modules, "nst.catalog.push", fake)
    assert run(capsys, "styles", "push", "gs://bucket/presets")[0] == 0  # SRC defaults to builtin
    code, out, err = run(capsys, "styles", "push", "builtin", "gs://bucket/presets")
    assert code == 0 and calls == [(BUILTIN_STYLES, "gs://bucket/presets")] * 2
    assert "pushed 18 presets" in out

    mine = tmp_path / "mine"
    shutil.copytree(BUILTIN_STYLES, mine)
    assert run(capsys, "styles", "push", mine, "gs://b/p")[0] == 0 and calls[-1] == (mine, "gs://b/p")

    for argv, expected in ([["builtin", "s3://bucket"], "gs://bucket/prefix"],
                           [[tmp_path / "nope", "gs://b/p"], "not found"],
                           [[tmp_path, "gs://b/p"], "no manifest.json"],
                           [["builtin", "gs://b/p", "extra"], "usage"]):
        code, _, err = run(capsys, "styles", "push", *argv)
        assert code == 2 and expected in one_line_error(err)

    def boom(src, url):
        raise ConnectionError("bucket unreachable")

    fake.push_presets = boom
    code, _, err = run(capsys, "styles", "push", "builtin", "gs://b/p")
    assert code == 1 and "bucket unreachable" in one_line_error(err)


def test_styles_vectors_builds_the_shipped_codes_once(capsys, tmp_path):
    mine = tmp_path / "mine"
    shutil.copytree(BUILTIN_STYLES, mine, ignore=shutil.ignore_patterns("vectors.npz"))
    code, out, err = run(capsys, "styles", "vectors", mine)
    assert code == 0 and "36 computed, 0 up to date (written)" in out   # 18 × openvino, lite
    assert (mine / "vectors.npz").is_file()
    code, out, err = run(capsys, "styles", "vectors", mine)
    assert code == 0 and "0 computed, 36 up to date (unchanged)" in out
    code, _, err = run(capsys, "styles", "vectors", tmp_path)
    assert code == 2 and "no manifest.json" in one_line_error(err)


# --- the real entry point ---------------------------------------------------------------------
def test_python_dash_m(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = tmp_path / "r.jpg"
    ok = subprocess.run([sys.executable, "-m", "nst", "stylize", str(CONTENT), "the_kiss", "-o", str(out),
                         "--max-side", "96"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    with Image.open(out) as img:
        assert img.size == (96, 96)
    bad = subprocess.run([sys.executable, "-m", "nst", "stylize", str(tmp_path / "none.jpg"), "the_kiss",
                          "-o", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
