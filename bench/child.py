"""Work done in a fresh process, so its peak RSS and start-up cost are its own.

    python -m bench.child rss ours|naive PHOTO SIDE [--pass-pixels N] [--tile-pixels N]
                                   [--kernels xnnpack|reference] [--before SIDE]
                                                      -> stylize once, report peak RSS
    python -m bench.child load litert|tensorflow      -> import + model load, time and RSS
    python -m bench.child backend PHOTO SIDE          -> NST_BACKEND engine: load, 1st, 2nd run
    python -m bench.child session PREVIEW HD          -> NST_BACKEND engine: 8 aspect-ratio
                                                         previews, then one HD result

Prints one JSON object on the last stdout line (read by :func:`bench.measure.run_child`).
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from bench.measure import current_rss_mb, peak_rss_mb

T_START = time.perf_counter()


def _emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def _engine(pass_pixels: int | None = None, tile_pixels: int | None = None,
            kernels: str | None = None):
    """The production engine (``Engine.from_config``), or one built with other constructor
    settings for a what-if row: pass/tile pixels, ``kernels`` "xnnpack" | "reference"."""
    from nst import Engine, EngineConfig

    config = EngineConfig.from_env()
    if pass_pixels is None and tile_pixels is None and kernels is None:
        return Engine.from_config(config)
    from dataclasses import replace

    from nst.backends import make_backend
    from nst.backends.lite import LiteBackend
    from nst.catalog import open_catalog

    if kernels is None:
        backend = make_backend(config)
    else:   # a lite-only setting: the lite backend with those kernels
        backend = LiteBackend(replace(config, backend="lite"), use_xnnpack=kernels == "xnnpack")
    return Engine(backend, open_catalog(config.styles, config.cache_dir),
                  pass_pixels=pass_pixels or config.pass_pixels,
                  tile_pixels=tile_pixels or config.tile_pixels)


def rss(impl: str, photo: Path, side: int, strength: float, before: int | None = None,
        **engine_args: object) -> None:
    """Warm the implementation, then stylize ``photo`` once at ``side`` px; report memory.

    ``photo`` is a JPEG whose long side is already ``side`` (the parent writes one per
    size), so the naive path, which has no resizing step, gets the same input.
    """
    from bench import inputs

    if impl == "ours":
        from nst import StyleOptions, load_image

        engine = _engine(**engine_args)
        engine.warmup()
        img = load_image(photo.read_bytes())
        if before:   # an instance that has served a preview first (the arena never shrinks)
            engine.stylize(img, inputs.PRESET, StyleOptions(brush=inputs.BRUSH, strength=strength, max_side=before))
        ready_rss = current_rss_mb()
        t0 = time.perf_counter()
        out = engine.stylize(img, inputs.PRESET,
                             StyleOptions(brush=inputs.BRUSH, strength=strength, keep_colors=False, max_side=side))
    elif impl == "naive":
        from PIL import Image

        from bench.naive import NaiveStylizer

        naive = NaiveStylizer(inputs.MODEL_DIR)
        style = inputs.preset_image()
        ready_rss = current_rss_mb()
        t0 = time.perf_counter()
        with Image.open(photo) as im:
            out = naive.stylize(im.convert("RGB"), style, strength)
    else:
        raise SystemExit(f"unknown impl {impl!r}")
    seconds = time.perf_counter() - t0
    _emit(impl=impl, side=side, size=list(out.size), seconds=seconds,
          ready_rss_mb=ready_rss, peak_rss_mb=peak_rss_mb())


def load(what: str) -> None:
    """Import the runtime and load the models into it; report time and RSS after."""
    from bench import inputs

    if what == "litert":
        t_imp = time.perf_counter()
        importlib.import_module("ai_edge_litert.interpreter")   # timed: the import is the point

        from bench.naive import PREDICT_MODEL, TRANSFER_MODEL, interpreter

        import_s = time.perf_counter() - t_imp
        for name in (PREDICT_MODEL, TRANSFER_MODEL):
            interpreter(inputs.MODEL_DIR / name).allocate_tensors()
    elif what == "tensorflow":
        t_imp = time.perf_counter()
        import tensorflow as tf

        import_s = time.perf_counter() - t_imp
        tf.constant(1.0) + 1.0  # initialise the runtime (thread pools, allocator)
    else:
        raise SystemExit(f"unknown runtime {what!r}")
    _emit(what=what, import_s=import_s, total_s=time.perf_counter() - T_START,
          rss_mb=current_rss_mb(), peak_rss_mb=peak_rss_mb())


def backend(photo: Path, side: int) -> None:
    """Fresh process on the backend named by NST_BACKEND: load, first and second stylize."""
    t0 = time.perf_counter()
    from nst import Engine, EngineConfig, StyleOptions, load_image

    from bench import inputs

    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    loaded = time.perf_counter() - t0
    loaded_rss = current_rss_mb()
    img = load_image(photo.read_bytes())
    opts = StyleOptions(brush=inputs.BRUSH, max_side=side)
    t1 = time.perf_counter()
    engine.stylize(img, inputs.PRESET, opts)
    first = time.perf_counter() - t1
    t2 = time.perf_counter()
    engine.stylize(img, inputs.PRESET, opts)
    second = time.perf_counter() - t2
    _emit(backend=engine.backend.name, load_s=loaded, loaded_rss_mb=loaded_rss, first_s=first,
          warm_s=second, peak_rss_mb=peak_rss_mb(), since_start_s=time.perf_counter() - T_START)


def session(preview_side: int, hd_side: int) -> None:
    """The NST_BACKEND engine as one instance lives: 8 previews of 8 aspect ratios, then
    one HD result; peak RSS of the whole session and the HD time."""
    from nst import Engine, EngineConfig, StyleOptions

    from bench import inputs

    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    t0 = time.perf_counter()
    for aspect in inputs.ASPECTS:
        engine.stylize(inputs.content_aspect(preview_side, aspect), inputs.PRESET,
                       StyleOptions(brush=inputs.BRUSH, max_side=preview_side))
    previews = time.perf_counter() - t0
    ready_rss, previews_peak = current_rss_mb(), peak_rss_mb()
    hd = inputs.content(hd_side)
    t1 = time.perf_counter()
    out = engine.stylize(hd, inputs.PRESET, StyleOptions(brush=inputs.BRUSH, max_side=hd_side))
    _emit(backend=engine.backend.name, precision=getattr(engine.backend, "precision", ""),
          previews_s=previews, hd_s=time.perf_counter() - t1, size=list(out.size),
          previews_peak_rss_mb=previews_peak, ready_rss_mb=ready_rss, peak_rss_mb=peak_rss_mb(),
          pass_pixels=engine.pass_pixels, tile_pixels=engine.tile_pixels)


def main(argv: list[str] | None = None) -> None:
    """Command line of the child process."""
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_rss = sub.add_parser("rss")
    p_rss.add_argument("impl", choices=("ours", "naive"))
    p_rss.add_argument("photo", type=Path)
    p_rss.add_argument("side", type=int)
    p_rss.add_argument("--strength", type=float, default=1.0)
    p_rss.add_argument("--pass-pixels", type=int, help="ours: Engine(pass_pixels=N)")
    p_rss.add_argument("--tile-pixels", type=int, help="ours: Engine(tile_pixels=N)")
    p_rss.add_argument("--kernels", choices=("xnnpack", "reference"), help="ours: LiteBackend kernels")
    p_rss.add_argument("--before", type=int, metavar="SIDE", help="ours: stylize at SIDE px first")
    p_load = sub.add_parser("load")
    p_load.add_argument("what", choices=("litert", "tensorflow"))
    p_backend = sub.add_parser("backend")
    p_backend.add_argument("photo", type=Path)
    p_backend.add_argument("side", type=int)
    p_session = sub.add_parser("session")
    p_session.add_argument("preview_side", type=int)
    p_session.add_argument("hd_side", type=int)
    args = parser.parse_args(argv)
    if args.cmd == "session":
        session(args.preview_side, args.hd_side)
    elif args.cmd == "rss":
        rss(args.impl, args.photo, args.side, args.strength, args.before,
            pass_pixels=args.pass_pixels, tile_pixels=args.tile_pixels, kernels=args.kernels)
    elif args.cmd == "backend":
        backend(args.photo, args.side)
    else:
        load(args.what)


if __name__ == "__main__":
    main(sys.argv[1:])
