"""python -m nst stylize on clips: .mp4 / .gif in and out, progress, one-line errors."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from nst.video import open_clip
from devkit import clip_factory as cf
from tests.conftest import MAGENTA_DIR, REPO
from tests.cli_harness import one_line_error, run

PHOTO = MAGENTA_DIR / "content" / "golden_gate_sq.jpg"


@pytest.fixture(scope="module")
def clip_mp4(tmp_path_factory) -> Path:
    return cf.write_clip(cf.pan(PHOTO, 8, (128, 80)), tmp_path_factory.mktemp("c") / "pan.mp4")


@pytest.mark.parametrize("src_ext, out_ext", [(".mp4", ".mp4"), (".gif", ".gif"),
                                              (".mp4", ".gif"), (".gif", ".mp4")])
def test_stylize_clip(capsys, tmp_path, src_ext, out_ext):
    src = cf.write_clip(cf.pan(PHOTO, 8, (128, 80)), tmp_path / f"in{src_ext}")
    out = tmp_path / f"out{out_ext}"
    code, stdout, err = run(capsys, "stylize", src, "starry_night", "-o", out,
                            "--strength", "0.8")
    assert code == 0, err
    assert "painting frames 8/8 (100%)" in err and "Traceback" not in err
    assert "wrote" in stdout and "8 frames" in stdout
    clip = open_clip(out)
    assert (clip.info.width, clip.info.height, clip.info.frames) == (128, 80, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, out.name])


def test_one_frame_gif_is_painted_as_a_photo(capsys, tmp_path):
    src = tmp_path / "still.gif"
    Image.open(PHOTO).convert("RGB").resize((101, 75)).save(src, "GIF")
    out = tmp_path / "o.mp4"
    code, stdout, err = run(capsys, "stylize", src, "great_wave", "-o", out)
    assert code == 0, err
    info = open_clip(out).info
    assert info.still and (info.width, info.height) == (100, 74)
    # and a GIF to a picture is the still path, as before
    code, _, err = run(capsys, "stylize", src, "great_wave", "-o", tmp_path / "o.png")
    assert code == 0, err
    assert Image.open(tmp_path / "o.png").size == (101, 75)


def test_long_clip_is_cut_and_says_so(capsys, tmp_path):
    frames = cf.static(PHOTO, 4, (64, 48)) * 15      # 60 frames at 5 fps = 12 s
    src = cf.write_clip(frames, tmp_path / "long.mp4", fps=5)
    code, stdout, err = run(capsys, "stylize", src, "starry_night", "-o", tmp_path / "o.mp4")
    assert code == 0, err
    assert "cut to the first 10 s" in stdout and "50 frames" in stdout


@pytest.mark.parametrize("case", ["corrupt", "audio_only", "picture_out", "missing", "empty"])
def test_bad_clip_input_is_one_line_exit_2(capsys, tmp_path, clip_mp4, case):
    out = tmp_path / "o.mp4"
    if case == "corrupt":
        src = tmp_path / "bad.mp4"
        src.write_bytes(clip_mp4.read_bytes()[: clip_mp4.stat().st_size // 3])
    elif case == "audio_only":
        from devkit.clip_factory import audio_only
        src = audio_only(tmp_path / "a.mp4")
    elif case == "picture_out":
        src, out = clip_mp4, tmp_path / "o.jpg"
    elif case == "missing":
        src = tmp_path / "nope.mp4"
    else:
        src = tmp_path / "empty.mp4"
        src.write_bytes(b"")
    code, _, err = run(capsys, "stylize", src, "starry_night", "-o", out)
    assert code == 2
    line = one_line_error(err)
    assert (out if case == "picture_out" else src).name in line
    assert not out.exists() and not any(p.name.startswith(".o.") for p in tmp_path.iterdir())


def test_unknown_style_for_a_clip_is_exit_2(capsys, tmp_path, clip_mp4):
    code, _, err = run(capsys, "stylize", clip_mp4, "no_such_painting", "-o", tmp_path / "o.mp4")
    assert code == 2 and "unknown style" in one_line_error(err)


def test_module_entry_point(tmp_path, clip_mp4):
    out = tmp_path / "o.gif"
    proc = subprocess.run([sys.executable, "-m", "nst", "stylize", str(clip_mp4),
                           "starry_night", "-o", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(io.BytesIO(out.read_bytes())).n_frames == 8


def test_max_side_shrinks_a_clip(capsys, tmp_path, clip_mp4):
    out = tmp_path / "small.mp4"
    code, _, err = run(capsys, "stylize", clip_mp4, "starry_night", "-o", out, "--max-side", "64")
    assert code == 0, err
    info = open_clip(out).info
    assert (info.width, info.height) == (64, 40)
