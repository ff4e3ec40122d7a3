"""Speed round 3 (issue 23): each figure beside the naive LiteRT baseline, in one run.

* ``speed_preset_1024`` — warm 1024 px preset, the preset's default brush, public API,
  vs baseline B (bench/naive.py) interleaved.
* ``speed_cold`` — a new instance: spawn gunicorn (app.yaml) → /healthz → /_ah/warmup →
  photo → press → sendPhoto at the fake, with an empty NST_CACHE_DIR: built-in presets,
  and presets + their codes synced from a bucket (fake-gcs-server, ``styles push``);
  vs the naive CLI, one whole process on one 1024 px photo (bench/naive_cli.py).
  Also OpenVINO's model cache (CACHE_DIR): compile in a fresh process, none / empty / warm.
* ``speed_queue`` — 8 users × 8 aspect ratios at once through the webhook (gunicorn): one
  render worker vs two, beside the naive LiteRT painting them one after another.
* ``speed_streams`` — OpenVINO's throughput mode (``Backend.batch_transfer``: 2 streams ×
  1 thread) vs the latency mode (1 stream × 2 threads): clip frames, a queue of waiting
  photos, a lone photo.

    python -m bench.cases_speed compile none|DIR   (child: import + read + compile + 1 pass)
"""
from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import inputs
from bench.context import Context
from bench.measure import REPO, Stats, child_env, interleave, run_child
from bench.report import Row, fmt

log = logging.getLogger(__name__)

TARGET_PRESET = 0.08       # warm 1024 px preset, default brush, vs naive B
TARGET_COLD = 0.45         # spawn → first painting vs the naive CLI's whole process
COLD_SIDE = 1024
CLIP_FRAMES, CLIP_SIZE = 75, (480, 320)
QUEUE = 4                  # waiting photos in the queue row
QUEUE_SIDE = 1280


# --- warm preset ---------------------------------------------------------------------------
def preset_1024(ctx: Context) -> list[Row]:
    """engine.stylize(1024 px, preset, default brush) vs naive B, interleaved."""
    from nst import StyleOptions

    img, style = inputs.content(1024), inputs.preset_image()
    options = StyleOptions(max_side=1024)   # brush None: the preset's own default
    brush = ctx.engine.default_brush(inputs.PRESET)
    stats = interleave({
        "ours": lambda: ctx.engine.stylize(img, inputs.PRESET, options),
        "naive": lambda: ctx.naive.stylize(img, style),
    }, ctx.reps(7))
    ctx.release_naive()
    ours, naive = stats["ours"], stats["naive"]
    ratio = ours.median / naive.median
    return [Row("speed_preset_1024", f"warm 1024 px preset, default brush ({brush}), public API",
                ours.median, "s", ours.as_dict(), baseline="naive B (LiteRT)",
                baseline_value=naive.median, ratio=ratio, target=f"≤ {TARGET_PRESET:g} × naive",
                met=ratio <= TARGET_PRESET,
                note=f"ours min {fmt(ours.min, 's')}, naive min {fmt(naive.min, 's')} "
                     f"(ratio of minima {ours.min / naive.min:.3f}); {inputs.PRESET}, "
                     f"{img.width}×{img.height}")]


# --- faces (the default protection) ---------------------------------------------------------
def protect_cost(ctx: Context) -> list[Row]:
    """What protect=faces (the default) adds to a warm 1280 px painting, vs protect=none,
    interleaved; a new photo each time (no remembered detection) and its repaint."""
    from nst import StyleOptions

    img = inputs.content(QUEUE_SIDE)
    photos = iter(inputs.fresh_copies(QUEUE_SIDE, 256))

    def fresh() -> object:   # a photo not painted before: the detection is not remembered
        return ctx.engine.stylize(next(photos), inputs.PRESET, StyleOptions(max_side=QUEUE_SIDE))

    def searched_first() -> object:   # the faces searched before the painting, not beside it
        photo = next(photos)
        return ctx.engine.stylize(photo, inputs.PRESET, StyleOptions(max_side=QUEUE_SIDE),
                                  subjects=ctx.engine.subjects(photo))

    stats = interleave({
        "none": lambda: ctx.engine.stylize(img, inputs.PRESET,
                                           StyleOptions(max_side=QUEUE_SIDE, protect="none")),
        "faces": fresh,
        "first": searched_first,
        "repaint": lambda: ctx.engine.stylize(img, inputs.PRESET, StyleOptions(max_side=QUEUE_SIDE)),
    }, ctx.reps(9))
    none = stats["none"]
    return [Row("speed_protect", f"warm {QUEUE_SIDE} px preset, protect={label}", stats[key].median,
                "s", stats[key].as_dict(), baseline="protect=none", baseline_value=none.median,
                ratio=stats[key].median / none.median,
                note=f"{img.width}×{img.height}, no face in it (the detector's full search runs)")
            for key, label in (("faces", "faces (default), new photo"),
                               ("first", "faces (default), new photo, searched before painting"),
                               ("repaint", "faces (default), same photo again"))]


# --- cold start ------------------------------------------------------------------------------
@contextlib.contextmanager
def _styles_bucket(scratch: Path) -> Iterator[dict[str, str]]:
    """fake-gcs-server (devkit/fake_gcs.py, a child process) with the built-in presets
    pushed (their vectors.npz too); yields the env a server needs to use it."""
    import os

    from devkit import fake_gcs
    from nst.catalog.push import push_presets
    from nst.config import BUILTIN_STYLES

    with fake_gcs.serve(["bench-styles"], scratch) as server:
        env = {"STORAGE_EMULATOR_HOST": server.url,
               "STYLES": "gs://bench-styles/presets", "GOOGLE_CLOUD_PROJECT": "bench"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            push_presets(BUILTIN_STYLES, env["STYLES"])
            yield env
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _instance(ctx: Context, fake, n: int, photo: bytes, extra: dict[str, str]) -> dict[str, float]:
    """One new instance: seconds from spawn to /healthz, /_ah/warmup, keyboard, painting."""
    from bench.cases_web import _post
    from bench.web import Gunicorn, Users

    scratch = Path(tempfile.mkdtemp(dir=ctx.scratch, prefix="cold-"))
    users = Users(fake, photo, first_id=20_000 + 10 * n)
    with Gunicorn(fake, scratch, extra_env=extra) as server:
        def since() -> float:
            return time.monotonic() - server.spawned

        status, body = server.request("GET", "/healthz")
        if status != 200:
            raise RuntimeError(f"/healthz answered {status}: {body[:200]} {server.log_tail()}")
        health = since()
        server.warm()
        warm = since()
        uid, press = users.prepare(_post(server))
        keyboard = since()
        status, body = _post(server)(press)
        if status != 200:
            raise RuntimeError(f"press answered {status}: {body[:200]} {server.log_tail()}")
        painted = since() - (time.time() - users.painting_time(uid, 60))
    shutil.rmtree(scratch, ignore_errors=True)
    return {"healthz": health, "warmup": warm, "keyboard": keyboard, "painting": painted}


def _naive_cli(ctx: Context) -> float:
    photo = ctx.photo_file(COLD_SIDE)
    style = ctx.scratch / "naive-style.jpg"
    if not style.exists():
        inputs.preset_image().save(style, "JPEG", quality=95)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.naive_cli", str(photo), str(style),
                           str(ctx.scratch / "naive-cli.jpg")], cwd=REPO, env=child_env(),
                          capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"naive CLI failed: {proc.stderr[-1000:]}")
    return elapsed


def cold(ctx: Context) -> list[Row]:
    """New instance → first painting, side by side with the naive CLI's whole process."""
    from bench.cases_web import fake_telegram
    from devkit.runtime_only import hiding_env

    photo = inputs.content_jpeg(COLD_SIDE)
    runs: dict[str, list] = {"naive": [], "builtin": [], "bucket": [], "machine": []}
    # A new App Engine instance has requirements.txt installed and nothing else.
    runtime_only = hiding_env(ctx.scratch, child_env()["PYTHONPATH"])
    with fake_telegram() as fake, _styles_bucket(ctx.scratch) as bucket_env:
        variants: dict[str, Callable[[int], object]] = {
            "naive": lambda n: _naive_cli(ctx),
            "builtin": lambda n: _instance(ctx, fake, n, photo, runtime_only),
            "bucket": lambda n: _instance(ctx, fake, 1000 + n, photo,
                                          {**bucket_env, **runtime_only}),
            "machine": lambda n: _instance(ctx, fake, 2000 + n, photo, {}),
        }
        for i in range(ctx.reps(5)):
            for name in (list(variants) if i % 2 == 0 else list(reversed(variants))):
                runs[name].append(variants[name](i))
    naive = Stats.of(runs["naive"])
    rows = []
    for name, label in (("builtin", "built-in presets"),
                        ("bucket", "presets + codes synced from the styles bucket"),
                        ("machine", "built-in presets, with every package of this machine "
                                    "importable (dev tools too)")):
        paint = Stats.of([r["painting"] for r in runs[name]])
        phases = {k: Stats.of([r[k] for r in runs[name]]).median
                  for k in ("healthz", "warmup", "keyboard")}
        ratio = paint.median / naive.median
        rows.append(Row(
            "speed_cold", f"new instance, empty cache, {label}: spawn → /healthz → "
            f"/_ah/warmup → first painting", paint.median, "s", paint.as_dict(),
            baseline=f"naive CLI, one {COLD_SIDE} px photo, whole process",
            baseline_value=naive.median, ratio=ratio,
            target=f"≤ {TARGET_COLD:g} × naive CLI" if name != "machine" else None,
            met=ratio <= TARGET_COLD if name != "machine" else None,
            note=f"medians since spawn: /healthz {fmt(phases['healthz'], 's')}, warmup done "
                 f"{fmt(phases['warmup'], 's')}, keyboard {fmt(phases['keyboard'], 's')}, "
                 f"painting {fmt(paint.median, 's')} (n={paint.n}); naive min "
                 f"{fmt(naive.min, 's')}, ours min {fmt(paint.min, 's')} (ratio of minima "
                 f"{paint.min / naive.min:.2f}); the user's photo is {COLD_SIDE} px, painted at it"))
    return rows + _model_cache(ctx)


def _model_cache(ctx: Context) -> list[Row]:
    """OpenVINO CACHE_DIR: a fresh process compiling the transformer, interleaved."""
    cache = ctx.scratch / "ov-cache"
    samples: dict[str, list[float]] = {"none": [], "snippets": [], "tflite": [], "empty": [],
                                       "warm": []}
    run_child(["compile", str(cache)], module="bench.cases_speed")   # fills the warm cache
    for i in range(ctx.reps(7)):
        for name in (list(samples) if i % 2 == 0 else list(reversed(samples))):
            if name == "empty":
                target = Path(tempfile.mkdtemp(dir=ctx.scratch, prefix="ov-empty-"))
            else:
                target = cache if name == "warm" else Path("none")
            args = ["compile", str(target)] + ([name] if name in ("snippets", "tflite") else [])
            out = run_child(args, module="bench.cases_speed")
            samples[name].append(out["seconds"])
    none = Stats.of(samples["none"])
    rows = []
    for name, baseline, note in (
            ("snippets", "OpenVINO's default (snippets on)",
             "the warm speed is the same either way (preset_1024)"),
            ("tflite", "the .tflite read (converted) at each start", "the same graph, painting "
             "exactly alike (tests/test_ov_ir.py)")):
        other = Stats.of(samples[name])
        rows.append(Row("speed_cold", "OpenVINO as shipped (transformer IR, snippets off): "
                        "import + read + compile + first pass", none.median, "s", none.as_dict(),
                        baseline=baseline, baseline_value=other.median,
                        ratio=none.median / other.median, note=f"fresh process each; {note}"))
    for name, label in (("empty", "empty CACHE_DIR (a new instance)"),
                        ("warm", "CACHE_DIR filled by an earlier run")):
        s = Stats.of(samples[name])
        rows.append(Row("speed_cold", f"OpenVINO model cache, {label}: import + read + compile "
                        "+ first pass", s.median, "s", s.as_dict(), baseline="no cache",
                        baseline_value=none.median, ratio=s.median / none.median,
                        note="fresh process each; not kept: a new instance starts with an "
                             "empty /tmp (see bench/RESULTS.md notes)"))
    return rows


def compile_child(target: str, variant: str = "shipped") -> None:
    """Child: openvino import + read + reshape + compile (+ CACHE_DIR unless 'none') + a pass,
    as shipped; `variant` "snippets" compiles with OpenVINO's defaults, "tflite" reads the
    .tflite instead of the shipped IR."""
    import numpy as np

    t0 = time.perf_counter()
    from nst.backends import ov_ir
    from nst.backends.openvino import COMPILE_PROPS, import_runtime
    from nst.models import SPECS, TRANSFORMER, locate

    core = import_runtime().Core()
    if target != "none":
        core.set_property({"CACHE_DIR": target})
    path = locate(TRANSFORMER)
    model = (core.read_model(str(path)) if variant == "tflite"
             else ov_ir.read_model(core, path, SPECS[TRANSFORMER].sha256))
    style = next(i.get_any_name() for i in model.inputs if i.get_any_name() != "content_image")
    model.reshape({"content_image": [1, -1, -1, 3], style: [1, 1, 1, 100]})
    props = {"INFERENCE_NUM_THREADS": 2, **({} if variant == "snippets" else COMPILE_PROPS)}
    request = core.compile_model(model, "CPU", props).create_infer_request()
    request.infer({"content_image": np.zeros((1, 336, 448, 3), np.float32),
                   style: np.zeros((1, 1, 1, 100), np.float32)})
    print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)


# --- throughput mode --------------------------------------------------------------------------
def streams(ctx: Context) -> list[Row]:
    """Latency mode (one at a time on every thread) vs throughput mode (2 streams × 1 thread)."""
    import numpy as np
    from PIL import Image

    from devkit.clip_factory import pan
    from nst import StyleOptions
    from nst.brush import DEFAULT_BRUSH, paint_size

    from dataclasses import replace

    from nst import Engine, EngineConfig

    engine = Engine.from_config(replace(EngineConfig.from_env(), streams=2))
    engine.warmup()
    backend = engine.backend
    if backend.streams < 2:
        return [Row("speed_streams", "throughput mode", float("nan"), "",
                    note=f"backend {backend.name} has {backend.streams} stream: nothing to compare")]
    frames = pan(inputs.CONTENT_PHOTO, CLIP_FRAMES, CLIP_SIZE)
    code = engine.style_code(inputs.PRESET)
    pw, ph = paint_size(QUEUE_SIDE, QUEUE_SIDE * 3 // 4, DEFAULT_BRUSH) or (QUEUE_SIDE, QUEUE_SIDE * 3 // 4)
    photos = [np.asarray(inputs.content_aspect(max(pw, ph), a), np.float32) / 255.0
              for a in inputs.ASPECTS[:QUEUE]]
    pool = ThreadPoolExecutor(backend.streams)

    def sequential(items, fn) -> Callable[[], None]:
        return lambda: [fn(x) for x in items]

    def parallel(items, fn) -> Callable[[], None]:
        return lambda: list(pool.map(fn, items))

    render_lat = engine.frame_renderer(inputs.PRESET, StyleOptions(), Image.fromarray(frames[0]))
    render_tp = engine.frame_renderer(inputs.PRESET, StyleOptions(), Image.fromarray(frames[0]),
                                      batch=True)
    reps = ctx.reps(5)
    clip = interleave({"latency": sequential(frames, render_lat),
                       "throughput": parallel(frames, render_tp)}, reps)
    queue = interleave({"latency": sequential(photos, lambda x: backend.transfer(x, code)),
                        "throughput": parallel(photos, lambda x: backend.batch_transfer(x, code))},
                       reps)
    lone = interleave({"latency": lambda: backend.transfer(photos[0], code),
                       "throughput": lambda: backend.batch_transfer(photos[0], code)}, reps * 2)
    pool.shutdown()
    rows = []
    for stats, what in (
            (clip, f"{CLIP_FRAMES} clip frames {CLIP_SIZE[0]}×{CLIP_SIZE[1]}"),
            (queue, f"{QUEUE} waiting photos' {DEFAULT_BRUSH} passes ({QUEUE_SIDE} px "
                             f"output, {len(photos)} aspect ratios)"),
            (lone, f"a lone photo's {DEFAULT_BRUSH} pass ({photos[0].shape[1]}×"
                           f"{photos[0].shape[0]})")):
        tp, lat = stats["throughput"], stats["latency"]
        rows.append(Row("speed_streams", f"{what}: throughput mode ({backend.streams} streams)",
                        tp.median, "s", tp.as_dict(), baseline="latency mode (1 stream, all threads)",
                        baseline_value=lat.median, ratio=tp.median / lat.median,
                        note=f"min {fmt(tp.min, 's')} vs {fmt(lat.min, 's')} "
                             f"(ratio of minima {tp.min / lat.min:.2f})"))
    return rows


def queue(ctx: Context) -> list[Row]:
    """8 users × 8 aspect ratios press at once (gunicorn, app.yaml): one render worker vs two
    (NST_STREAMS as configured), with the naive warm LiteRT painting the same photos one
    after another in the same run."""
    from bench.cases_web import E2E_SIDE, _naive_sequential, _paint, _post, warm_server

    photos = inputs.aspect_jpegs(E2E_SIDE)
    spans: dict[str, list[float]] = {"1": [], "2": []}

    def burst(workers: str) -> float:
        with warm_server(ctx, f"queue-{workers}-{len(spans[workers])}", photos,
                         {"BOT_WORKERS": workers}) as (server, people):
            _paint(server, people)
            pressed = [people.prepare(_post(server)) for _ in photos]
            start = time.time()
            with ThreadPoolExecutor(len(pressed)) as pool:
                answers = list(pool.map(lambda p: _post(server)(p[1]), pressed))
            if any(status != 200 for status, _ in answers):
                raise RuntimeError(f"presses answered {answers}")
            return max(people.painting_time(uid, 120) for uid, _ in pressed) - start

    for i in range(ctx.reps(3)):
        for workers in (("1", "2") if i % 2 == 0 else ("2", "1")):
            spans[workers].append(burst(workers))
    naive = _naive_sequential(photos)
    rows = []
    for workers, label in (("1", "one render worker (as app.yaml ships)"),
                           ("2", "two render workers (BOT_WORKERS=2)")):
        s = Stats.of(spans[workers])
        rows.append(Row("speed_queue", f"{len(photos)} users × {len(photos)} aspect ratios at once, "
                        f"{label}: last painting", s.median, "s", s.as_dict(),
                        baseline="naive warm LiteRT, sequential", baseline_value=naive,
                        ratio=s.median / naive, target="≤ 0.12 × naive sequential",
                        met=s.median / naive <= 0.12,
                        note=f"{E2E_SIDE} px photos, webhook under gunicorn (app.yaml entrypoint); "
                             f"min {fmt(s.min, 's')}"))
    return rows


def main(argv: list[str]) -> int:
    if len(argv) in (2, 3) and argv[0] == "compile":
        compile_child(*argv[1:])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
