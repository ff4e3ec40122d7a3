"""GcsStore specifics: preconditions on the wire, object layout, outages, bounded retries."""
from __future__ import annotations

import json
import time

import pytest

from bench.launcher import free_port
from bot.store import StoreError
from bot.store.gcs import GcsStore
from nst.gcs import make_client
from tests.gcs_emulator import Emulator, emulator_env
from tests.store.harness import run_threads


def test_raw_emulator_precondition_support():
    """Documents (and re-checks each run) that the plain emulator ignores ifGenerationMatch."""
    from google.api_core.exceptions import PreconditionFailed

    raw = Emulator(enforce_preconditions=False)
    raw.start()
    try:
        with emulator_env(raw.host):
            bucket = raw.new_bucket("raw")
            blob = make_client().bucket(bucket).blob("x")
            blob.upload_from_string(b"1", if_generation_match=0)
            try:
                make_client().bucket(bucket).blob("x").upload_from_string(b"2", if_generation_match=0)
                enforced = False
            except PreconditionFailed:
                enforced = True
            if not enforced:
                pytest.skip(
                    "gcp-storage-emulator ignores ifGenerationMatch (a second create with "
                    "if_generation_match=0 succeeded), so exactly-once cannot be asserted "
                    "against the plain emulator; it is asserted against the emulator + "
                    "precondition shim (the 'gcs' cases above), and "
                    "test_gcs_sends_generation_preconditions checks the wire"
                )
            store = GcsStore(bucket, "raw")
            wins = run_threads(16, lambda i: store.create("claims", "k", {"by": i}))
            assert sum(wins) == 1
    finally:
        raw.stop()


def test_gcs_sends_generation_preconditions(gcs_emulator, clock):
    bucket = gcs_emulator.new_bucket("wire")
    store = GcsStore(bucket, "bot", clock=clock)

    def uploads():
        return [r for r in gcs_emulator.requests if r.path.startswith(f"/upload/storage/v1/b/{bucket}/")]

    def deletes():
        return [r for r in gcs_emulator.requests
                if r.method == "DELETE" and f"/b/{bucket}/o/" in r.path]

    gcs_emulator.clear_requests()
    assert store.create("claims", "k", {"a": 1}, ttl=5)
    assert [u.query.get("ifGenerationMatch") for u in uploads()] == [["0"]]

    gen = make_client().bucket(bucket).get_blob("bot/claims/k.json").generation
    clock.advance(6)
    gcs_emulator.clear_requests()
    assert store.create("claims", "k", {"a": 2}, ttl=5)  # takes over the expired one
    assert [u.query.get("ifGenerationMatch") for u in uploads()] == [["0"], [str(gen)]]

    gen = make_client().bucket(bucket).get_blob("bot/claims/k.json").generation
    gcs_emulator.clear_requests()
    store.update("claims", "k", lambda d: {"a": 3})
    assert [u.query.get("ifGenerationMatch") for u in uploads()] == [[str(gen)]]

    gen = make_client().bucket(bucket).get_blob("bot/claims/k.json").generation
    gcs_emulator.clear_requests()
    store.update("claims", "k", lambda d: None)
    assert [d.query.get("ifGenerationMatch") for d in deletes()] == [[str(gen)]]

    gcs_emulator.clear_requests()
    store.update("claims", "new", lambda d: {"x": 1})
    assert [u.query.get("ifGenerationMatch") for u in uploads()] == [["0"]]


def test_gcs_object_layout_and_metadata(gcs_emulator, clock):
    bucket = gcs_emulator.new_bucket("layout")
    store = GcsStore(bucket, "/p/q/", clock=clock)
    store.put("ns", "u1:a b/c", {"v": 1}, ttl=100)
    store.put("ns", "plain", {"v": 2})
    blobs = {b.name: b for b in make_client().list_blobs(bucket)}
    assert set(blobs) == {"p/q/ns/u1:a%20b%2Fc.json", "p/q/ns/plain.json"}
    timed = blobs["p/q/ns/u1:a%20b%2Fc.json"]
    assert float(timed.metadata["expires"]) == pytest.approx(clock.now + 100)
    assert timed.custom_time is not None
    assert abs(timed.custom_time.timestamp() - (clock.now + 100)) < 1
    assert blobs["p/q/ns/plain.json"].metadata["expires"] == ""
    body = json.loads(make_client().bucket(bucket).blob("p/q/ns/plain.json").download_as_bytes())
    assert body["doc"] == {"v": 2} and body["expires"] is None


def test_gcs_unreachable_raises_store_error_quickly():
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with emulator_env(dead):
        store = GcsStore("bucket", "bot", timeout=1.0, retry_deadline=1.0)
    for op in (
        lambda: store.get("ns", "k"),
        lambda: store.put("ns", "k", {"v": 1}),
        lambda: store.create("ns", "k", {"v": 1}),
        lambda: store.update("ns", "k", lambda d: {"v": 1}),
        lambda: store.delete("ns", "k"),
        lambda: store.scan("ns"),
        lambda: store.cleanup(),
    ):
        t0 = time.monotonic()
        with pytest.raises(StoreError):
            op()
        assert time.monotonic() - t0 < 8


def test_gcs_emulator_stopped_mid_test(gcs_emulator):
    bucket = gcs_emulator.new_bucket("down")
    store = GcsStore(bucket, "bot", timeout=1.0, retry_deadline=2.0)
    store.put("ns", "k", {"v": 1})
    with gcs_emulator.stopped():
        t0 = time.monotonic()
        with pytest.raises(StoreError) as info:
            store.get("ns", "k")
        assert time.monotonic() - t0 < 8
        assert "google" not in type(info.value).__module__
        with pytest.raises(StoreError):
            store.create("claims", "x", {"v": 1})
    assert store.get("ns", "k") == {"v": 1}  # back up, data kept


def test_gcs_update_gives_up_after_bounded_attempts(gcs_emulator):
    """A writer that always loses the race gets StoreError, not an endless loop."""
    bucket = gcs_emulator.new_bucket("giveup")
    store = GcsStore(bucket, "bot", max_attempts=3)
    other = GcsStore(bucket, "bot")
    store.put("ns", "k", {"n": 0})
    calls = []

    def meddling(doc):
        calls.append(doc)
        other.put("ns", "k", {"n": len(calls) * 100})  # changes the generation under us
        return {"n": -1}

    with pytest.raises(StoreError):
        store.update("ns", "k", meddling)
    assert len(calls) == 3
    assert store.get("ns", "k") == {"n": 300}
