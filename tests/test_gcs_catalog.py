"""GcsCatalog and push_presets against fake-gcs-server (the session fixture of tests/gcs_emulator.py)."""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from nst.catalog import MANIFEST, VECTORS, CatalogError, LocalCatalog, open_catalog
from nst.catalog.gcs import GcsCatalog
from nst.catalog.mirror import INDEX
from nst.catalog.push import push_presets
from nst.config import BUILTIN_STYLES, EngineConfig
from nst.gcs import make_client, parse_gs_url


class CountingBackend:
    """Delegates to a real backend and counts style-vector computations."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def style_vector(self, style):
        self.calls += 1
        return self.inner.style_vector(style)


@pytest.fixture(scope="session")
def real_backend():
    from nst.backends import make_backend

    return make_backend(EngineConfig())


@pytest.fixture
def backend(real_backend) -> CountingBackend:
    return CountingBackend(real_backend)


def _copy_styles(dst: Path) -> Path:
    """The built-in presets without any vectors.npz a local run may have left there."""
    shutil.copytree(BUILTIN_STYLES, dst, ignore=shutil.ignore_patterns(VECTORS, ".*"))
    return dst


@pytest.fixture(scope="session")
def styles_src(tmp_path_factory) -> Path:
    return _copy_styles(tmp_path_factory.mktemp("src") / "styles")


@pytest.fixture
def pushed(gcs_emulator, styles_src) -> str:
    """A fresh bucket holding the built-in presets; returns its gs:// URL."""
    bucket = gcs_emulator.new_bucket("styles")
    url = f"gs://{bucket}/presets/v1"
    assert push_presets(styles_src, url) == 18
    return url


def _objects(url: str) -> dict:
    bucket, prefix = parse_gs_url(url)
    return {b.name[len(prefix) + 1:]: b for b in make_client().list_blobs(bucket, prefix=prefix + "/")}


def _catalog(url: str, cache: Path, **kw) -> GcsCatalog:
    return GcsCatalog(url, cache, **kw)


def test_parse_gs_url():
    assert parse_gs_url("gs://b/a/b/") == ("b", "a/b")
    assert parse_gs_url("gs://b") == ("b", "")
    with pytest.raises(ValueError):
        parse_gs_url("s3://b/x")


def test_push_uploads_manifest_and_images(pushed):
    objs = _objects(pushed)
    assert MANIFEST in objs and len(objs) == 19  # 18 images + manifest, no vectors yet
    assert objs[MANIFEST].content_type == "application/json"
    assert objs["starry_night.jpg"].content_type == "image/jpeg"


def test_catalog_lists_presets_and_loads_images(pushed, tmp_path):
    cat = _catalog(pushed, tmp_path / "cache")
    bucket, prefix = parse_gs_url(pushed)
    assert cat.local_folder == tmp_path / "cache" / "nst-styles" / bucket / "presets" / "v1"
    assert cat.synced
    local = LocalCatalog(BUILTIN_STYLES)
    assert [p.id for p in cat.presets()] == [p.id for p in local.presets()]
    assert len(cat.presets()) == 18
    assert cat.get("great_wave").artist == "Katsushika Hokusai"
    img = cat.image("starry_night")
    assert img.mode == "RGB" and img.size == (1024, 811)
    assert cat.vectors_path == cat.local_folder / VECTORS
    assert (cat.local_folder / INDEX).is_file()


def test_open_catalog_gs_url(pushed, tmp_path):
    cat = open_catalog(pushed, tmp_path / "c")
    assert isinstance(cat, GcsCatalog) and len(cat.presets()) == 18


def test_vectors_uploaded_and_reused(pushed, tmp_path, backend):
    cat = _catalog(pushed, tmp_path / "one")
    vec = cat.vector("starry_night", backend)
    assert backend.calls == 1 and vec.shape == (100,)
    all_vecs = cat.vectors(backend)
    assert backend.calls == 18 and len(all_vecs) == 18
    assert cat.wait_for_upload(30)
    assert VECTORS in _objects(pushed)  # vectors.npz appeared in the bucket

    fresh = CountingBackend(backend.inner)
    cat2 = _catalog(pushed, tmp_path / "two")  # a new instance, empty local cache
    assert (cat2.local_folder / VECTORS).is_file()
    got = cat2.vectors(fresh)
    assert fresh.calls == 0  # nothing recomputed
    for pid, v in all_vecs.items():
        np.testing.assert_array_equal(got[pid], v)


def test_vector_upload_merges_with_other_instances(pushed, tmp_path, backend):
    a = _catalog(pushed, tmp_path / "a")
    b = _catalog(pushed, tmp_path / "b")
    a.vector("starry_night", backend)
    assert a.wait_for_upload(30)
    b.vector("great_wave", backend)  # b never saw a's upload: its upload must merge
    assert b.wait_for_upload(30)
    bucket, prefix = parse_gs_url(pushed)
    data = make_client().bucket(bucket).blob(f"{prefix}/{VECTORS}").download_as_bytes()
    import io

    with np.load(io.BytesIO(data)) as z:
        ids = {k.split(":", 1)[0] for k in z.files}
    assert {"starry_night", "great_wave"} <= ids


def test_resync_downloads_only_changes(pushed, tmp_path):
    cache = tmp_path / "cache"
    cat = _catalog(pushed, cache)
    assert cat.sync() == 0  # everything already local
    bucket, prefix = parse_gs_url(pushed)
    blob = make_client().bucket(bucket).blob(f"{prefix}/udnie.jpg")
    new_image = (BUILTIN_STYLES / "the_kiss.jpg").read_bytes()
    blob.upload_from_string(new_image, content_type="image/jpeg")
    assert cat.refresh() == 1
    assert (cat.local_folder / "udnie.jpg").read_bytes() == new_image
    # same content re-uploaded (new generation, same md5): nothing to download
    blob.upload_from_string(new_image, content_type="image/jpeg")
    assert cat.sync() == 0
    # a new GcsCatalog on the warm dir downloads nothing either
    again = _catalog(pushed, cache)
    assert again.sync() == 0


def test_manifest_change_removes_dropped_presets(pushed, tmp_path):
    cat = _catalog(pushed, tmp_path / "cache")
    bucket, prefix = parse_gs_url(pushed)
    manifest = json.loads((BUILTIN_STYLES / MANIFEST).read_text())
    smaller = [e for e in manifest if e["id"] != "udnie"]
    make_client().bucket(bucket).blob(f"{prefix}/{MANIFEST}").upload_from_string(json.dumps(smaller))
    cat.refresh()
    assert "udnie" not in cat and len(cat.presets()) == 17
    assert not (cat.local_folder / "udnie.jpg").exists()


def test_unreachable_bucket_uses_warm_local_copy(gcs_emulator, pushed, tmp_path, backend, caplog):
    cache = tmp_path / "warm"
    warm = _catalog(pushed, cache)
    warm.vectors(backend)
    assert warm.wait_for_upload(30)
    calls = backend.calls
    with gcs_emulator.stopped():
        caplog.set_level(logging.WARNING, logger="nst.catalog")
        t0 = time.monotonic()
        cat = _catalog(pushed, cache, timeout=1.0, retry_deadline=1.0)
        assert time.monotonic() - t0 < 10
        assert not cat.synced
        assert any("using the local copy" in r.getMessage() for r in caplog.records)
        assert len(cat.presets()) == 18
        assert cat.image("the_scream").mode == "RGB"
        cat.vector("the_scream", backend)
        assert backend.calls == calls  # vectors from the local copy
        # no local copy at all: a clear error, quickly
        t0 = time.monotonic()
        with pytest.raises(CatalogError) as info:
            _catalog(pushed, tmp_path / "cold", timeout=1.0, retry_deadline=1.0)
        assert time.monotonic() - t0 < 10
        assert info.value.code == "catalog_unavailable"
        assert pushed in info.value.detail and "no local copy" in info.value.detail


def test_vector_upload_failure_is_only_logged(gcs_emulator, pushed, tmp_path, backend, caplog):
    cat = _catalog(pushed, tmp_path / "c", timeout=1.0, retry_deadline=1.0)
    caplog.set_level(logging.WARNING, logger="nst.catalog")
    with gcs_emulator.stopped():
        vec = cat.vector("udnie", backend)  # computing works while the bucket is down
        assert cat.wait_for_upload(30)
    assert vec.shape == (100,)
    assert (cat.local_folder / VECTORS).is_file()
    assert any("could not upload" in r.getMessage() for r in caplog.records)


def test_missing_manifest_in_bucket(gcs_emulator, tmp_path):
    bucket = gcs_emulator.new_bucket("empty")
    with pytest.raises(CatalogError) as info:
        _catalog(f"gs://{bucket}/nothing", tmp_path / "c")
    assert "manifest.json" in info.value.detail


# --------------------------------------------------------------------------- push validation

@pytest.mark.parametrize("breakage, message", [
    ("no_title", "missing title"),
    ("no_year", "missing year"),
    ("missing_image", "not found"),
    ("corrupt_image", "does not decode"),
    ("duplicate", "duplicate id"),
    ("bad_id", "id must match"),
    ("unsafe_file", "unsafe file name"),
    ("not_a_list", "must be a list"),
    ("bad_json", "manifest.json"),
    ("bad_brush", "brush must be one of bold, medium, fine"),
])
def test_push_rejects_bad_manifest(gcs_emulator, tmp_path, breakage, message):
    src = _copy_styles(tmp_path / "styles")
    manifest = json.loads((src / MANIFEST).read_text())
    if breakage == "no_title":
        del manifest[3]["title"]
    elif breakage == "no_year":
        manifest[0]["year"] = None
    elif breakage == "missing_image":
        (src / "udnie.jpg").unlink()
    elif breakage == "corrupt_image":
        (src / "udnie.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    elif breakage == "duplicate":
        manifest.append(dict(manifest[0]))
    elif breakage == "bad_id":
        manifest[0]["id"] = "../escape"
    elif breakage == "unsafe_file":
        manifest[0]["file"] = "../outside.jpg"
    elif breakage == "not_a_list":
        manifest = {"presets": "nope"}
    elif breakage == "bad_brush":
        manifest[0]["brush"] = "huge"
    if breakage == "bad_json":
        (src / MANIFEST).write_text("{not json")
    else:
        (src / MANIFEST).write_text(json.dumps(manifest))
    bucket = gcs_emulator.new_bucket("bad")
    with pytest.raises(ValueError) as info:
        push_presets(src, f"gs://{bucket}/p")
    assert message in str(info.value)
    assert list(make_client().list_blobs(bucket)) == []  # nothing uploaded


def test_push_with_vectors_and_skips_unchanged(gcs_emulator, tmp_path, backend):
    src = _copy_styles(tmp_path / "styles")
    local = LocalCatalog(src)
    local.vector("udnie", backend)
    assert (src / VECTORS).is_file()
    bucket = gcs_emulator.new_bucket("vec")
    url = f"gs://{bucket}/p"
    assert push_presets(src, url) == 18
    assert VECTORS in _objects(url)
    gens = {k: b.generation for k, b in _objects(url).items()}
    push_presets(src, url)  # again: unchanged images are not re-uploaded
    after = {k: b.generation for k, b in _objects(url).items()}
    assert after["udnie.jpg"] == gens["udnie.jpg"]
    assert after[MANIFEST] != gens[MANIFEST]  # the manifest always goes last

    fresh = CountingBackend(backend.inner)
    cat = _catalog(url, tmp_path / "cache")
    cat.vector("udnie", fresh)
    assert fresh.calls == 0


def test_push_to_unreachable_bucket_raises(tmp_path):
    from bench.launcher import free_port
    from tests.gcs_emulator import emulator_env

    with emulator_env(f"http://127.0.0.1:{free_port()}"):
        with pytest.raises(RuntimeError):
            push_presets(BUILTIN_STYLES, "gs://nowhere/p", timeout=1.0, retry_deadline=1.0)  # validates, then fails
