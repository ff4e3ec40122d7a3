"""Backends side by side in one run: naive LiteRT (cold, warm), ``lite``, ``openvino``
(auto and f32 precision); latency at 1024 and 1280 px, eight aspect ratios, HD sessions.

``hub`` has its own case (``cases_settings.hub_vs_lite``: a stand-in model, TensorFlow).
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from bench import inputs
from bench.context import Context
from bench.measure import Stats, child_env, interleave, run_child
from bench.report import Row, fmt

log = logging.getLogger(__name__)

TARGET_VS_NAIVE_WARM = 0.30   # openvino 1024 px warm vs naive warm LiteRT, same shape
TARGET_HD_S = 4.0             # 4096 px HD result
TARGET_SESSION_MB = 1000.0    # 8 previews + one HD result, one process (aim: 600 MB)
AIM_SESSION_MB = 600.0
PREVIEW_SIDE = 1280
HD_SIDE = 4096

#: engine variants: label -> EngineConfig overrides
ENGINES: dict[str, dict[str, str]] = {
    "lite": {"backend": "lite"},
    "openvino auto": {"backend": "openvino", "precision": "auto"},
    "openvino f32": {"backend": "openvino", "precision": "f32"},
}
TARGET_ENGINE = "openvino auto"


@functools.cache
def _engine(label: str):
    """A warmed production engine on one backend setting (built once per run)."""
    from dataclasses import replace

    from nst.config import EngineConfig
    from nst.engine import Engine

    eng = Engine.from_config(replace(EngineConfig.from_env(), **ENGINES[label]))
    eng.warmup()
    return eng


@functools.cache
def _naive_warm():
    """Naive LiteRT that keeps its interpreters and its last tensor shape."""
    from bench.naive import NaiveStylizer

    return NaiveStylizer(inputs.MODEL_DIR, reuse_shape=True)


def _variants(images: list, with_cold: bool) -> dict[str, Callable[[], object]]:
    """Each variant stylizes every image of ``images`` once (preset style, full strength)."""
    from nst.engine import StyleOptions

    style = inputs.preset_image()
    side = max(images[0].size)
    opts = StyleOptions(brush=inputs.BRUSH, max_side=side)
    variants: dict[str, Callable[[], object]] = {}
    if with_cold:
        from bench.naive import stylize_as_seed

        variants["naive LiteRT cold"] = lambda: [stylize_as_seed(inputs.MODEL_DIR, i, style) for i in images]
    naive = _naive_warm()
    variants["naive LiteRT warm"] = lambda: [naive.stylize(i, style) for i in images]
    for label in ENGINES:
        eng = _engine(label)
        variants[label] = lambda e=eng: [e.stylize(i, inputs.PRESET, opts) for i in images]
    return variants


def _rows(case: str, what: str, stats: dict[str, Stats], target_ratio: float | None) -> list[Row]:
    base = stats["naive LiteRT warm"]
    rows = []
    for name, s in stats.items():
        is_target = target_ratio is not None and name == TARGET_ENGINE
        ratio = s.median / base.median
        rows.append(Row(case, f"{name}: {what}", s.median, "s", s.as_dict(),
                        baseline="naive LiteRT warm", baseline_value=base.median, ratio=ratio,
                        target=f"≤ {target_ratio:g} × naive warm" if is_target else None,
                        met=(ratio <= target_ratio) if is_target else None))
    return rows


def single(ctx: Context, side: int) -> list[Row]:
    """One photo at ``side`` px, the same shape every time (naive warm re-uses its tensors)."""
    img = inputs.content(side)
    stats = interleave(_variants([img], with_cold=True), ctx.reps(5))
    rows = _rows(f"backends_{side}", f"{side} px ({img.width}×{img.height}), warm",
                 stats, TARGET_VS_NAIVE_WARM if side == 1024 else None)
    rows[0].note = ("cold = interpreters created per request (the seed's way); naive warm = "
                    "interpreters and tensor shape kept, style vector recomputed, default threads")
    return rows


def aspects(ctx: Context, side: int = PREVIEW_SIDE) -> list[Row]:
    """Eight photos of eight aspect ratios at ``side`` px, one after another."""
    images = [inputs.content_aspect(side, a) for a in inputs.ASPECTS]
    compiles_before = getattr(_engine(TARGET_ENGINE).backend, "compiles", None)
    stats = interleave(_variants(images, with_cold=False), ctx.reps(3))
    rows = _rows("backends_aspects", f"8 aspect ratios at {side} px, sequential", stats, None)
    compiles = getattr(_engine(TARGET_ENGINE).backend, "compiles", None)
    rows[0].note = (f"ratios {', '.join(f'{w}:{h}' for w, h in inputs.ASPECTS)}; every new shape "
                    "re-allocates LiteRT's tensors; openvino compiled models during the case: "
                    f"{(compiles or 0) - (compiles_before or 0)}")
    return rows


def sessions(ctx: Context) -> list[Row]:
    """Fresh process per backend: 8 previews of 8 aspect ratios at 1280 px, then a 4096 px
    HD result.  HD time and the session's peak RSS (VmHWM)."""
    rows: list[Row] = []
    results: dict[str, dict] = {}
    for label, over in ENGINES.items():
        env = child_env({"NST_BACKEND": over["backend"], "NST_PRECISION": over.get("precision", "auto")})
        results[label] = run_child(["session", str(PREVIEW_SIDE), str(HD_SIDE)], env=env, timeout=900)
    lite = results["lite"]
    for label, r in results.items():
        is_target = label == TARGET_ENGINE
        rows.append(Row("backends_hd", f"{label}: {HD_SIDE} px HD after 8 previews", r["hd_s"], "s",
                        baseline="lite", baseline_value=lite["hd_s"], ratio=r["hd_s"] / lite["hd_s"],
                        target=f"≤ {TARGET_HD_S:g} s" if is_target else None,
                        met=(r["hd_s"] <= TARGET_HD_S) if is_target else None,
                        note=f"{r['size'][0]}×{r['size'][1]}; pass_pixels={r['pass_pixels']}, "
                             f"tile_pixels={r['tile_pixels']}; 8 previews took {fmt(r['previews_s'], 's')}"))
        rows.append(Row("backends_hd", f"{label}: peak RSS, 8 previews then {HD_SIDE} px HD",
                        r["peak_rss_mb"], "MB", baseline="lite", baseline_value=lite["peak_rss_mb"],
                        ratio=r["peak_rss_mb"] / lite["peak_rss_mb"],
                        target=f"≤ {TARGET_SESSION_MB:g} MB (aim {AIM_SESSION_MB:g})" if is_target else None,
                        met=(r["peak_rss_mb"] <= TARGET_SESSION_MB) if is_target else None,
                        note=f"after the previews {r['previews_peak_rss_mb']:.0f} MB peak; fresh process"))
    return rows

