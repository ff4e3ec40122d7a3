"""Clip intake and output (nst.video): caps, streaming, and every kind of bad clip."""
from __future__ import annotations

import io
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from nst.errors import ClipError, NstError
from nst.video import ClipLimits, ClipWriter, even_size, open_clip
from devkit import clip_factory as cf
from devkit.clip_factory import audio_only, bars, encode_clip, gif_canvas_bomb
from tests.conftest import MAGENTA_DIR

PHOTO = MAGENTA_DIR / "content" / "golden_gate_sq.jpg"


@pytest.mark.parametrize("ext", [".mp4", ".gif"])
def test_round_trip_keeps_frames_times_and_size(tmp_path: Path, ext: str) -> None:
    path = cf.write_clip(bars(12, (120, 80)), tmp_path / f"c{ext}", fps=10)
    clip = open_clip(path)
    info = clip.info
    assert (info.width, info.height, info.frames, info.cut) == (120, 80, 12, False)
    assert info.duration == pytest.approx(1.2, abs=0.02)
    frames = list(clip.frames())
    assert [round(t, 2) for t, _ in frames] == [round(i / 10, 2) for i in range(12)]
    assert frames[3][1].shape == (80, 120, 3)
    # the picture survives the codec (bright bar where it was drawn)
    assert frames[3][1][40, 14:18, 0].min() > 200 and frames[3][1][40, 60, 0] < 90
    if ext == ".mp4":
        data = path.read_bytes()
        assert data.find(b"moov") < data.find(b"mdat")   # faststart: playable while loading
        with av.open(str(path)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
            assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
            assert not c.streams.audio
    else:
        assert Image.open(path).n_frames == 12


def test_caps_fps_by_dropping_evenly_and_scales_to_even_sides(tmp_path: Path) -> None:
    path = encode_clip(tmp_path / "fast.mp4", 60, (402, 226), 30)
    clip = open_clip(path, ClipLimits(max_side=161))
    info = clip.info
    assert info.frames == 30 and not info.cut            # 30 fps → every 2nd frame
    assert (info.width, info.height) == (160, 90)        # long side ≤ 161, both even
    times = [t for t, _ in clip.frames()]
    gaps = np.diff(times)
    assert len(times) == 30 and np.allclose(gaps, 2 / 30, atol=1e-3)


def test_odd_rate_is_thinned_evenly(tmp_path: Path) -> None:
    clip = open_clip(encode_clip(tmp_path / "25.mp4", 50, (64, 48), 25))
    gaps = np.diff([t for t, _ in clip.frames()])
    assert 28 <= clip.info.frames <= 31          # 2 s at ≤ 15 fps
    assert gaps.min() >= 0.04 - 1e-6 and gaps.max() <= 0.08 + 1e-6


def test_long_1080p_video_is_cut_to_the_cap(tmp_path: Path) -> None:
    """A 30 s 1080p video: the first 10 s are kept, scaled to 640 px, and we say so."""
    path = encode_clip(tmp_path / "long.mp4", 60, (1920, 1080), 2)
    started = time.monotonic()
    clip = open_clip(path)
    info = clip.info
    assert info.cut and info.source_duration == pytest.approx(30, abs=0.6)
    assert (info.width, info.height) == (640, 360)
    assert info.frames == 20 and info.duration <= 10.0
    assert sum(1 for _ in clip.frames()) == 20
    assert time.monotonic() - started < 20


def test_one_frame_gif_is_a_still() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (90, 60), (200, 30, 30)).save(buf, "GIF")
    clip = open_clip(buf.getvalue())
    assert clip.info.still
    still = clip.still()
    assert still.size == (90, 60) and still.getpixel((5, 5))[0] > 150


def _zero_frames(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        out.start_encoding()
    return path


def _garbled(tmp_path: Path) -> bytes:
    data = bytearray(cf.write_clip(bars(20, (120, 80)), tmp_path / "g.mp4").read_bytes())
    mdat = data.find(b"mdat")
    data[mdat + 40:mdat + 1500] = b"\xff" * (1500 - 40)
    return bytes(data)


@pytest.mark.parametrize("case, code", [
    ("empty", "empty"),
    ("not_a_video", "corrupt"),
    ("truncated", "corrupt"),
    ("garbled", "corrupt"),
    ("audio_only", "no_video"),
    ("zero_frames", "no_frames"),
    ("canvas_bomb", "too_big"),
])
def test_bad_clips_are_typed_errors_with_friendly_messages(tmp_path: Path, case: str,
                                                           code: str) -> None:
    good = cf.write_clip(bars(20, (120, 80)), tmp_path / "ok.mp4").read_bytes()
    source = {
        "empty": lambda: b"",
        "not_a_video": lambda: b"this is a letter, not a video " * 20,
        "truncated": lambda: good[:len(good) // 2],
        "garbled": lambda: _garbled(tmp_path),
        "audio_only": lambda: audio_only(tmp_path / "a.mp4"),
        "zero_frames": lambda: _zero_frames(tmp_path / "z.mp4"),
        "canvas_bomb": lambda: gif_canvas_bomb(30000),
    }[case]()
    with pytest.raises(ClipError) as info:
        list(open_clip(source).frames())   # the scan, or the decode, refuses it
    err = info.value
    assert isinstance(err, NstError) and err.code == code
    assert "\n" not in err.user_message and "Errno" not in err.user_message
    assert err.user_message.endswith(".")


def test_frame_count_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    """1000 fps: more frames in the kept 10 s than any real clip has."""
    path = encode_clip(tmp_path / "1000fps.mp4", 3100, (16, 16), 1000)
    started = time.monotonic()
    with pytest.raises(ClipError) as info:
        open_clip(path)
    assert info.value.code == "too_many_frames"
    assert time.monotonic() - started < 5


def test_gif_with_thousands_of_frames_is_cut_not_decoded_whole(tmp_path: Path) -> None:
    frames = bars(4, (16, 16)) * 1000          # 4000 frames of 0.05 s = 200 s
    path = cf.write_clip(frames, tmp_path / "many.gif", fps=20)
    started = time.monotonic()
    clip = open_clip(path)
    assert clip.info.cut and clip.info.frames == 150          # 10 s at 15 fps
    assert sum(1 for _ in clip.frames()) == 150
    assert time.monotonic() - started < 5


def test_even_size() -> None:
    assert even_size(1920, 1080, 640) == (640, 360)
    assert even_size(101, 57, 640) == (100, 56)
    assert even_size(3, 1000, 640) == (2, 640)


def test_writer_refuses_odd_sides_and_wrong_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ClipWriter(tmp_path / "x.mp4", "mp4", (101, 80))
    with ClipWriter(tmp_path / "y.mp4", "mp4", (100, 80)) as writer:
        with pytest.raises(ValueError):
            writer.write(0.0, np.zeros((10, 10, 3), np.uint8))
        writer.write(0.0, np.zeros((80, 100, 3), np.uint8))
    assert open_clip(tmp_path / "y.mp4").info.still


@pytest.mark.parametrize("degrees, turned", [(90, 1), (-90, 3), (180, 2)])
def test_phone_rotation_is_applied(tmp_path: Path, degrees: int, turned: int) -> None:
    """A portrait phone video is stored landscape with a display matrix: frames come out
    as the phone shows them."""
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :8] = 255                                   # a white band on the left
    path = encode_clip(tmp_path / "rot.mp4", 3, (64, 32), 10, [stored] * 3, rotation=degrees)
    clip = open_clip(path)
    expected = np.rot90(stored, turned)
    assert (clip.info.width, clip.info.height) == expected.shape[1::-1]
    _, first = next(iter(clip.frames()))
    assert first.shape == expected.shape
    assert np.abs(first.astype(int) - expected.astype(int)).mean() < 20
    assert clip.still().size == expected.shape[1::-1]
