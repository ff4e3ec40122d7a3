"""The transformer as OpenVINO IR, kept beside the vendored .tflite it was made from.

OpenVINO converts a .tflite on every read (its TFLite front end, largely under the GIL);
reading the same graph saved as IR is a fraction of that on every new instance
(bench/ ``speed_cold``). The IR is a build product: ``python -m nst models ir`` writes it
from the verified .tflite and records that file's sha256 in the IR (rt_info
``SOURCE_KEY``). It is read only when that record names the .tflite being used; a
missing, stale or unreadable IR falls back to the .tflite itself (same graph, same
results, only slower to read).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOURCE_KEY = "nst_source_sha256"
SUFFIX = ".ov.xml"     # and .ov.bin beside it (OpenVINO's weights file)


def ir_path(tflite: Path) -> Path:
    """Where the IR of ``tflite`` lives (its .bin beside it)."""
    return tflite.with_name(tflite.stem + SUFFIX)


def source_of(model: Any) -> str:
    """The sha256 of the .tflite the IR was made from ("" if it does not say)."""
    return str(model.get_rt_info(SOURCE_KEY).astype(str)) if model.has_rt_info(SOURCE_KEY) else ""


def read_model(core: Any, tflite: Path, sha256: str) -> Any:
    """The transformer graph: from its IR when that was made from this exact .tflite
    (``sha256``, already verified), else from the .tflite."""
    ir = ir_path(tflite)
    if ir.is_file():
        try:
            model = core.read_model(str(ir))
        except RuntimeError as e:   # a half-written or foreign IR: the .tflite still works
            log.warning("cannot read %s (%s); reading %s instead", ir, e, tflite.name)
        else:
            if source_of(model) == sha256:
                return model
            log.warning("%s was made from another %s; reading the .tflite (run "
                        "`python -m nst models ir`)", ir.name, tflite.name)
    return core.read_model(str(tflite))


def write_ir(core: Any, tflite: Path, sha256: str) -> Path:
    """Convert ``tflite`` to IR beside it, recording its sha256; returns the .xml path.
    Weights stay as the .tflite has them (no fp16 compression: results are unchanged).
    Written under temporary names and renamed into place, so that an instance starting
    meanwhile reads the old IR or the new one, never half of one."""
    import os
    import tempfile

    import openvino

    model = core.read_model(str(tflite))
    model.set_rt_info(sha256, SOURCE_KEY)
    out = ir_path(tflite)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".ir-") as tmp:
        staged = Path(tmp) / out.name
        openvino.save_model(model, str(staged), compress_to_fp16=False)
        os.replace(staged.with_suffix(".bin"), out.with_suffix(".bin"))
        os.replace(staged, out)
    return out


__all__ = ["SOURCE_KEY", "ir_path", "read_model", "source_of", "write_ir"]
