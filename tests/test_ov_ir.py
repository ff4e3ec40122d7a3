"""The transformer's OpenVINO IR (nst/backends/ov_ir.py): shipped, current, the same graph
as the vendored .tflite, and never used when it was made from another file."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from nst import EngineConfig
from nst.backends.openvino import OpenVinoBackend, import_runtime
from nst.backends.ov_ir import SOURCE_KEY, ir_path, source_of, write_ir
from nst.config import BUILTIN_MODELS
from nst.models import PREDICTOR, SPECS, TRANSFORMER
from tests.cli_harness import run

SHA = SPECS[TRANSFORMER].sha256


def _paint(backend: OpenVinoBackend) -> np.ndarray:
    rng = np.random.default_rng(3)
    content = rng.random((72, 104, 3), dtype=np.float32)
    code = np.linspace(-1, 1, 100, dtype=np.float32)
    return backend.transfer(content, code)


def _models_dir(tmp_path: Path) -> Path:
    """A model folder of its own (NST_MODEL_DIR) with the two vendored .tflite files."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in (PREDICTOR, TRANSFORMER):
        shutil.copy(BUILTIN_MODELS / name, folder / name)
    return folder


def test_the_shipped_ir_is_made_from_the_vendored_transformer() -> None:
    """A test that fails when the .tflite changes without `python -m nst models ir`."""
    ir = ir_path(BUILTIN_MODELS / TRANSFORMER)
    assert ir.is_file() and ir.with_suffix(".bin").is_file()
    assert source_of(import_runtime().Core().read_model(str(ir))) == SHA


def test_the_backend_reads_the_ir_and_paints_as_from_the_tflite(tmp_path: Path) -> None:
    shipped = OpenVinoBackend(EngineConfig(threads=2, precision="f32"))
    from_ir = _paint(shipped)
    assert source_of(shipped._model) == SHA, "read from the IR"
    plain = OpenVinoBackend(EngineConfig(threads=2, precision="f32", model_dir=_models_dir(tmp_path)))
    from_tflite = _paint(plain)
    assert source_of(plain._model) == "", "no IR in that folder: the .tflite"
    assert np.array_equal(from_ir, from_tflite)


def test_a_stale_or_broken_ir_falls_back_to_the_tflite(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    folder = _models_dir(tmp_path)
    core = import_runtime().Core()
    ir = write_ir(core, folder / TRANSFORMER, SHA)
    xml = ir.read_text()
    assert f'<{SOURCE_KEY} value="{SHA}"' in xml
    ir.write_text(xml.replace(SHA, "0" * 64))           # made from another file
    with caplog.at_level(logging.WARNING, logger="nst.backends.ov_ir"):
        stale = OpenVinoBackend(EngineConfig(threads=2, precision="f32", model_dir=folder))
        painted = _paint(stale)
    assert source_of(stale._model) == "" and "made from another" in caplog.text
    ir.write_text("<net>half written")                  # unreadable
    broken = OpenVinoBackend(EngineConfig(threads=2, precision="f32", model_dir=folder))
    assert np.array_equal(_paint(broken), painted) and source_of(broken._model) == ""


def test_models_ir_writes_it_beside_the_tflite_in_use(tmp_path: Path, capsys,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _models_dir(tmp_path)
    monkeypatch.setenv("NST_MODEL_DIR", str(folder))
    code, out, _ = run(capsys, "models", "ir")
    assert code == 0 and str(ir_path(folder / TRANSFORMER)) in out
    backend = OpenVinoBackend(EngineConfig(threads=2, model_dir=folder))
    backend.warmup()
    assert source_of(backend._model) == SHA
    # Written again while a process has it open (mapped): that process lives on.
    assert run(capsys, "models", "ir")[0] == 0
    import_runtime().Core().compile_model(backend._model, "CPU")   # reads every weight
    assert _paint(backend).shape == (72, 104, 3)
