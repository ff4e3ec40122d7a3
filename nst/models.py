"""Find and verify the TFLite model files.

Search order for every file: ``config.model_dir`` (``NST_MODEL_DIR``) if set,
then the vendored copies in ``nst/data/models``.  The first file found is the
one used; it must have the exact size and sha256 recorded in
``nst/data/models/README.md`` (the same values are kept below, and a test checks
that both agree).  A file that is found but damaged is an error — we never fall
back silently to another copy.  Each file is hashed once per process (the
result is remembered by path, size and mtime).
"""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from nst.config import BUILTIN_MODELS, EngineConfig
from nst.errors import ModelError

PREDICTOR = "style_predict_quantized_256.tflite"
TRANSFORMER = "style_transfer_quantized_dynamic.tflite"
#: mediapipe 0.10.14 (nst.subjects): BlazeFace short range and the selfie segmenter.
FACE_DETECTOR = "face_detection_short_range.tflite"
SEGMENTER = "selfie_segmentation.tflite"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    size: int
    sha256: str
    required: bool  # used by the engine (the 384 variants are vendored but unused)


SPECS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec(PREDICTOR, 2828838,
                  "af6ad4b2e7aeba0675f32636082ab915ced5375229a3f8aff7e714c6213f5ed2", True),
        ModelSpec(TRANSFORMER, 244072,
                  "69b191c1f1f3f6520634293803a528469015a00269f982ebd38b7850f68d9341", True),
        ModelSpec("style_transfer_quantized_384.tflite", 284398,
                  "7a1550643cf034a4d813c0aa276976cd15da4141b4f1ec3631db1d0d9c8e2cd1", False),
        ModelSpec("style_transfer_f16_384.tflite", 422086,
                  "53b5243ed5aa33e408db7976c8a8e51a90a0f7708fd122a31428cd00fbdf6aa6", False),
        # used only when a painting protects faces / the person (nst.subjects)
        ModelSpec(FACE_DETECTOR, 229714,
                  "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8", False),
        ModelSpec(SEGMENTER, 249505,
                  "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c", False),
    )
}


@dataclass(frozen=True)
class ModelStatus:
    """What ``python -m nst models`` prints for one file."""

    name: str
    path: Path | None      # where it was found (None: nowhere)
    size: int | None
    ok: bool
    problem: str           # "" when ok
    searched: tuple[Path, ...]


_verified: dict[tuple[str, int, int], str] = {}   # (path, size, mtime_ns) -> sha256
_lock = threading.Lock()


def search_dirs(config: EngineConfig | None = None) -> tuple[Path, ...]:
    dirs: list[Path] = []
    if config is not None and config.model_dir is not None:
        dirs.append(Path(config.model_dir).expanduser())
    if BUILTIN_MODELS not in dirs:
        dirs.append(BUILTIN_MODELS)
    return tuple(dirs)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def status(name: str, config: EngineConfig | None = None) -> ModelStatus:
    """Locate and verify one file without raising."""
    spec = SPECS[name]
    dirs = search_dirs(config)
    where = " and ".join(str(d) for d in dirs)
    for d in dirs:
        path = d / name
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        if st.st_size != spec.size:
            return ModelStatus(name, path, st.st_size, False,
                               f"model file {path} has {st.st_size} bytes, expected {spec.size}",
                               dirs)
        key = (str(path), st.st_size, st.st_mtime_ns)
        with _lock:
            digest = _verified.get(key)
        if digest is None:
            try:
                digest = _sha256(path)
            except OSError as e:
                return ModelStatus(name, path, st.st_size, False,
                                   f"model file {path} cannot be read: {e.strerror or e}", dirs)
            with _lock:
                _verified[key] = digest
        if digest != spec.sha256:
            return ModelStatus(name, path, st.st_size, False,
                               f"model file {path} is corrupt (sha256 {digest[:16]}…, "
                               f"expected {spec.sha256[:16]}…)", dirs)
        return ModelStatus(name, path, st.st_size, True, "", dirs)
    return ModelStatus(name, None, None, False,
                       f"model file {name} not found (looked in {where})", dirs)


def locate(name: str, config: EngineConfig | None = None) -> Path:
    """Path of a verified model file, or ModelError naming the file and where we looked."""
    st = status(name, config)
    if not st.ok:
        raise ModelError(code="model_missing" if st.path is None else "model_corrupt",
                         detail=st.problem)
    assert st.path is not None
    return st.path


def engine_files_problem(config: EngineConfig | None = None) -> str:
    """"" if the predictor and the transformer are found and intact, else the first problem."""
    for name in (PREDICTOR, TRANSFORMER):
        st = status(name, config)
        if not st.ok:
            return st.problem
    return ""


def all_status(config: EngineConfig | None = None) -> list[ModelStatus]:
    return [status(name, config) for name in SPECS]


def file_fingerprint(path: Path) -> str:
    """sha256[:16] of a (verified) model file; cheap after the first call."""
    st = os.stat(path)
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _lock:
        digest = _verified.get(key)
    if digest is None:
        digest = _sha256(Path(path))
        with _lock:
            _verified[key] = digest
    return digest[:16]


__all__ = ["PREDICTOR", "TRANSFORMER", "FACE_DETECTOR", "SEGMENTER", "SPECS", "ModelSpec", "ModelStatus",
           "search_dirs", "status", "locate", "all_status", "file_fingerprint",
           "engine_files_problem"]
