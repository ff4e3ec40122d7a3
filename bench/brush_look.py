"""The brush's look and the cost of its upsampling, side by side in one run (issue 22/23).

Used by ``python -m bench.cases_brush``:

* ``split`` — the whole ``Engine.stylize`` of a 1280 px photo with the default (bold)
  brush: total time and time inside the transformer, the current ``nst/brush.py``
  interleaved with the one of an older git revision (``--before REV``), and 4096 px HD.
* ``looks`` — per photo (the tuning photo and the held-out ones), averaged over four
  presets: edge sharpness bold / fine, stroke-frequency fall fine → medium → bold,
  double outline bold vs fine (``nst.brush_metrics``); HD vs preview crispness.
"""
from __future__ import annotations

import importlib.util
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image

from bench import inputs
from bench.measure import REPO

log = logging.getLogger("bench.brush_look")
HELD_OUT = sorted((REPO / "tests" / "data" / "heldout").glob("*.jpg"))
LOOK_STYLES = ("starry_night", "the_scream", "great_wave", "udnie")


def brush_at(rev: str) -> ModuleType:
    """``nst/brush.py`` as it was at git revision ``rev``, loaded as a module."""
    src = subprocess.run(["git", "show", f"{rev}:nst/brush.py"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "brush_before.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("brush_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _ModelClock:
    """Wraps the engine backend's ``transfer`` to add up the time spent in the model."""

    def __init__(self, backend: Any) -> None:
        self.seconds = 0.0
        inner = backend.transfer

        def transfer(content: np.ndarray, code: np.ndarray) -> np.ndarray:
            t0 = time.perf_counter()
            try:
                return inner(content, code)
            finally:
                self.seconds += time.perf_counter() - t0

        backend.transfer = transfer


def split(engine: Any, before: str | None, repeat: int) -> list[dict]:
    """Rows {variant, side, total_ms, model_ms, outside_pct}, variants interleaved."""
    import nst.brush
    import nst.engine
    from nst import StyleOptions

    clock = _ModelClock(engine.backend)
    variants: dict[str, Callable] = {"now": nst.brush.paint}
    if before:
        variants[f"before ({before})"] = brush_at(before).paint
    rows = []
    for side, n in ((1280, repeat), (4096, max(2, repeat // 3))):
        content = inputs.content(side)
        samples: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
        for _ in range(n):
            for name, paint in variants.items():
                nst.engine.paint = paint   # the engine calls nst.brush.paint through this name
                clock.seconds = 0.0
                t0 = time.perf_counter()
                engine.stylize(content, inputs.PRESET, StyleOptions(max_side=side))
                samples[name].append((time.perf_counter() - t0, clock.seconds))
        nst.engine.paint = nst.brush.paint
        for name, got in samples.items():
            total = statistics.median(t for t, _ in got)
            model = statistics.median(m for _, m in got)
            rows.append({"variant": name, "side": side, "n": n, "total_ms": 1000 * total,
                         "model_ms": 1000 * model, "outside_pct": 100 * (1 - model / total)})
            log.info("%s", rows[-1])
    return rows


def _preview(path: Path, side: int = 1280) -> Image.Image:
    from nst import load_image

    img = load_image(path)
    scale = side / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)


def looks(engine: Any) -> list[dict]:
    """One row per photo: the look figures, averaged over LOOK_STYLES."""
    from nst import StyleOptions
    from nst.brush import BRUSHES
    from nst.brush_metrics import double_outline, edge_sharpness, photo_edges, stroke_frequency

    rows = []
    for path in [inputs.CONTENT_PHOTO, *HELD_OUT]:
        content = _preview(path)
        edges = photo_edges(content)
        acc: dict[str, dict[str, list[float]]] = {b: {"s": [], "f": [], "g": []} for b in BRUSHES}
        for style in LOOK_STYLES:
            for brush in BRUSHES:
                out = engine.stylize(content, style, StyleOptions(brush=brush))
                acc[brush]["s"].append(edge_sharpness(out, edges))
                acc[brush]["f"].append(stroke_frequency(out, content))
                acc[brush]["g"].append(double_outline(out, content))
        m = {b: {k: float(np.mean(v)) for k, v in d.items()} for b, d in acc.items()}
        rows.append({"photo": path.name, "held_out": path != inputs.CONTENT_PHOTO,
                     "sharp": m["bold"]["s"] / m["fine"]["s"],
                     "fall_fm": 1 - m["medium"]["f"] / m["fine"]["f"],
                     "fall_mb": 1 - m["bold"]["f"] / m["medium"]["f"],
                     "ghost_bold": m["bold"]["g"], "ghost_fine": m["fine"]["g"]})
        log.info("%s", rows[-1])
    return rows


def hd_crispness(engine: Any) -> dict[str, float]:
    """Bold's sharpness relative to the photo's own at 1280 and at 4096 px (1:1)."""
    from nst import StyleOptions
    from nst.brush_metrics import relative_sharpness

    out = {}
    for side in (1280, 4096):
        content = inputs.content(side)
        out[str(side)] = relative_sharpness(
            engine.stylize(content, inputs.PRESET, StyleOptions(max_side=side, brush="bold")), content)
    return out


def markdown(split_rows: list[dict], look_rows: list[dict], hd: dict[str, float]) -> list[str]:
    lines = ["", "## Where the time goes (default bold brush, whole `Engine.stylize`)", "",
             ("The test photo already at the output size (as Telegram sends 1280 px photos); "
              "model = time inside the backend's transfer. Variants interleaved in one run, medians."),
             "", "| variant | output | total | model | outside the model | n |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['side']} px | {r['total_ms']:.0f} ms | {r['model_ms']:.0f} ms | "
              f"{r['outside_pct']:.0f} % | {r['n']} |" for r in split_rows]
    lines += ["", "## Look (nst/brush_metrics.py), 1280 px, mean over "
              f"{', '.join(LOOK_STYLES)}", "",
              ("sharpness = bold / fine mean gradient at the photo's Canny edges (target ≥ 0.8); "
               "fall = drop of the stroke residual's spectral centroid (target ≥ 15 % at each step); "
               "outline = strongest gradient 3–8 px beside strong edges over the one on them "
               "(bold should not exceed fine)."),
              "", "| photo | held out | sharpness bold/fine | fall fine→medium | fall medium→bold | "
              "outline bold | outline fine |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['photo']} | {'yes' if r['held_out'] else 'tuned on'} | {r['sharp']:.2f} | "
              f"{100 * r['fall_fm']:.0f} % | {100 * r['fall_mb']:.0f} % | {r['ghost_bold']:.2f} | "
              f"{r['ghost_fine']:.2f} |" for r in look_rows]
    lines += ["", (f"HD: bold's sharpness relative to the photo at the same size: 1280 px "
                   f"{hd['1280']:.2f}, 4096 px {hd['4096']:.2f} "
                   f"({hd['4096'] / hd['1280']:.2f}× the preview's; target ≥ 0.8×).")]
    return lines


def measure(before: str | None, repeat: int) -> dict:
    from nst import Engine, EngineConfig

    engine = Engine.from_config(EngineConfig.from_env())
    engine.warmup()
    return {"split": split(engine, before, repeat), "looks": looks(engine),
            "hd": hd_crispness(engine)}


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    got = measure(sys.argv[1] if len(sys.argv) > 1 else None, 9)
    sys.stdout.write("\n".join(markdown(got["split"], got["looks"], got["hd"])) + "\n")
