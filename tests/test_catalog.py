"""Preset catalog: manifest, images, the persistent style-vector cache."""
from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst.catalog import local as catalog_mod
from nst.backends.base import Backend, prepare_style
from nst.catalog import MANIFEST, VECTORS, CatalogError, LocalCatalog, Preset, open_catalog
from nst.config import BUILTIN_STYLES
from nst.errors import StyleNotFound


class CountingBackend(Backend):
    """Style code = mean colour and a few stats (cheap), counting the calls."""

    name = "counting"

    def __init__(self, fingerprint: str = "fp-counting") -> None:
        self._fp = fingerprint
        self.calls = 0

    @property
    def fingerprint(self) -> str:
        return self._fp

    def style_vector(self, style: np.ndarray) -> np.ndarray:
        self.calls += 1
        stats = np.concatenate([style.mean(axis=(0, 1)), style.std(axis=(0, 1))])
        return np.resize(stats, 100).astype(np.float32)

    def transfer(self, content, vector):  # pragma: no cover - not used here
        return content


@pytest.fixture()
def styles_copy(tmp_path) -> Path:
    folder = tmp_path / "styles"
    shutil.copytree(BUILTIN_STYLES, folder)
    return folder


def test_builtin_catalog_lists_18_presets(tmp_path):
    cat = LocalCatalog(BUILTIN_STYLES, tmp_path)
    presets = cat.presets()
    manifest = json.loads((BUILTIN_STYLES / MANIFEST).read_text())
    assert len(presets) == 18
    assert [p.id for p in presets] == [e["id"] for e in manifest]
    p = cat.get("starry_night")
    assert p == Preset("starry_night", "The Starry Night", "Vincent van Gogh", "1889", "starry_night.jpg")
    assert all(isinstance(p.year, str) for p in presets)
    assert "udnie" in cat and "nope" not in cat
    img = cat.image("great_wave")
    assert img.mode == "RGB" and img.size == (928, 514)
    with pytest.raises(StyleNotFound):
        cat.get("nope")
    with pytest.raises(StyleNotFound):
        cat.image("../manifest")


def test_vectors_cached_and_persisted(styles_copy, tmp_path):
    cache = tmp_path / "cache"
    backend = CountingBackend()
    cat = LocalCatalog(styles_copy, cache)
    v = cat.vector("udnie", backend)
    assert backend.calls == 1 and v.shape == (100,)
    assert np.array_equal(cat.vector("udnie", backend), v)
    assert backend.calls == 1
    assert cat.vectors_path == cache / VECTORS and cat.vectors_path.is_file()
    with pytest.raises(ValueError):
        v[0] = 1.0  # cached vectors are read-only

    # a new process (new catalog object) reads the file instead of computing
    fresh = CountingBackend()
    again = LocalCatalog(styles_copy, cache).vector("udnie", fresh)
    assert fresh.calls == 0 and np.array_equal(again, v)

    # the key: id, image hash, backend fingerprint
    key = cat.vector_key("udnie", backend)
    pid, digest, fp = key.split(":")
    assert pid == "udnie" and len(digest) == 16 and fp == "fp-counting"
    with np.load(cache / VECTORS) as data:
        assert key in data.files


def test_vector_invalidated_when_image_changes(styles_copy, tmp_path):
    backend = CountingBackend()
    cat = LocalCatalog(styles_copy, tmp_path)
    old_key = cat.vector_key("the_kiss", backend)
    old = cat.vector("the_kiss", backend)
    # replace the painting with another picture
    Image.open(styles_copy / "udnie.jpg").save(styles_copy / "the_kiss.jpg", quality=85)
    new = cat.vector("the_kiss", backend)
    assert backend.calls == 2
    assert not np.array_equal(old, new)
    assert cat.vector_key("the_kiss", backend) != old_key
    with np.load(tmp_path / VECTORS) as data:  # the stale entry is gone
        assert old_key not in data.files
    # and a different backend (other weights) gets its own entry
    other = CountingBackend("fp-other")
    cat.vector("the_kiss", other)
    assert other.calls == 1


def test_vectors_match_the_backend(engine):
    v = engine.catalog.vector("te_fare", engine.backend)
    want = engine.backend.style_vector(prepare_style(engine.catalog.image("te_fare")))
    assert np.array_equal(v, want)


def test_warm_all_presets_saves_once(styles_copy, tmp_path, monkeypatch):
    backend = CountingBackend()
    cat = LocalCatalog(styles_copy, tmp_path)
    saves = []
    original = LocalCatalog.save_vectors
    monkeypatch.setattr(LocalCatalog, "save_vectors", lambda self: (saves.append(1), original(self)))
    vecs = cat.vectors(backend)
    assert len(vecs) == 18 and backend.calls == 18 and len(saves) == 1
    cat.vectors(backend)
    assert backend.calls == 18 and len(saves) == 1


def test_vectors_next_to_images_without_cache_dir(styles_copy):
    cat = LocalCatalog(styles_copy)
    cat.vector("udnie", CountingBackend())
    assert cat.vectors_path == styles_copy / VECTORS and cat.vectors_path.is_file()
    assert not list(styles_copy.glob(".vectors-*"))  # atomic write left no temp file


def test_read_only_folder_falls_back_to_home_cache(styles_copy, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    real = catalog_mod._writable_dir
    monkeypatch.setattr(catalog_mod, "_writable_dir", lambda p: p != styles_copy and real(p))
    cat = LocalCatalog(styles_copy)
    cat.vector("udnie", CountingBackend())
    assert cat.vectors_path.parent == home / ".cache" / "nst"
    assert cat.vectors_path.is_file()


def test_unwritable_cache_keeps_vectors_in_memory(styles_copy, tmp_path, monkeypatch):
    cat = LocalCatalog(styles_copy, tmp_path / "cache")
    _ = cat.vectors_path  # resolve the location first
    monkeypatch.setattr(catalog_mod.tempfile, "mkstemp",
                        lambda **kw: (_ for _ in ()).throw(PermissionError(13, "read-only")))
    backend = CountingBackend()
    v = cat.vector("udnie", backend)
    assert np.array_equal(cat.vector("udnie", backend), v) and backend.calls == 1


def test_corrupt_vector_file_is_ignored(styles_copy, tmp_path):
    (tmp_path / VECTORS).write_bytes(b"not a zip file")
    backend = CountingBackend()
    cat = LocalCatalog(styles_copy, tmp_path)
    assert cat.vector("udnie", backend).shape == (100,)
    with np.load(tmp_path / VECTORS) as data:
        assert len(data.files) == 1


def test_shared_cache_dir_merges(tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    for d, ids in ((a_dir, ["udnie"]), (b_dir, ["the_kiss"])):
        d.mkdir()
        for pid in ids:
            shutil.copy(BUILTIN_STYLES / f"{pid}.jpg", d / f"{pid}.jpg")
        (d / MANIFEST).write_text(json.dumps([{"id": pid, "title": pid, "artist": "x", "year": 1900}
                                              for pid in ids]))
    cache = tmp_path / "cache"
    backend = CountingBackend()
    LocalCatalog(a_dir, cache).vector("udnie", backend)
    LocalCatalog(b_dir, cache).vector("the_kiss", backend)
    with np.load(cache / VECTORS) as data:
        assert sorted(k.split(":")[0] for k in data.files) == ["the_kiss", "udnie"]


def test_manifest_variants(tmp_path, caplog):
    folder = tmp_path / "s"
    folder.mkdir()
    shutil.copy(BUILTIN_STYLES / "udnie.jpg", folder / "painting.jpg")
    shutil.copy(BUILTIN_STYLES / "the_kiss.jpg", folder / "kiss.jpg")
    (folder / MANIFEST).write_text(json.dumps({"presets": [
        {"id": "u", "title": "U", "artist": "P", "year": "c. 1913", "file": "painting.jpg"},
        {"id": "kiss", "title": "K", "artist": "K", "year": 1908},          # kiss.jpg
        {"id": "gone", "title": "G", "artist": "?", "year": 1900},          # no image: skipped
        {"id": "../evil", "title": "E", "artist": "?", "year": 1900},       # bad id: skipped
        {"id": "abs", "title": "A", "artist": "?", "file": "/etc/passwd"},  # unsafe file: skipped
        {"id": "u", "title": "dup", "artist": "", "year": 1},               # duplicate: skipped
        "junk",
    ]}))
    cat = open_catalog(str(folder))
    assert [p.id for p in cat.presets()] == ["u", "kiss"]
    assert cat.get("u").year == "c. 1913" and cat.get("u").filename == "painting.jpg"
    assert cat.image("kiss").size == (640, 642)
    assert "gone" in caplog.text


def test_bad_catalogs(tmp_path):
    with pytest.raises(CatalogError) as e:
        open_catalog(str(tmp_path / "missing"))
    assert "missing" in e.value.detail
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(CatalogError):
        open_catalog(str(tmp_path))
    (tmp_path / MANIFEST).write_text('{"presets": 3}')
    with pytest.raises(CatalogError):
        LocalCatalog(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CatalogError):
        LocalCatalog(empty)


def test_gs_urls_dispatch_to_gcs_catalog(monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("nst.catalog.gcs")

    class GcsCatalog:
        def __init__(self, url, cache_dir):
            calls.append((url, cache_dir))

    fake.GcsCatalog = GcsCatalog
    monkeypatch.setitem(sys.modules, "nst.catalog.gcs", fake)
    cat = open_catalog("gs://bucket/presets", tmp_path)
    assert isinstance(cat, GcsCatalog) and calls == [("gs://bucket/presets", tmp_path)]


def test_backends_that_do_not_persist_codes(styles_copy, tmp_path):
    backend = CountingBackend("fp-mem")
    backend.persist_codes = False
    cat = LocalCatalog(styles_copy, tmp_path)
    v = cat.vector("udnie", backend)
    assert np.array_equal(cat.vector("udnie", backend), v) and backend.calls == 1
    assert not (tmp_path / VECTORS).exists()


def test_catalog_and_push_share_one_file_name_rule(tmp_path):
    """A hidden file name (the sync's own files start with '.') is unsafe for both."""
    from nst.catalog.push import validate_presets

    shutil.copy(BUILTIN_STYLES / "udnie.jpg", tmp_path / ".hidden.jpg")
    shutil.copy(BUILTIN_STYLES / "udnie.jpg", tmp_path / "udnie.jpg")
    (tmp_path / MANIFEST).write_text(json.dumps([
        {"id": "h", "title": "H", "artist": "A", "year": 1, "file": ".hidden.jpg"},
        {"id": "udnie", "title": "U", "artist": "P", "year": 1913},
    ]))
    assert [p.id for p in LocalCatalog(tmp_path, tmp_path / "c").presets()] == ["udnie"]
    with pytest.raises(ValueError) as info:
        validate_presets(tmp_path)
    assert "unsafe file name '.hidden.jpg'" in str(info.value)


def test_shipped_codes_are_used_when_their_fingerprint_matches(styles_copy, tmp_path):
    """`styles vectors` computes every code once; a new instance (empty cache) computes none."""
    from nst.catalog.shipped import refresh_shipped_vectors

    (styles_copy / VECTORS).unlink(missing_ok=True)
    build = CountingBackend()
    done = refresh_shipped_vectors(styles_copy, [build])
    assert build.calls == 18 and done.computed == 18 and done.written
    fresh = CountingBackend()
    cat = LocalCatalog(styles_copy, tmp_path / "empty-cache")
    vecs = cat.vectors(fresh)
    assert fresh.calls == 0 and len(vecs) == 18
    assert np.array_equal(vecs["udnie"], CountingBackend().style_vector(
        prepare_style(cat.image("udnie"))))
    assert not (tmp_path / "empty-cache" / VECTORS).exists()   # nothing new to cache
    # building again computes nothing and leaves the file alone
    stamp = (styles_copy / VECTORS).stat().st_mtime_ns
    again = refresh_shipped_vectors(styles_copy, [CountingBackend()])
    assert (again.computed, again.kept, again.written) == (0, 18, False)
    assert (styles_copy / VECTORS).stat().st_mtime_ns == stamp


def test_shipped_codes_of_other_weights_are_recomputed(styles_copy, tmp_path):
    """A stale fingerprint (other predictor weights) or a changed painting misses."""
    from nst.catalog.shipped import refresh_shipped_vectors

    (styles_copy / VECTORS).unlink(missing_ok=True)
    refresh_shipped_vectors(styles_copy, [CountingBackend("fp-old")])
    Image.open(styles_copy / "udnie.jpg").save(styles_copy / "the_kiss.jpg", quality=85)
    new = CountingBackend("fp-new")
    LocalCatalog(styles_copy, tmp_path / "cache").vectors(new)
    assert new.calls == 18
    old = CountingBackend("fp-old")   # same weights: only the changed painting is computed
    LocalCatalog(styles_copy, tmp_path / "cache").vectors(old)
    assert old.calls == 1
    # the build step replaces the stale codes: exactly the wanted keys stay
    rebuilt = refresh_shipped_vectors(styles_copy, [CountingBackend("fp-new")])
    assert rebuilt.computed == 18 and rebuilt.written
    with np.load(styles_copy / VECTORS) as data:
        assert len(data.files) == 18 and all(k.endswith(":fp-new") for k in data.files)


def test_builtin_presets_ship_current_codes(tmp_path):
    """nst/data/styles/vectors.npz holds every preset's code for each kept backend, as
    those backends compute them now (`python -m nst styles vectors` after a change)."""
    from nst.catalog.shipped import shipping_backends

    cat = LocalCatalog(BUILTIN_STYLES, tmp_path / "cache")
    backends = shipping_backends()
    assert sorted(b.name for b in backends) == ["lite", "openvino"]
    with np.load(BUILTIN_STYLES / VECTORS) as data:
        keys = set(data.files)
    for backend in backends:
        missing = [p.id for p in cat.presets() if cat.vector_key(p.id, backend) not in keys]
        assert not missing, f"{backend.name}: run `python -m nst styles vectors` ({missing})"
        shipped = cat.vector("great_wave", backend)
        computed = backend.style_vector(prepare_style(cat.image("great_wave")))
        assert np.abs(shipped - computed).max() <= 1e-3, backend.name
