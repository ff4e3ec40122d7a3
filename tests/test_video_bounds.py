"""Clip decoding is bounded by the clip caps, whatever the file says (or does not say)
about time: a bare H.264 stream has no timestamps at all."""
from __future__ import annotations

import time
from pathlib import Path

from nst.video import open_clip
from devkit.clip_factory import raw_h264

SIZE = (320, 240)   # big enough for the decode, not the noise, to dominate


def _paint_time(path: Path) -> tuple[float, int]:
    """CPU seconds (all threads: the work, not the shared machine's scheduling) to scan
    and decode every kept frame, best of 5."""
    best, count = float("inf"), 0
    for _ in range(5):
        started = time.process_time()
        clip = open_clip(path)
        count = sum(1 for _ in clip.frames())
        best = min(best, time.process_time() - started)
    assert count == clip.info.frames
    return best, count


def test_timestamp_less_stream_decodes_only_the_capped_part(tmp_path: Path) -> None:
    """1× and 4× the frames: both painted (the first 10 s at 15 fps), in about the same time."""
    short = raw_h264(tmp_path / "short.mp4", 600, SIZE)     # 24 s at 25 fps: already cut
    long = raw_h264(tmp_path / "long.mp4", 2400, SIZE)
    (t1, n1), (t4, n4) = _paint_time(short), _paint_time(long)
    print(f"\n[clip] bare H.264 600 frames {t1 * 1000:.0f} ms, 2400 frames {t4 * 1000:.0f} ms "
          f"(ratio {t4 / t1:.2f})")
    assert n1 == n4 == 150
    assert open_clip(long).info.cut
    assert t4 / t1 <= 1.5, (t1, t4)


def test_timestamp_less_frames_get_the_scans_times(tmp_path: Path) -> None:
    clip = open_clip(raw_h264(tmp_path / "raw.h264", 60, SIZE))
    times = [t for t, _ in clip.frames()]
    assert len(times) == clip.info.frames == 36     # 60 frames at 25 fps → 2.4 s at 15 fps
    assert times == clip._times
