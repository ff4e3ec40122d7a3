"""python -m bench.cases_brush [--repeat N] [--out FILE] [--flicker-only] [--before REV]

Brush rows (issue 16): each brush at 1280 px (the bot's preview) and 4096 px (HD) —
warm stylize time in this process (median of N, interleaved) and the peak RSS of a
fresh process that warms up and stylizes once — and the frame-to-frame flicker of
each brush on a pan; then (issue 22, bench/brush_look.py) the time outside the model
with the default brush, beside nst/brush.py of git revision REV, and the look figures
on the tuning and held-out photos.  Written to bench/RESULTS-brush.md,
kept apart from bench/RESULTS.md (which ``python -m bench`` regenerates).

    python -m bench.cases_brush --child BRUSH SIDE   (one fresh-process measurement)
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import logging
import os
import platform
import subprocess
import sys
from pathlib import Path

from bench import brush_look, inputs
from bench.measure import REPO, child_env, interleave, peak_rss_mb

log = logging.getLogger("bench.brush")
SIDES = (1280, 4096)
OUT = REPO / "bench" / "RESULTS-brush.md"


def _stylize(engine, side: int, brush: str):
    from nst import StyleOptions

    content = inputs.content(side)
    options = StyleOptions(max_side=side, brush=brush)
    return lambda: engine.stylize(content, inputs.PRESET, options)


def child(brush: str, side: int) -> None:
    """Fresh process: warm up, stylize once, print {"seconds", "peak_mb"}."""
    import time

    from nst import Engine, EngineConfig

    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    run = _stylize(engine, side, brush)
    t0 = time.perf_counter()
    run()
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": peak_rss_mb()}), flush=True)


def measure(repeat: int) -> list[dict]:
    from nst import Engine, EngineConfig
    from nst.brush import BRUSHES

    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    rows = []
    for side in SIDES:
        n = repeat if side <= 1280 else max(2, repeat // 2)
        stats = interleave({b: _stylize(engine, side, b) for b in BRUSHES}, n)
        for brush in BRUSHES:
            fresh = run_child_brush(brush, side)
            rows.append({"brush": brush, "side": side, "median_s": stats[brush].median,
                         "min_s": stats[brush].min, "max_s": stats[brush].max, "n": stats[brush].n,
                         "fresh_s": fresh["seconds"], "peak_mb": fresh["peak_mb"]})
            log.info("%s", rows[-1])
    return rows


def run_child_brush(brush: str, side: int) -> dict:
    """``python -m bench.cases_brush --child BRUSH SIDE`` in a fresh process; its JSON."""
    proc = subprocess.run([sys.executable, "-m", "bench.cases_brush", "--child", brush, str(side)],
                          capture_output=True, text=True, timeout=600, cwd=REPO, env=child_env(),
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"brush child {brush} {side} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def flicker(frames: int = 6, shift: float = 7.3, width: int = 1024) -> dict[str, float]:
    """Per-frame stylization of a sub-pixel horizontal pan (a window sliding ``shift`` px
    per frame over the photo).  Each output is compared with the next one moved back by
    ``shift`` (Lanczos): mean |Δ| in levels, divided by the same figure for the photo
    frames themselves (the clip's own error, from resampling alone).  1 = no flicker."""
    import math

    import numpy as np
    from PIL import Image

    from nst import Engine, EngineConfig, StyleOptions
    from nst.brush import BRUSHES

    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    photo = inputs.content(1800)
    height = round(width * photo.height / photo.width)
    keep = width - math.ceil(shift) - 1

    def frame(i: int) -> Image.Image:
        x0 = i * shift
        return photo.resize((width, height), Image.Resampling.LANCZOS,
                            box=(x0, 0, x0 + width, height))

    def error(seq: list[Image.Image]) -> float:
        diffs = []
        for a, b in itertools.pairwise(seq):
            moved = np.asarray(a.resize((keep, height), Image.Resampling.LANCZOS,
                                        box=(shift, 0, shift + keep, height)), np.float32)
            diffs.append(np.abs(moved - np.asarray(b, np.float32)[:, :keep]).mean())
        return float(np.mean(diffs))

    crops = [frame(i) for i in range(frames)]
    own = error(crops)
    result = {"photo": own}
    for brush in BRUSHES:
        outs = [engine.stylize(c, inputs.PRESET, StyleOptions(max_side=width, brush=brush))
                for c in crops]
        result[brush] = error(outs)
        log.info("flicker %s: %.2f levels (%.1f× the photo's own %.2f)", brush, result[brush],
                 result[brush] / own, own)
    return result


def markdown(rows: list[dict], flick: dict[str, float] | None = None,
             look: dict | None = None) -> str:
    backend = os.environ.get("NST_BACKEND", "openvino")
    lines = [
        "# Brush benchmark (python -m bench.cases_brush)",
        "",
        (f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {platform.machine()} · "
         f"{os.cpu_count()} CPUs (shared with other work while measured) · backend {backend} · "
         f"preset {inputs.PRESET} · the 1800×1200 test photo resized to the side."),
        "",
        ("Warm time: median (min–max) of n runs in one process, brushes interleaved. "
         "Peak RSS: VmHWM of a fresh process that loads, warms up and stylizes once "
         "(its one-run time beside it)."),
        "",
        "| brush | output | warm time | n | fresh-process run | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['brush']} | {r['side']} px | {r['median_s']:.2f} s "
                     f"({r['min_s']:.2f}–{r['max_s']:.2f}) | {r['n']} | {r['fresh_s']:.2f} s | "
                     f"{r['peak_mb']:.0f} MB |")
    if flick:
        own = flick["photo"]
        lines += ["", "## Flicker (for animations)", "",
                  ("Plain per-frame stylization (no temporal smoothing) of a sub-pixel pan: a "
                   "1024-px window moving 7.3 px per frame, 6 frames. Each output vs the next one "
                   "moved back by 7.3 px: mean |Δ| in levels of 255, and that over the photo "
                   "frames' own error (resampling alone)."), "",
                  "| brush | frame-to-frame mean abs diff | × the photo's own |", "|---|---|---|"]
        lines += [f"| {b} | {v:.2f} | {v / own:.1f}× |" for b, v in flick.items() if b != "photo"]
        lines.append(f"| (photo) | {own:.2f} | 1× |")
    if look:
        lines += brush_look.markdown(look["split"], look["looks"], look["hd"])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cases_brush", description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--flicker-only", action="store_true",
                   help="keep the time/RSS rows of the last run, measure the flicker again")
    p.add_argument("--before", metavar="REV",
                   help="also time nst/brush.py of this git revision (before/after in one run)")
    p.add_argument("--child", nargs=2, metavar=("BRUSH", "SIDE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    saved = {}
    if args.flicker_only and args.out.with_suffix(".json").exists():
        saved = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        rows = saved["rows"] if isinstance(saved, dict) else saved
    else:
        rows = measure(args.repeat)
    flick = flicker()
    look = saved.get("look") if args.flicker_only else brush_look.measure(args.before, 2 * args.repeat)
    text = markdown(rows, flick, look)
    args.out.write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps({"rows": rows, "flicker": flick, "look": look}, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
