"""int8 of the transformer with NNCF, measured (issue 23) — not part of ``python -m bench``.

    pip install nncf            # only where you measure; not a project requirement
    python -m bench.int8 [--calib N] [--side 384]

Post-training quantization (``nncf.quantize``) of the dynamic transformer, calibrated
on the presets' style codes × varied photos at the default brush's pass size, in a few
variants (MIXED preset; first/last layers and instance norms kept in float). Each is
timed against the f32 model (interleaved, 2 threads) at the bold pass of a 1280 px
photo and at 1024 / 1280 px, and compared pixel by pixel on photos not used for
calibration: mean |int8 − f32| in levels of 255. Prints one JSON object per variant.
The bar to keep int8 (as an option): ≥ 1.3× at ≤ 3/255.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PHOTOS = sorted((REPO / "tests" / "data" / "exif").glob("*.jpg")) + \
    sorted((REPO / "tests" / "data" / "magenta" / "content").glob("*.jpg"))
SIDES = {"bold pass (1280 px output)": (316, 422), "1024 px": (683, 1024), "1280 px": (853, 1280)}


def _photo(path: Path, long_side: int) -> np.ndarray:
    """The photo with its long side at ``long_side`` (sides multiples of 4), 1×H×W×3 0..1."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        s = long_side / max(im.size)
        w, h = (max(4, round(im.width * s) // 4 * 4), max(4, round(im.height * s) // 4 * 4))
        return np.asarray(im.resize((w, h), Image.Resampling.LANCZOS), np.float32)[None] / 255.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.int8")
    p.add_argument("--calib", type=int, default=60, help="calibration pairs (photo × preset)")
    p.add_argument("--side", type=int, default=448, help="calibration photos' long side")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--only", help="run the variants whose name contains this")
    args = p.parse_args(argv)
    try:
        import nncf
    except ImportError:
        print("python -m bench.int8 needs nncf (pip install nncf)", file=sys.stderr)
        return 2
    import openvino as ov

    from nst.catalog import LocalCatalog
    from nst.config import BUILTIN_STYLES, EngineConfig
    from nst.backends.openvino import OpenVinoBackend
    from nst.models import TRANSFORMER, locate

    core = ov.Core()
    model = core.read_model(str(locate(TRANSFORMER)))
    style_name = next(i.get_any_name() for i in model.inputs if i.get_any_name() != "content_image")
    model.reshape({"content_image": [1, -1, -1, 3], style_name: [1, 1, 1, 100]})
    backend = OpenVinoBackend(EngineConfig())
    codes = list(LocalCatalog(BUILTIN_STYLES).vectors(backend).values())
    calib_photos, test_photos = PHOTOS[: len(PHOTOS) - 3], PHOTOS[len(PHOTOS) - 3:]
    rng = np.random.default_rng(0)
    items = [{"content_image": _photo(calib_photos[i % len(calib_photos)], args.side),
              style_name: codes[rng.integers(len(codes))].reshape(1, 1, 1, 100)}
             for i in range(args.calib)]
    names = [op.get_friendly_name() for op in model.get_ordered_ops()]
    convs = [n for n, op in zip(names, model.get_ordered_ops()) if op.get_type_name() == "Convolution"]
    norms = [n for n, op in zip(names, model.get_ordered_ops()) if op.get_type_name() in ("MVN",)]
    variants = {
        "mixed": {},
        "mixed, first/last conv float": {"ignored_scope": nncf.IgnoredScope(names=convs[:1] + convs[-1:])},
        "mixed, first/last 3 convs float": {"ignored_scope": nncf.IgnoredScope(names=convs[:3] + convs[-3:])},
        "performance preset": {"preset": nncf.QuantizationPreset.PERFORMANCE},
    }
    if norms:
        variants["mixed, norms float"] = {"ignored_scope": nncf.IgnoredScope(names=norms)}
    f32 = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 2,
                                            "INFERENCE_PRECISION_HINT": "f32"}).create_infer_request()
    shipped = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 2}).create_infer_request()
    tests = {label: [_photo(p, max(hw)) for p in test_photos] for label, hw in SIDES.items()}
    code = codes[0].reshape(1, 1, 1, 100)

    def run(request, x, c=code):
        return np.clip(request.infer({"content_image": x, style_name: c})[0], 0, 1)

    valid = [{"content_image": _photo(p, args.side), style_name: codes[(3 * i) % len(codes)].reshape(1, 1, 1, 100)}
             for i, p in enumerate(test_photos)]
    def closeness(compiled, data) -> float:
        """Minus the mean |Δ| from f32 in levels of 255 (0 = identical)."""
        req = compiled.create_infer_request()
        return -float(np.mean([np.abs(run(req, v["content_image"], v[style_name])
                                      - run(f32, v["content_image"], v[style_name])).mean()
                               for v in data]) * 255)

    def accuracy_control(preset):
        return lambda m: nncf.quantize_with_accuracy_control(
            m, nncf.Dataset(items), nncf.Dataset(valid), closeness, max_drop=3.0,
            drop_type=nncf.DropType.ABSOLUTE, preset=preset, subset_size=len(items))

    for preset in (nncf.QuantizationPreset.PERFORMANCE, nncf.QuantizationPreset.MIXED):
        variants[f"{preset.value} preset, accuracy control (≤ 3/255 on held-out photos)"] = {
            "make": accuracy_control(preset)}
    if args.only:
        variants = {k: v for k, v in variants.items() if args.only in k}
    for label, kwargs in variants.items():
        kwargs.setdefault("preset", nncf.QuantizationPreset.MIXED)
        t0 = time.perf_counter()
        make = kwargs.pop("make", None)
        if make is not None:
            q = make(model.clone())
        else:
            q = nncf.quantize(model.clone(), nncf.Dataset(items), subset_size=len(items), **kwargs)
        made = time.perf_counter() - t0
        int8 = core.compile_model(q, "CPU", {"INFERENCE_NUM_THREADS": 2}).create_infer_request()
        result: dict[str, object] = {"variant": label, "calibration_pairs": len(items),
                                     "quantize_s": round(made, 1)}
        for side, photos in tests.items():
            diff = float(np.mean([np.abs(run(int8, x) - run(f32, x)).mean() for x in photos]) * 255)
            times: dict[str, list[float]] = {"f32": [], "int8": [], "auto": []}
            reqs = {"f32": f32, "int8": int8, "auto": shipped}
            for i in range(args.repeat + 1):
                for name in (list(reqs) if i % 2 else list(reversed(reqs))):
                    t = time.perf_counter()
                    run(reqs[name], photos[0])
                    if i:
                        times[name].append(time.perf_counter() - t)
            ms = {k: float(np.median(v)) * 1000 for k, v in times.items()}
            result[side] = {"speedup_vs_f32": round(ms["f32"] / ms["int8"], 2),
                            "speedup_vs_auto": round(ms["auto"] / ms["int8"], 2),
                            "mean_diff_255": round(diff, 2), "shape": list(photos[0].shape[1:3]),
                            **{f"{k}_ms": round(v) for k, v in ms.items()}}
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
