"""python -m bench.cases_miniapp [--repeat N] [--out FILE]

Mini App previews (issue 25): how long one preview of the user's photo takes, p50 / p95,
side by side in one run with the chat's own 1280 px painting (bold brush):

- engine: ``paint_preview`` alone (decoded photo in memory, one render thread), per brush;
- HTTP: the whole path a tap takes — POST /app/api/preview with signed launch data to
  create_app() over loopback (initData check, token lookup, rate limit, fair queue, paint,
  JPEG) — cycling through the presets and strengths like a user comparing.

Written to bench/RESULTS-miniapp.md (kept apart from bench/RESULTS.md).
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlparse

from bench import inputs
from bench.measure import REPO, Stats, interleave

log = logging.getLogger("bench.miniapp")
OUT = REPO / "bench" / "RESULTS-miniapp.md"
TARGET_MS = 250.0


def engine_rows(repeat: int) -> list[tuple[str, Stats]]:
    from nst import Engine, EngineConfig, StyleOptions

    from bot.webapp.service import PHOTO_SIDE, Choice, paint_preview

    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    photo = inputs.content(PHOTO_SIDE)
    chat = inputs.content(1280)
    variants: dict[str, Callable[[], object]] = {
        f"preview, {brush} brush": (lambda b=brush: paint_preview(
            engine, photo, Choice(inputs.PRESET, None, 100, b, False)))
        for brush in ("bold", "medium", "fine")}
    variants["chat result 1280 px, bold"] = lambda: engine.stylize(
        chat, inputs.PRESET, StyleOptions(max_side=1280, brush="bold"))
    stats = interleave(variants, repeat)   # its untimed first round compiles the shapes
    return [(name, stats[name]) for name in variants]


def http_rows(repeat: int) -> list[tuple[str, Stats]]:
    from devkit.miniapp import serve_app

    with tempfile.TemporaryDirectory() as folder:
        for srv in serve_app(Path(folder), previews_per_minute=10_000):
            seconds = _tap_times(srv, repeat * 4)
    return [("HTTP tap → preview (bold, presets × strengths)", Stats.of(seconds))]


def _tap_times(srv: Any, count: int) -> list[float]:
    """Seconds of `count` preview requests, after one untimed request per preset."""
    url = srv.open_for(1, inputs.content_jpeg(1280))
    body = {"init_data": srv.signed(1), "token": parse_qs(urlparse(url).query)["t"][0]}
    engine = srv.app.extensions["bot_runtime"].get().engine
    presets = [p.id for p in engine.catalog.presets()]
    for preset in presets:   # warm: the download, every style vector
        assert srv.api("preview", {**body, "preset": preset})[0] == 200
    choices = itertools.cycle(itertools.product(presets, (100, 75, 50)))
    seconds = []
    for _ in range(count):
        preset, pct = next(choices)
        t0 = time.perf_counter()
        status, _ = srv.api("preview", {**body, "preset": preset, "strength": pct})
        seconds.append(time.perf_counter() - t0)
        assert status == 200, status
    return seconds


def markdown(rows: list[tuple[str, Stats]], repeat: int) -> str:
    chat = next(s for name, s in rows if name.startswith("chat"))
    lines = [
        "# Mini App previews (python -m bench.cases_miniapp)", "",
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.machine()} · "
        f"{os.cpu_count()} CPUs (shared with other work while measured) · backend "
        f"{os.environ.get('NST_BACKEND') or 'openvino'} · preset {inputs.PRESET} · "
        "the 1800×1200 test photo. Previews are 448 px on the long side (a finer brush "
        "paints at 640 / 896 px and shrinks, so the strokes match the sent painting).", "",
        f"Target: p50 ≤ {TARGET_MS:.0f} ms per preview on 2 cores. Engine rows: one "
        f"process, variants interleaved, n = {repeat}. HTTP: every tap through the whole "
        "path over loopback.", "",
        "| what | p50 | p95 | min–max | n | p50 vs chat result | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in rows:
        target = "—" if name.startswith("chat") else (
            "met" if s.median * 1000 <= TARGET_MS else "missed")
        lines.append(f"| {name} | {s.median * 1000:.0f} ms | {s.p95 * 1000:.0f} ms | "
                     f"{s.min * 1000:.0f}–{s.max * 1000:.0f} ms | {s.n} | "
                     f"{s.median / chat.median:.2f}× | {target} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cases_miniapp")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("NST_MODEL_DIR", str(inputs.MODEL_DIR))
    rows: list[Any] = engine_rows(args.repeat) + http_rows(args.repeat)
    text = markdown(rows, args.repeat)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
