"""Engine settings and alternatives side by side: pass/tile sizes, XNNPACK, 384 int8 vs fp16, threads,
runtime load cost, RSS per setting, hub vs lite, concurrent requests."""
from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np

from bench import inputs
from bench.cases_engine import mean_abs_diff, naive_fn, ours_fn
from bench.context import Context
from bench.measure import REPO, child_env, interleave, run_child
from bench.report import Row

log = logging.getLogger(__name__)


def _engine(pass_pixels: int, tile_pixels: int, xnnpack: bool):
    """A production Engine built with explicit (public constructor) settings, warmed."""
    from nst.backends.lite import LiteBackend
    from nst.catalog import open_catalog
    from nst.config import EngineConfig
    from nst.engine import Engine

    config = EngineConfig.from_env()
    eng = Engine(LiteBackend(config, use_xnnpack=xnnpack), open_catalog(config.styles, config.cache_dir),
                 pass_pixels=pass_pixels, tile_pixels=tile_pixels)
    eng.warmup()
    return eng


#: the engine's settings before this benchmark's findings: 600×600 passes, reference kernels
OLD_PASS = 360_000


def engine_settings(ctx: Context, side: int = 1024) -> list[Row]:
    """Ours as shipped vs the same engine with other settings, vs B, all interleaved."""
    from nst.engine import StyleOptions

    img, opts = inputs.content(side), StyleOptions(brush=inputs.BRUSH, max_side=side)
    whole = img.width * img.height + 4096
    engines = {
        "ours (as shipped)": ctx.engine,
        "lite, one pass, reference kernels": _engine(whole, OLD_PASS, xnnpack=False),
        "lite, one pass, XNNPACK": _engine(whole, OLD_PASS, xnnpack=True),
        "lite, tiled 0.36 MP, reference kernels (old default)": _engine(OLD_PASS, OLD_PASS, xnnpack=False),
    }
    variants = {name: (lambda e=e: e.stylize(img, inputs.PRESET, opts)) for name, e in engines.items()}
    variants["B"] = naive_fn(ctx, side)
    stats = interleave(variants, ctx.reps(5))
    reference = variants["B"]()
    rows = []
    for name, eng in engines.items():
        s = stats[name]
        diff = mean_abs_diff(eng.stylize(img, inputs.PRESET, opts), reference)
        rows.append(Row(f"settings_{side}", f"{name} {side} px", s.median, "s", s.as_dict(),
                        baseline="B", baseline_value=stats["B"].median,
                        ratio=s.median / stats["B"].median,
                        note=f"mean |out − B| = {diff:.2f} levels; pass_pixels={eng.pass_pixels}, "
                             f"tile_pixels={getattr(eng, 'tile_pixels', '?')}, "
                             f"xnnpack={getattr(eng.backend, 'use_xnnpack', '?')}"))
    return rows


def transformer_384(ctx: Context) -> list[Row]:
    """The fixed 384² transformers: int8 vs fp16 weights, speed and output difference."""
    from bench.naive import PREDICT_MODEL, interpreter

    pred = interpreter(inputs.MODEL_DIR / PREDICT_MODEL, 2)
    pred.allocate_tensors()
    pin = pred.get_input_details()[0]
    style = np.asarray(inputs.preset_image().resize((256, 256)), np.float32)[None] / 255.0
    pred.set_tensor(pin["index"], style)
    pred.invoke()
    vector = pred.get_tensor(pred.get_output_details()[0]["index"]).copy()
    content = np.asarray(inputs.content(576).crop((0, 0, 384, 384)), np.float32)[None] / 255.0
    outs: dict[str, np.ndarray] = {}

    def runner(model: str):
        it = interpreter(inputs.MODEL_DIR / model, 2)
        it.allocate_tensors()
        det = it.get_input_details()
        c_in = next(d for d in det if "content" in d["name"])["index"]
        s_in = next(d for d in det if "content" not in d["name"])["index"]
        out_idx = it.get_output_details()[0]["index"]

        def run():
            it.set_tensor(c_in, content)
            it.set_tensor(s_in, vector)
            it.invoke()
            outs[model] = it.get_tensor(out_idx).copy()
        return run

    int8, fp16 = "style_transfer_quantized_384.tflite", "style_transfer_f16_384.tflite"
    stats = interleave({"int8": runner(int8), "fp16": runner(fp16)}, ctx.reps(15))
    diff = float(np.abs(np.clip(outs[int8], 0, 1) - np.clip(outs[fp16], 0, 1)).mean() * 255.0)
    return [Row("transformer_384", "384² transformer, int8 vs fp16", stats["int8"].median, "s",
                stats["int8"].as_dict(), baseline="fp16", baseline_value=stats["fp16"].median,
                ratio=stats["int8"].median / stats["fp16"].median,
                note=f"mean |int8 − fp16| = {diff:.2f} levels (num_threads=2)")]


def threads(ctx: Context, side: int = 1024) -> list[Row]:
    """Dynamic transformer at ``side``, shape reused: num_threads 1 vs 2 vs default."""
    from bench.naive import NaiveStylizer

    img = inputs.content(side)
    vector = ctx.naive.style_vector(inputs.preset_image())
    runs = {}
    for label, n in (("default", None), ("1", 1), ("2", 2)):
        st = NaiveStylizer(inputs.MODEL_DIR, n)
        runs[label] = (lambda st=st: st.transfer(img, vector))
    stats = interleave(runs, ctx.reps(5))
    base = stats["default"].median
    return [Row("threads", f"whole {side} px transfer, num_threads={k}", s.median, "s", s.as_dict(),
                baseline="default", baseline_value=base, ratio=s.median / base,
                note="XNNPACK on (interpreter default); includes resize + allocate per call")
            for k, s in stats.items() if k != "default"]


def runtime_load(ctx: Context) -> list[Row]:
    """Fresh process: import + load on ai_edge_litert vs import tensorflow (hub backend)."""
    samples: dict[str, list[dict]] = {"litert": [], "tensorflow": []}
    for _ in range(ctx.reps(3)):
        for what in samples:
            samples[what].append(run_child(["load", what]))
    med = {w: {k: float(np.median([s[k] for s in xs])) for k in ("total_s", "peak_rss_mb")}
           for w, xs in samples.items()}
    lite, tf = med["litert"], med["tensorflow"]
    return [
        Row("runtime_load", "litert import + both models loaded: time", lite["total_s"], "s",
            baseline="import tensorflow", baseline_value=tf["total_s"],
            ratio=lite["total_s"] / tf["total_s"], note="child process, after interpreter start"),
        Row("runtime_load", "litert import + both models loaded: peak RSS", lite["peak_rss_mb"], "MB",
            baseline="import tensorflow", baseline_value=tf["peak_rss_mb"],
            ratio=lite["peak_rss_mb"] / tf["peak_rss_mb"],
            note="why lite is the default: the hub backend pays TensorFlow's import before any model"),
    ]


def settings_rss(ctx: Context) -> list[Row]:
    """Peak RSS of other engine settings (fresh process each), next to ours as shipped."""
    one_pass_1024 = str(inputs.content(1024).width * inputs.content(1024).height + 4096)
    old = ["--pass-pixels", str(OLD_PASS), "--tile-pixels", str(OLD_PASS)]
    variants = [
        (1024, "lite, one pass, reference kernels", ["--pass-pixels", one_pass_1024, "--kernels", "reference"]),
        (1024, "lite, one pass, XNNPACK", ["--pass-pixels", one_pass_1024, "--kernels", "xnnpack"]),
        (1024, "lite, tiled 0.36 MP, reference kernels (previous default)", [*old, "--kernels", "reference"]),
        (4096, "lite, tiled 0.36 MP, reference kernels (previous default)", [*old, "--kernels", "reference"]),
        (4096, "lite, tiled 0.36 MP, XNNPACK", [*old, "--kernels", "xnnpack"]),
    ]
    shipped: dict[int, dict] = {}
    rows = []
    for side, label, extra in variants:
        photo = str(ctx.photo_file(side))
        if side not in shipped:
            shipped[side] = run_child(["rss", "ours", photo, str(side)])
        got = run_child(["rss", "ours", photo, str(side), *extra])
        base = shipped[side]
        rows.append(Row("settings_rss", f"peak RSS {side} px, {label}", got["peak_rss_mb"], "MB",
                        baseline="as shipped", baseline_value=base["peak_rss_mb"],
                        ratio=got["peak_rss_mb"] / base["peak_rss_mb"],
                        note=f"{got['seconds']:.2f} s in the child (as shipped "
                             f"{base['seconds']:.2f} s); args {' '.join(extra)}"))
    return rows


def hub_vs_lite(ctx: Context, side: int = 1024) -> list[Row]:
    """The hub backend on a realistic-size stand-in SavedModel next to lite, fresh processes."""
    from bench import hub_model

    folder = ctx.scratch / "hub-standin"
    run_child(["load", "tensorflow"])   # touch TF's files once so neither side reads cold disk
    subprocess.run([sys.executable, "-m", "bench.hub_model", str(folder)], check=True, env=child_env(),
                   capture_output=True, timeout=600, cwd=REPO)
    photo = str(ctx.photo_file(side))
    envs = {
        "lite": child_env({"NST_BACKEND": "lite"}),
        "hub": child_env({"NST_BACKEND": "hub", "NST_HUB_HANDLE": str(folder),
                          "NST_CACHE_DIR": str(ctx.scratch / "hub-cache")}),
    }
    got: dict[str, list[dict]] = {k: [] for k in envs}
    for i in range(ctx.reps(2)):
        for k in (envs if i % 2 == 0 else list(reversed(list(envs)))):
            got[k].append(run_child(["backend", photo, str(side)], env=envs[k]))

    def med(k: str, field: str) -> float:
        return float(np.median([g[field] for g in got[k]]))

    note = (f"hub = TF SavedModel stand-in of realistic size ({hub_model.size_mb(folder):.0f} MB, "
            "InceptionV3 predictor + transformer, random weights; the real TF-Hub model cannot be "
            "downloaded here); fresh process each, median of "
            f"{len(got['hub'])}")
    rows = []
    for field, label, unit in (("load_s", "engine load + warmup (imports included)", "s"),
                               ("first_s", f"first stylize {side} px", "s"),
                               ("warm_s", f"warm stylize {side} px", "s"),
                               ("peak_rss_mb", f"peak RSS (load + 2 stylizes at {side} px)", "MB")):
        lite, hub = med("lite", field), med("hub", field)
        rows.append(Row("hub_vs_lite", f"lite: {label}", lite, unit, baseline="hub", baseline_value=hub,
                        ratio=lite / hub, note=note if not rows else ""))
    return rows


def concurrency(ctx: Context, side: int = 1024, images: int = 4, workers: int = 2) -> list[Row]:
    """In-process engine: ``images`` stylizes one after another vs on ``workers`` threads.

    The bot runs BOT_WORKERS stylizations at once on one engine; this shows whether that
    helps or hurts (e.g. shape changes between interleaved passes force re-allocations).
    """
    from concurrent.futures import ThreadPoolExecutor

    fn = ours_fn(ctx, side)
    backend = ctx.engine.backend
    allocs: dict[str, list[int]] = {"sequential": [], f"{workers} threads": []}

    def sequential() -> None:
        before = getattr(backend, "allocations", 0)
        for _ in range(images):
            fn()
        allocs["sequential"].append(getattr(backend, "allocations", 0) - before)

    def threaded() -> None:
        before = getattr(backend, "allocations", 0)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda _: fn(), range(images)))
        allocs[f"{workers} threads"].append(getattr(backend, "allocations", 0) - before)

    stats = interleave({"sequential": sequential, f"{workers} threads": threaded}, ctx.reps(2))
    seq, par = stats["sequential"], stats[f"{workers} threads"]
    return [Row("concurrency", f"{images}× {side} px on {workers} threads (one engine)", par.median, "s",
                par.as_dict(), baseline="sequential", baseline_value=seq.median,
                ratio=par.median / seq.median,
                note=f"allocate_tensors per image: sequential "
                     f"{np.median(allocs['sequential']) / images:.1f}, threaded "
                     f"{np.median(allocs[f'{workers} threads']) / images:.1f}")]
