"""Model files, the lite backend (real TFLite models) and the hub backend (a tiny SavedModel)."""
from __future__ import annotations

import http.server
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nst import models
from nst.backends import STYLE_SIDE, make_backend
from nst.backends.lite import LiteBackend
from nst.config import BUILTIN_MODELS, BUILTIN_STYLES, EngineConfig
from nst.errors import ModelError
from tests.conftest import EXIF_DIR, MAGENTA_DIR

REPO = Path(__file__).resolve().parents[1]


# --- model files ------------------------------------------------------------------------
def test_specs_match_the_models_readme():
    table = {}
    for line in (BUILTIN_MODELS / "README.md").read_text().splitlines():
        m = re.match(r"\|\s*(\S+\.tflite)\s*\|\s*(\d+)\s*\|\s*([0-9a-f]{64})\s*\|", line)
        if m:
            table[m.group(1)] = (int(m.group(2)), m.group(3))
    assert table == {s.name: (s.size, s.sha256) for s in models.SPECS.values()}


def test_vendored_models_verify():
    for st in models.all_status(EngineConfig()):
        assert st.ok, st.problem
        assert st.path.parent == BUILTIN_MODELS


def test_model_dir_is_searched_first(tmp_path):
    shutil.copy(BUILTIN_MODELS / models.PREDICTOR, tmp_path / models.PREDICTOR)
    cfg = EngineConfig(model_dir=tmp_path)
    assert models.locate(models.PREDICTOR, cfg) == tmp_path / models.PREDICTOR
    # not there → the vendored copy
    assert models.locate(models.TRANSFORMER, cfg) == BUILTIN_MODELS / models.TRANSFORMER


def test_corrupt_model_is_an_error_naming_the_file(tmp_path):
    data = bytearray((BUILTIN_MODELS / models.PREDICTOR).read_bytes())
    data[1000] ^= 0xFF
    (tmp_path / models.PREDICTOR).write_bytes(bytes(data))
    cfg = EngineConfig(model_dir=tmp_path)
    with pytest.raises(ModelError) as e:
        models.locate(models.PREDICTOR, cfg)
    assert str(tmp_path / models.PREDICTOR) in e.value.detail and "corrupt" in e.value.detail
    ok, msg = LiteBackend(cfg).health()
    assert not ok and models.PREDICTOR in msg


def test_truncated_model_is_an_error(tmp_path):
    (tmp_path / models.TRANSFORMER).write_bytes(b"\0" * 100)
    with pytest.raises(ModelError) as e:
        models.locate(models.TRANSFORMER, EngineConfig(model_dir=tmp_path))
    assert "100 bytes" in e.value.detail


def test_missing_model_names_where_it_looked(tmp_path, monkeypatch):
    empty = tmp_path / "vendored"
    empty.mkdir()
    monkeypatch.setattr(models, "BUILTIN_MODELS", empty)
    cfg = EngineConfig(model_dir=tmp_path / "mine")
    with pytest.raises(ModelError) as e:
        models.locate(models.TRANSFORMER, cfg)
    assert e.value.code == "model_missing"
    assert models.TRANSFORMER in e.value.detail
    assert str(tmp_path / "mine") in e.value.detail and str(empty) in e.value.detail
    with pytest.raises(ModelError):
        LiteBackend(cfg).style_vector(np.zeros((256, 256, 3), np.float32))


# --- lite backend -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def lite() -> LiteBackend:
    b = LiteBackend(EngineConfig.from_env())
    b.warmup()
    return b


def _style(seed: int = 0) -> np.ndarray:
    from PIL import Image

    from nst.backends import prepare_style

    return prepare_style(Image.open(BUILTIN_STYLES / "starry_night.jpg")) if seed == 0 else \
        np.random.default_rng(seed).random((STYLE_SIDE, STYLE_SIDE, 3), dtype=np.float32)


def test_style_vector_shape_and_determinism(lite):
    v1 = lite.style_vector(_style())
    v2 = lite.style_vector(_style())
    assert v1.shape == (100,) and v1.dtype == np.float32
    assert np.array_equal(v1, v2)
    assert not np.allclose(v1, lite.style_vector(_style(1)))


def test_style_vector_rejects_wrong_shape(lite):
    with pytest.raises(ValueError):
        lite.style_vector(np.zeros((128, 128, 3), np.float32))


@pytest.mark.parametrize("h,w", [(37, 53), (64, 64), (90, 250), (250, 90), (5, 7)])
def test_transfer_any_size(lite, h, w):
    content = np.random.default_rng(h).random((h, w, 3), dtype=np.float32)
    out = lite.transfer(content, lite.style_vector(_style()))
    assert out.shape == (h, w, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.abs(out - content).mean() > 0.02  # it did something


def test_transfer_reuses_interpreter_and_shape(lite):
    vec = lite.style_vector(_style())
    x = np.random.default_rng(1).random((120, 200, 3), dtype=np.float32)
    lite.transfer(x, vec)
    interp = lite._transformer
    n = lite.allocations
    a = lite.transfer(x, vec)
    lite.transfer(x[:118, :197], vec)  # same 16-px bucket: no new allocation
    b = lite.transfer(x, vec)
    assert lite.allocations == n
    assert lite._transformer is interp
    assert np.array_equal(a, b)


def test_growing_arena_rebuilds_the_interpreter(lite):
    """A bigger shape than ever before gets a fresh interpreter (old arena freed first);
    smaller shapes reuse it; results equal a fresh backend's."""
    vec = lite.style_vector(_style())
    rng = np.random.default_rng(3)
    lite.transfer(rng.random((64, 64, 3), dtype=np.float32), vec)
    big = rng.random((300, 260, 3), dtype=np.float32)
    before = lite._transformer
    a = lite.transfer(big, vec)
    grown = lite._transformer
    assert grown is not before and lite._arena_pixels >= 304 * 272
    lite.transfer(rng.random((100, 90, 3), dtype=np.float32), vec)
    assert lite._transformer is grown
    fresh = LiteBackend(EngineConfig.from_env())
    assert np.array_equal(fresh.transfer(big, vec), a)
    assert np.array_equal(lite.transfer(big, vec), a)


def test_threads_from_config():
    assert LiteBackend(EngineConfig(threads=1)).threads == 1
    assert LiteBackend(EngineConfig()).threads == (os.cpu_count() or 1)


def test_transfer_is_thread_safe(lite):
    vec = lite.style_vector(_style())
    rng = np.random.default_rng(7)
    inputs = [rng.random((48 + 16 * (i % 3), 64, 3), dtype=np.float32) for i in range(8)]
    expected = [lite.transfer(x, vec) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda x: lite.transfer(x, vec), inputs))
    for e, g in zip(expected, got):
        assert np.array_equal(e, g)


def test_fingerprint_is_predictor_hash(lite):
    assert lite.fingerprint == models.SPECS[models.PREDICTOR].sha256[:16]


def test_make_backend_and_cheap_import():
    assert make_backend(EngineConfig()).name == "openvino"
    assert make_backend(EngineConfig(backend="lite")).name == "lite"
    assert make_backend(EngineConfig(backend="hub")).name == "hub"
    with pytest.raises(ValueError):
        make_backend(EngineConfig(backend="nope"))
    code = ("import sys, nst; from nst import Engine, EngineConfig, StyleOptions; "
            "[Engine.from_config(EngineConfig(backend=b)) for b in ('hub', 'lite', 'openvino')]; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
            "assert 'ai_edge_litert' not in sys.modules, 'litert imported'; "
            "assert 'openvino' not in sys.modules, 'openvino imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


def test_base_does_not_import_its_implementations():
    """The factory lives in nst.backends, apart from the interface it builds (no cycle)."""
    source = (REPO / "nst" / "backends" / "base.py").read_text()
    assert not re.search(r"^\s*(from|import) nst\.backends\.(lite|hub|openvino)", source, re.M)
    assert "def make_backend" not in source


# --- hub backend (TensorFlow; a tiny SavedModel, module-scoped) --------------------------
@pytest.fixture(scope="module")
def tiny_hub(tmp_path_factory) -> Path:
    """A SavedModel with Magenta's calling convention: out = ½·content + ½·mean colour of style."""
    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("tensorflow_hub")

    class Tiny(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32),
                                      tf.TensorSpec([1, None, None, 3], tf.float32)])
        def __call__(self, content, style):
            mean = tf.reduce_mean(style, axis=[1, 2], keepdims=True)
            return [0.5 * content + 0.5 * mean]

    folder = tmp_path_factory.mktemp("hub") / "tiny"
    tf.saved_model.save(Tiny(), str(folder))
    return folder


def _expected_hub(content: np.ndarray, style256: np.ndarray) -> np.ndarray:
    return 0.5 * content + 0.5 * style256.mean(axis=(0, 1))


def test_hub_local_savedmodel_through_engine(tiny_hub, tmp_path):
    from PIL import Image

    from nst import Engine, StyleOptions, load_image
    from nst.backends import prepare_style

    cfg = EngineConfig.from_env({"NST_BACKEND": "hub", "NST_HUB_HANDLE": str(tiny_hub),
                                 "NST_CACHE_DIR": str(tmp_path)})
    engine = Engine.from_config(cfg)
    assert engine.backend.name == "hub" and not engine.backend.linear_codes
    assert engine.health()[0]
    engine.warmup()
    content = load_image(MAGENTA_DIR / "content" / "golden_gate_sq.jpg")
    c = np.asarray(content, np.float32) / 255
    s1 = prepare_style(engine.catalog.image("starry_night"))
    s2 = prepare_style(engine.catalog.image("great_wave"))

    def arr(img: Image.Image) -> np.ndarray:
        return np.asarray(img, np.float32) / 255

    full = arr(engine.stylize(content, "starry_night"))
    assert full.shape == c.shape
    assert np.abs(full - _expected_hub(c, s1)).max() <= 1.5 / 255
    # strength: output-space cross-fade with the content
    half = arr(engine.stylize(content, "starry_night", StyleOptions(strength=0.5)))
    assert np.abs(half - (0.5 * c + 0.5 * _expected_hub(c, s1))).max() <= 1.5 / 255
    assert np.array_equal(arr(engine.stylize(content, "starry_night", StyleOptions(strength=0))),
                          np.asarray(content, np.float32) / 255)
    # mix: outputs blended with the mix weight; weight 0 / 1 are exactly the single styles
    mixed = arr(engine.stylize(content, "starry_night", mix="great_wave", mix_weight=0.25))
    want = 0.75 * _expected_hub(c, s1) + 0.25 * _expected_hub(c, s2)
    assert np.abs(mixed - want).max() <= 1.5 / 255
    assert np.array_equal(arr(engine.stylize(content, "starry_night", mix="great_wave", mix_weight=0)),
                          full)
    # keep colours works on any backend
    kept = engine.stylize(content, "starry_night", StyleOptions(keep_colors=True))
    d = np.abs(np.asarray(kept.convert("YCbCr"), np.float32)
               - np.asarray(content.convert("YCbCr"), np.float32)).mean(axis=(0, 1))
    assert d[1] <= 3 and d[2] <= 3
    # a user's style image (not a preset)
    style_img = engine.catalog.image("great_wave")
    assert np.abs(arr(engine.stylize(content, style_img)) - _expected_hub(c, s2)).max() <= 1.5 / 255


def test_hub_tiled_matches_whole(tiny_hub, tmp_path):
    """The tiling path runs through the hub backend too (and this model has no seams to hide)."""
    from PIL import Image

    from nst import Engine
    from nst.backends.hub import HubBackend
    from nst.catalog import LocalCatalog

    backend = HubBackend(EngineConfig(backend="hub", hub_handle=str(tiny_hub)))
    catalog = LocalCatalog(BUILTIN_STYLES, tmp_path)
    content = Image.open(EXIF_DIR / "Landscape_0.jpg").convert("RGB").resize((300, 200))
    whole = Engine(backend, catalog).stylize(content, "udnie")
    tiled = Engine(backend, catalog, pass_pixels=100 * 100).stylize(content, "udnie")
    diff = np.abs(np.asarray(whole, np.float32) - np.asarray(tiled, np.float32))
    assert diff.mean() < 2.0


def test_hub_missing_folder_is_model_error(tmp_path):
    from nst.backends.hub import HubBackend

    b = HubBackend(EngineConfig(backend="hub", hub_handle=str(tmp_path / "nope")))
    ok, msg = b.health()
    assert not ok and "not found" in msg
    pytest.importorskip("tensorflow")
    with pytest.raises(ModelError):
        b.transfer(np.zeros((32, 32, 3), np.float32), np.zeros((256, 256, 3), np.float32))


def test_hub_url_compressed_download(tiny_hub, tmp_path, monkeypatch):
    """A TF-Hub-style URL: ?tf-hub-format=compressed → tarball, cached in TFHUB_CACHE_DIR."""
    from nst.backends.hub import HubBackend

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for p in sorted(tiny_hub.iterdir()):
            tar.add(str(p), arcname=p.name)
    blob = buf.getvalue()
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            requests.append(self.path)
            if url.path == "/google/tiny-style/1" and \
                    urllib.parse.parse_qs(url.query).get("tf-hub-format") == ["compressed"]:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-tar")
                self.send_header("Content-Length", str(len(blob)))
                self.end_headers()
                self.wfile.write(blob)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        cache = tmp_path / "tfhub"
        monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
        url = f"http://127.0.0.1:{server.server_address[1]}/google/tiny-style/1"
        b = HubBackend(EngineConfig(backend="hub", hub_handle=url))
        assert b.health()[0]
        content = np.full((20, 30, 3), 0.2, np.float32)
        out = b.transfer(content, np.full((256, 256, 3), 0.8, np.float32))
        assert out.shape == (20, 30, 3)
        assert np.allclose(out, 0.5, atol=1e-3)
        assert requests == ["/google/tiny-style/1?tf-hub-format=compressed"]
        assert any(p.name == "saved_model.pb" for p in cache.rglob("*"))
        # a second backend on the same handle loads from the cache: no new request
        HubBackend(EngineConfig(backend="hub", hub_handle=url)).warmup()
        assert len(requests) == 1
    finally:
        server.shutdown()
        server.server_close()
