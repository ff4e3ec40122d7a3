"""The openvino backend (the default) on the real vendored TFLite models, next to ``lite``."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from nst import Engine, EngineConfig, StyleOptions, load_image
from nst.backends import prepare_style
from nst.backends.lite import LiteBackend
from nst.backends.openvino import OpenVinoBackend
from nst.config import BUILTIN_MODELS, BUILTIN_STYLES
from nst.errors import ModelError
from nst.models import PREDICTOR, TRANSFORMER
from tests.conftest import EXIF_DIR, MAGENTA_DIR, REPO

#: One step of the predictor's int8 output (its dequantization scale).
CODE_STEP = 0.0398


@pytest.fixture(scope="module")
def ov() -> OpenVinoBackend:
    b = OpenVinoBackend(EngineConfig.from_env())
    b.warmup()
    return b


@pytest.fixture(scope="module")
def lite() -> LiteBackend:
    return LiteBackend(EngineConfig.from_env())


def _style(name: str = "starry_night") -> np.ndarray:
    return prepare_style(Image.open(BUILTIN_STYLES / f"{name}.jpg"))


def test_config_precision_and_default_backend():
    assert EngineConfig().backend == "openvino" == EngineConfig.from_env({}).backend
    assert EngineConfig.from_env({"NST_PRECISION": "F32"}).precision == "f32"
    assert EngineConfig.from_env({}).precision == "auto"
    with pytest.raises(ValueError, match="NST_PRECISION"):
        EngineConfig.from_env({"NST_PRECISION": "int4"})


def test_threads_and_precision_reach_the_compiled_model():
    b = OpenVinoBackend(EngineConfig(threads=1, precision="f32"))
    b.warmup()
    compiled = b._transfer.get_compiled_model()
    assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    import openvino

    assert compiled.get_property("INFERENCE_PRECISION_HINT") == openvino.Type.f32


def test_style_codes_do_not_depend_on_the_precision():
    """The predictor runs in f32 at either precision, so codes shipped with the presets
    (computed on one CPU) are the codes of every CPU: one fingerprint for both."""
    f32, auto = OpenVinoBackend(EngineConfig(precision="f32")), OpenVinoBackend(EngineConfig())
    assert f32.fingerprint == auto.fingerprint
    style = _style("udnie")
    assert np.array_equal(f32.style_vector(style), auto.style_vector(style))


def test_style_vectors_match_lite_within_one_step(ov, lite):
    for name in ("starry_night", "the_scream", "udnie", "great_wave"):
        a, b = ov.style_vector(_style(name)), lite.style_vector(_style(name))
        assert a.shape == (100,) and a.dtype == np.float32
        assert np.abs(a - b).max() <= CODE_STEP, name


@pytest.mark.parametrize("h,w", [(37, 53), (64, 64), (90, 250), (250, 90), (5, 7), (33, 34)])
def test_transfer_any_size(ov, h, w):
    """Sides that are not multiples of 4 are padded for the network and cropped back."""
    content = np.random.default_rng(h).random((h, w, 3), dtype=np.float32)
    out = ov.transfer(content, ov.style_vector(_style()))
    assert out.shape == (h, w, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.abs(out - content).mean() > 0.02


def test_odd_sides_are_not_resampled(ov):
    """The crop of a padded odd-size input matches the same pixels of a bigger input:
    nothing was stretched to the network's multiple of 4."""
    rng = np.random.default_rng(5)
    big = rng.random((64, 96, 3), dtype=np.float32)
    vec = ov.style_vector(_style())
    odd = ov.transfer(big[:, :95], vec)
    whole = ov.transfer(big, vec)
    assert np.abs(odd[8:-8, 8:-8] - whole[8:-8, 8:-8 - 1]).mean() < 0.01


def test_eight_aspect_ratios_compile_nothing_new(ov):
    vec = ov.style_vector(_style())
    compiles = ov.compiles
    rng = np.random.default_rng(2)
    for w, h in [(320, 240), (240, 320), (320, 180), (180, 320), (256, 256), (330, 220), (220, 330), (336, 144)]:
        assert ov.transfer(rng.random((h, w, 3), dtype=np.float32), vec).shape == (h, w, 3)
    assert ov.compiles == compiles == 2   # predictor + transformer, once per process


def test_warmup_is_idempotent_and_defers_the_predictor():
    b = OpenVinoBackend(EngineConfig.from_env())
    b.warmup()
    request = b._transfer
    b.warmup()
    assert b.compiles == 1          # the transformer; presets' codes may all be cached
    b.style_vector(_style())
    b.style_vector(_style("udnie"))
    assert b.compiles == 2 and b._transfer is request


def test_transfer_is_thread_safe(ov):
    vec = ov.style_vector(_style())
    rng = np.random.default_rng(7)
    inputs = [rng.random((48 + 12 * (i % 3), 64 + 4 * i, 3), dtype=np.float32) for i in range(8)]
    expected = [ov.transfer(x, vec) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda x: ov.transfer(x, vec), inputs))
    for e, g in zip(expected, got):
        assert np.array_equal(e, g)


def test_outputs_match_lite_within_two_levels(engine, lite_engine):
    """Same photos, same presets, whole engine path (style codes, strength, transfer):
    openvino and lite differ by ≤ 2/255 on average.  (LiteRT's own XNNPACK and
    reference kernels differ by more than that from each other.)"""
    assert engine.backend.name == "openvino" and lite_engine.backend.name == "lite"
    photos = [load_image(MAGENTA_DIR / "content" / n) for n in ("golden_gate_sq.jpg", "eiffel_tower.jpg")]
    photos.append(load_image(EXIF_DIR / "Landscape_0.jpg"))
    diffs = []
    for photo in photos:
        for style, strength in (("starry_night", 1.0), ("the_scream", 1.0), ("udnie", 0.6)):
            opts = StyleOptions(strength=strength, max_side=384)
            a = np.asarray(engine.stylize(photo, style, opts), np.float32)
            b = np.asarray(lite_engine.stylize(photo, style, opts), np.float32)
            assert a.shape == b.shape
            diffs.append(np.abs(a - b).mean())
    assert np.mean(diffs) <= 2.0, diffs
    assert max(diffs) <= 4.0, diffs


def test_damaged_model_is_a_model_error(tmp_path):
    shutil.copy(BUILTIN_MODELS / PREDICTOR, tmp_path / PREDICTOR)
    data = bytearray((BUILTIN_MODELS / TRANSFORMER).read_bytes())
    data[5000] ^= 0xFF
    (tmp_path / TRANSFORMER).write_bytes(bytes(data))
    b = OpenVinoBackend(EngineConfig(model_dir=tmp_path))
    ok, msg = b.health()
    assert not ok and TRANSFORMER in msg and "corrupt" in msg
    with pytest.raises(ModelError):
        b.transfer(np.zeros((32, 32, 3), np.float32), np.zeros(100, np.float32))
    assert OpenVinoBackend(EngineConfig()).health()[0]


def test_engine_defaults_follow_the_backend(engine):
    assert engine.pass_pixels == engine.backend.pass_pixels
    assert engine.tile_pixels == min(engine.backend.pass_pixels, engine.backend.tile_pixels)
    cfg = replace(EngineConfig.from_env(), pass_pixels=90_000, tile_pixels=40_000)
    custom = Engine.from_config(cfg)
    assert (custom.pass_pixels, custom.tile_pixels) == (90_000, 40_000)


def test_a_new_instance_paints_a_preset_without_the_predictor(tmp_path):
    """The presets' codes ship with them: warmup and a first painting on an empty cache
    compile the transformer only."""
    from nst import Engine, StyleOptions

    engine = Engine.from_config(EngineConfig(cache_dir=tmp_path / "empty"))
    engine.warmup()
    out = engine.stylize(Image.new("RGB", (96, 64), "teal"), "udnie", StyleOptions(max_side=96))
    assert out.size == (96, 64)
    assert engine.backend.compiles == 1 and engine.backend._predict is None


def test_throughput_streams_paint_like_the_latency_mode():
    """Passes that come in numbers run as streams (compiled once, one model each): the
    same pictures as a lone pass, several at a time."""
    assert OpenVinoBackend(EngineConfig(threads=2)).streams == 1   # the default: latency mode
    assert EngineConfig.from_env({"NST_STREAMS": "2"}).streams == 2
    b = OpenVinoBackend(EngineConfig(threads=2, streams=2))
    assert b.streams == 2
    vec = b.style_vector(_style("udnie"))
    rng = np.random.default_rng(11)
    inputs = [rng.random((60 + 8 * i, 88, 3), dtype=np.float32) for i in range(6)]
    lone = [b.transfer(x, vec) for x in inputs]
    compiles = b.compiles
    with ThreadPoolExecutor(b.streams) as pool:
        batch = list(pool.map(lambda x: b.batch_transfer(x, vec), inputs))
        busy = list(pool.map(lambda x: b.transfer(x, vec), inputs * 2))
    assert b.compiles == compiles + b.streams and b._idle is not None
    for want, got in zip(lone + lone + lone, batch + busy):
        assert np.array_equal(got, want)
    assert OpenVinoBackend(EngineConfig(threads=1, streams=2)).streams == 1   # nothing to split


def test_a_new_process_loads_openvino_without_its_conversion_tools(tmp_path):
    """The engine reads .tflite itself: OpenVINO's convert_model tools (and their
    telemetry) are not imported at start, and can still be imported on purpose."""
    code = (
        "import sys\n"
        "from nst.backends.openvino import OpenVinoBackend\n"
        "b = OpenVinoBackend(); b.warmup()\n"
        "assert 'openvino.tools.ovc' not in sys.modules, 'ovc imported'\n"
        "assert 'openvino_telemetry' not in sys.modules, 'telemetry imported'\n"
        "from openvino.tools.ovc import convert_model\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
