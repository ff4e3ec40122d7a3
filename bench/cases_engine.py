"""Engine cases: stylize latency vs the baselines, output difference, peak RSS, profile."""
from __future__ import annotations

import logging
import time

import numpy as np

from bench import inputs
from bench.context import Context
from bench.measure import Stats, interleave, run_child
from bench.report import Row, fmt

log = logging.getLogger(__name__)

#: sizes where baseline A (models loaded per request) is also run; above, A = B + load
SEED_SIDES = (512, 1024)
#: baseline B's whole-image pass dies above this (TFLite im2col > 2^31 elements at 4096)
NAIVE_MAX_SIDE = 2048
TARGET_VS_B = 0.65
TARGET_VS_A = 20.0
TARGET_RSS_4096_MB = 700.0
PREVIEW_SIDE = 1280   # what the bot sends as a photo (bot/handlers/render.py)


def mean_abs_diff(a, b) -> float:
    """Mean |a − b| over the common area of two RGB images, in 0..255 levels."""
    x, y = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    h, w = min(x.shape[0], y.shape[0]), min(x.shape[1], y.shape[1])
    return float(np.abs(x[:h, :w] - y[:h, :w]).mean())


def ours_fn(ctx: Context, side: int):
    """Production path: Engine.stylize with the cached preset vector."""
    from nst.engine import StyleOptions

    img, opts = inputs.content(side), StyleOptions(brush=inputs.BRUSH, max_side=side)
    return lambda: ctx.engine.stylize(img, inputs.PRESET, opts)


def naive_fn(ctx: Context, side: int):
    """Baseline B: reused default interpreters, vector recomputed, whole image."""
    img, style = inputs.content(side), inputs.preset_image()
    return lambda: ctx.naive.stylize(img, style)


def seed_fn(side: int):
    """Baseline A: interpreters created for the request."""
    from bench.naive import stylize_as_seed

    img, style = inputs.content(side), inputs.preset_image()
    return lambda: stylize_as_seed(inputs.MODEL_DIR, img, style)


def _spread(s: Stats) -> dict[str, float]:
    return s.as_dict()


def stylize_latency(ctx: Context, side: int) -> list[Row]:
    """Warm latency of ours vs baseline B (and A at small sizes), interleaved."""
    makers = {"ours": ours_fn(ctx, side)}
    if side <= NAIVE_MAX_SIDE:
        makers["B"] = naive_fn(ctx, side)
    if side in SEED_SIDES:
        makers["A"] = seed_fn(side)
    last: dict[str, object] = {}
    variants = {k: (lambda k=k, f=f: last.__setitem__(k, f())) for k, f in makers.items()}
    # the biggest size is slow enough that its first call is timed too (no warm-up round)
    stats = interleave(variants, ctx.reps_for_side(side), warmup=0 if side > NAIVE_MAX_SIDE else 1)
    if side > 1024:
        ctx.release_naive()   # B's arena at this size is gigabytes; later cases don't need it
    ours = stats["ours"]
    case = f"stylize_{side}"
    rows: list[Row] = []
    if "B" in stats:
        b = stats["B"]
        is_target = side == 1024
        ratio = ours.median / b.median
        diff = mean_abs_diff(last["ours"], last["B"])
        rows.append(Row(case, f"ours vs B (naive) {side} px", ours.median, "s", _spread(ours),
                        baseline="B", baseline_value=b.median, ratio=ratio,
                        target=f"≤ {TARGET_VS_B} × B" if is_target else None,
                        met=(ratio <= TARGET_VS_B) if is_target else None,
                        note=f"B spread {fmt(b.min, 's')}–{fmt(b.max, 's')}; "
                             f"mean |ours − B| = {diff:.2f} levels"))
    else:
        rows.append(Row(case, f"ours, stylize {side} px", ours.median, "s", _spread(ours),
                        baseline="B: cannot run",
                        note="baseline B's whole-image pass fails in TFLite at this size (Conv "
                             "im2col elements exceed the 32-bit limit; see rss_4096); no warm-up "
                             "round at this size"))
    if "A" in stats:
        a = stats["A"]
        speedup = a.median / ours.median
        is_target = side == 1024
        rows.append(Row(case, f"speed-up of ours over A (seed) {side} px", speedup, "×",
                        baseline=f"A = {fmt(a.median, 's')}", ratio=ours.median / a.median,
                        target=f"≥ {TARGET_VS_A:g}× faster than A" if is_target else None,
                        met=(speedup >= TARGET_VS_A) if is_target else None,
                        note=f"A spread {fmt(a.min, 's')}–{fmt(a.max, 's')}; ratio column = ours / A"))
    return rows


def quality(ctx: Context, side: int = 1024) -> list[Row]:
    """Mean abs difference of ours vs baseline B output (same photo, same preset)."""
    ours = ours_fn(ctx, side)()
    naive = naive_fn(ctx, side)()
    seed = seed_fn(side)()
    return [
        Row(f"quality_{side}", f"mean |ours − B| at {side} px", mean_abs_diff(ours, naive), "levels",
            note="0..255 levels over all pixels and channels; A vs B = "
                 f"{mean_abs_diff(seed, naive):.2f} (same code path)"),
    ]


def peak_rss(ctx: Context, side: int) -> list[Row]:
    """Peak RSS of one stylize in a fresh process: ours vs naive whole-image."""
    photo = str(ctx.photo_file(side))
    ours = run_child(["rss", "ours", photo, str(side)])
    try:
        naive = run_child(["rss", "naive", photo, str(side)])
    except RuntimeError as e:
        naive = {"error": str(e).splitlines()[-1][:200]}
    case = f"rss_{side}"
    is_target = side == 4096
    value = ours["peak_rss_mb"]
    row = Row(case, f"peak RSS, one {side} px stylize", value, "MB",
              target=f"≤ {TARGET_RSS_4096_MB:g} MB" if is_target else None,
              met=(value <= TARGET_RSS_4096_MB) if is_target else None,
              note=f"ours {ours['seconds']:.2f} s in the child; RSS after warm-up "
                   f"{ours['ready_rss_mb']:.0f} MB")
    if "peak_rss_mb" in naive:
        row.baseline, row.baseline_value = "naive", naive["peak_rss_mb"]
        row.ratio = value / naive["peak_rss_mb"]
        row.note += f"; naive {naive['seconds']:.2f} s"
    else:
        row.baseline = "naive (failed)"
        row.note += f"; naive whole-image failed: {naive['error']}"
    rows = [row]
    if is_target:   # a real instance has served previews before its HD request
        after = run_child(["rss", "ours", photo, str(side), "--before", str(PREVIEW_SIDE)])
        value = after["peak_rss_mb"]
        rows.append(Row(case, f"peak RSS, {PREVIEW_SIDE} px preview then {side} px HD, one process",
                        value, "MB", baseline="fresh process", baseline_value=ours["peak_rss_mb"],
                        ratio=value / ours["peak_rss_mb"],
                        target=f"≤ {TARGET_RSS_4096_MB:g} MB", met=value <= TARGET_RSS_4096_MB,
                        note="the interpreter arena never shrinks, so the preview's one-pass arena "
                             f"is still there during HD; RSS before the HD request {after['ready_rss_mb']:.0f} MB"))
    return rows


def profile(ctx: Context, side: int = 1024) -> list[Row]:
    """Where ours spends its time at ``side``: each transformer pass, and re-allocations."""
    backend = ctx.engine.backend
    real = backend.transfer
    passes: list[tuple[tuple[int, int], float, bool]] = []   # (h, w), seconds, re-allocated

    def timed(content, vector):
        before = getattr(backend, "allocations", 0)
        t0 = time.perf_counter()
        out = real(content, vector)
        passes.append((tuple(np.shape(content)[:2]), time.perf_counter() - t0,
                       getattr(backend, "allocations", 0) != before))
        return out

    fn = ours_fn(ctx, side)
    fn()  # warm shapes
    backend.transfer = timed
    try:
        t0 = time.perf_counter()
        fn()
        total = time.perf_counter() - t0
    finally:
        del backend.transfer  # back to the class method
    in_transfer = sum(t for _, t, _ in passes)
    w, h = inputs.content(side).size
    detail = "; ".join(f"{pw}×{ph} {fmt(t, 's')}{' (re-allocated)' if re else ''}"
                       for (ph, pw), t, re in passes)
    realloc = [(t / (pw * ph)) for (ph, pw), t, re in passes if re]
    same = [(t / (pw * ph)) for (ph, pw), t, re in passes if not re]
    per_px = ""
    if realloc and same:
        per_px = (f"; a pass right after allocate_tensors costs {np.median(realloc) / np.median(same):.2f}× "
                  "per pixel of a same-shape pass")
    return [
        Row(f"profile_{side}", f"ours {side} px: transformer passes per request", len(passes), "passes",
            note=f"{total:.2f} s total, {in_transfer:.2f} s in transfer; {detail}; "
                 f"{sum(ph * pw for (ph, pw), _, _ in passes) / (w * h):.2f}× the output's pixels; "
                 f"pass_pixels={ctx.engine.pass_pixels}, threads={backend.threads}, "
                 f"xnnpack={getattr(backend, 'use_xnnpack', '?')}{per_px}"),
        Row(f"profile_{side}", f"ours {side} px: allocate_tensors per warm request",
            sum(1 for *_, re in passes if re), "calls",
            note="the global pass and the tiles have different tensor shapes, so a warm request "
                 "re-allocates the transformer twice" if sum(1 for *_, re in passes if re) >= 2 else ""),
    ]


def smoke(ctx: Context, side: int = 256) -> list[Row]:
    """The CI case: ours vs B at a tiny size, and their output difference."""
    variants = {"ours": ours_fn(ctx, side), "B": naive_fn(ctx, side)}
    stats = interleave(variants, ctx.reps(3))
    ours, b = stats["ours"], stats["B"]
    diff = mean_abs_diff(variants["ours"](), variants["B"]())
    return [
        Row("smoke", f"ours vs B (naive) {side} px", ours.median, "s", ours.as_dict(),
            baseline="B", baseline_value=b.median, ratio=ours.median / b.median),
        Row("smoke", f"mean |ours − B| at {side} px", diff, "levels"),
    ]
