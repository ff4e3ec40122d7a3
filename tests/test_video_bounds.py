"""Clip decoding is bounded by the clip caps, whatever the file says (or does not say)
about time: a bare H.264 stream has no timestamps at all."""
from __future__ import annotations

import time
from pathlib import Path

from nst.video import open_clip
from devkit.clip_factory import raw_h264

SIZE = (160, 120)


def _paint_time(path: Path) -> tuple[float, int]:
    """Best of 3 (the machine is shared): seconds to scan and decode every kept frame."""
    best, count = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        clip = open_clip(path)
        count = sum(1 for _ in clip.frames())
        best = min(best, time.perf_counter() - started)
    assert count == clip.info.frames
    return best, count


def test_timestamp_less_stream_decodes_only_the_capped_part(tmp_path: Path) -> None:
    """1× and 4× the frames: both painted (the first 10 s at 15 fps), in about the same time."""
    short = raw_h264(tmp_path / "short.mp4", 400, SIZE)     # 16 s at 25 fps: already cut
    long = raw_h264(tmp_path / "long.mp4", 1600, SIZE)
    (t1, n1), (t4, n4) = _paint_time(short), _paint_time(long)
    print(f"\n[clip] bare H.264 400 frames {t1 * 1000:.0f} ms, 1600 frames {t4 * 1000:.0f} ms "
          f"(ratio {t4 / t1:.2f})")
    assert n1 == n4 == 150
    assert open_clip(long).info.cut
    assert t4 / t1 <= 1.5, (t1, t4)


def test_timestamp_less_frames_get_the_scans_times(tmp_path: Path) -> None:
    clip = open_clip(raw_h264(tmp_path / "raw.h264", 60, SIZE))
    times = [t for t, _ in clip.frames()]
    assert len(times) == clip.info.frames == 36     # 60 frames at 25 fps → 2.4 s at 15 fps
    assert times == clip._times
