"""A clip painted in a fresh process, so its peak RSS is its own.

    python -m bench.clip_child CLIP OUT   -> warm the engine, stylize_clip CLIP → OUT (MP4)

Prints one JSON object on the last stdout line (read by :func:`bench.measure.run_child`).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench.measure import current_rss_mb, peak_rss_mb


def main(argv: list[str]) -> None:
    from nst import Engine, EngineConfig, StyleOptions
    from nst.animate import stylize_clip
    from nst.video import open_clip

    from bench import inputs

    src, out = Path(argv[0]), Path(argv[1])
    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    ready = current_rss_mb()
    t0 = time.perf_counter()
    result = stylize_clip(engine, open_clip(src), inputs.PRESET, StyleOptions(), out)
    print(json.dumps({"frames": result.frames, "size": list(result.size),
                      "seconds": time.perf_counter() - t0, "ready_rss_mb": ready,
                      "peak_rss_mb": peak_rss_mb()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
