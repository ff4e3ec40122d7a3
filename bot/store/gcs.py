"""Google Cloud Storage implementation of the Store (App Engine, several instances).

Layout: one object per document, ``{prefix}/{ns}/{key}.json``, holding
``{"doc": {...}, "expires": <epoch seconds> | null, "w": <write id>}``. `ns` and `key`
are percent-encoded in the object name (everything but ``A-Z a-z 0-9 - _ . : @ = , +``),
so caller-chosen keys can never form ``/``, ``..``, ``#``, ``?``, control characters or
other names GCS rejects or treats specially; the encoding keeps key prefixes as object
name prefixes, so ``scan``/``delete_prefix`` are one ``list_blobs(prefix=…)``. (The
client library then URL-quotes the whole object name in each request path.)

The expiry is also written as custom metadata ``expires`` (so listings can skip or
clean expired objects without downloading them) and as the object's ``customTime``
(so a bucket lifecycle rule can remove what nobody cleans up).

Concurrency rests on generation preconditions (``ifGenerationMatch``):

- ``create`` uploads with ``if_generation_match=0`` (only if no live object exists). On
  412 it reads the existing object: live → False; expired → replace it with
  ``if_generation_match=<its generation>``, so only one of several racers takes it over.
- ``update`` reads (generation), applies `fn`, writes with ``if_generation_match`` (0 when
  absent) or deletes with it; on 412 it re-reads and retries with jittered back-off, at
  most `max_attempts` times (then StoreError). `fn` may therefore run more than once.
- Each write carries a random write id ``w``: if a write succeeded but its response was
  lost and the client retried it into a 412, the re-read sees our own id and the call
  still reports success instead of "someone else won".

Transient failures (429, 5xx, connection errors, timeouts) are retried by the client
library with exponential back-off for at most `retry_deadline` seconds; every request
has a `timeout`. Retrying is safe because every conditional write is idempotent under
its precondition (and plain ``put`` is last-writer-wins anyway). After that, or on any
other backend error, the operation raises StoreError — google exceptions never leak.
Worst case per call ≈ retry_deadline + timeout (defaults: 15 s + 10 s).

Note: GCS allows about one write per second to the same object name; faster writes to
one key get 429 and are slowed down by the retry (hot counters belong elsewhere).

Production complement — a lifecycle rule that deletes objects a day after their
expiry (``customTime``); objects without a TTL carry no customTime and are never
matched. ``gcloud storage buckets update gs://BUCKET --lifecycle-file=lifecycle.json``::

    {
      "rule": [
        {
          "action": {"type": "Delete"},
          "condition": {"daysSinceCustomTime": 1, "matchesPrefix": ["bot/"]}
        }
      ]
    }

(use your store prefix in ``matchesPrefix``; cron can still call ``cleanup()`` for
prompt removal).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import random
import time
import uuid
from typing import Any, Callable, Iterator
from urllib.parse import quote, unquote

from bot.store.base import Doc, Store, StoreError, UpdateTtl, lifetime
from nst.gcs import make_client, make_retry

log = logging.getLogger(__name__)

_SAFE = "-_.:@=,+"  # besides ASCII letters and digits, which quote() never encodes
_SUFFIX = ".json"


def _q(part: str) -> str:
    return quote(part, safe=_SAFE)


def _widen_pool(client: Any, size: int = 32) -> None:
    """Let many threads share the client without 'connection pool is full' churn."""
    try:
        from requests.adapters import HTTPAdapter

        session = client._http  # AuthorizedSession (a requests.Session)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=size, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    except Exception:  # pragma: no cover - an optimisation only
        log.debug("could not widen the GCS connection pool", exc_info=True)


class GcsStore(Store):
    """`GcsStore("my-bucket", "bot")`; see the module docstring for the layout."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        client: Any | None = None,
        *,
        timeout: float = 10.0,
        retry_deadline: float = 15.0,
        max_attempts: int = 50,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from google.api_core import exceptions as gexc

        if not bucket:
            raise ValueError("GcsStore needs a bucket name")
        self._gexc = gexc
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")
        self.timeout = float(timeout)
        self.max_attempts = int(max_attempts)
        self.clock = clock
        self._retry = make_retry(retry_deadline, initial=0.1, maximum=2.0)
        if client is None:
            try:
                client = make_client()
            except Exception as exc:
                raise StoreError(f"cannot create a Cloud Storage client: {exc}") from exc
            _widen_pool(client)
            self._own_client = True
        else:
            self._own_client = False
        self.client = client
        self._bucket = client.bucket(bucket)

    # ------------------------------------------------------------------ naming

    def _ns_prefix(self, ns: str) -> str:
        base = f"{self.prefix}/" if self.prefix else ""
        return f"{base}{_q(ns)}/"

    def _name(self, ns: str, key: str) -> str:
        if not isinstance(key, str):
            raise TypeError(f"a store key must be a string, not {type(key).__name__}")
        return f"{self._ns_prefix(ns)}{_q(key)}{_SUFFIX}"

    def _key_of(self, ns_prefix: str, name: str) -> str | None:
        if not name.startswith(ns_prefix) or not name.endswith(_SUFFIX):
            return None
        return unquote(name[len(ns_prefix):-len(_SUFFIX)])

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Any backend failure → StoreError (callers catch 404/412 inside first)."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:  # google.api_core / google.auth / requests / bad JSON
            raise StoreError(
                f"Cloud Storage {what} failed ({type(exc).__name__}: {exc})"
            ) from exc

    def _live(self, env: dict) -> bool:
        exp = env.get("expires")
        return exp is None or float(exp) > self.clock()

    def _envelope(self, doc: Doc, ttl: float | None) -> tuple[dict, bytes]:
        if not isinstance(doc, dict):
            raise TypeError(f"a document must be a dict, not {type(doc).__name__}")
        env = {
            "doc": doc,
            "expires": None if ttl is None else self.clock() + ttl,
            "w": uuid.uuid4().hex,
        }
        data = json.dumps(env, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return env, data

    def _upload(self, name: str, env: dict, data: bytes, if_generation_match: int | None) -> None:
        blob = self._bucket.blob(name)
        exp = env["expires"]
        blob.metadata = {"expires": "" if exp is None else repr(float(exp))}
        if exp is not None:
            blob.custom_time = _dt.datetime.fromtimestamp(exp, tz=_dt.timezone.utc)
        blob.upload_from_string(
            data,
            content_type="application/json",
            if_generation_match=if_generation_match,
            timeout=self.timeout,
            retry=self._retry,
        )

    def _download(self, name: str, generation: int | None = None) -> dict | None:
        """Envelope, or None when absent. With `generation`: 412 if it changed."""
        try:
            data = self._bucket.blob(name).download_as_bytes(
                if_generation_match=generation, timeout=self.timeout, retry=self._retry
            )
        except self._gexc.NotFound:
            return None
        env = json.loads(data)
        if not isinstance(env, dict) or not isinstance(env.get("doc"), dict):
            raise ValueError(f"object {name} is not a store document")
        return env

    def _read(self, name: str) -> tuple[dict | None, int]:
        """(envelope, generation) read consistently; (None, 0) when absent."""
        for _ in range(self.max_attempts):
            blob = self._bucket.get_blob(name, timeout=self.timeout, retry=self._retry)
            if blob is None:
                return None, 0
            try:
                env = self._download(name, int(blob.generation))
            except self._gexc.PreconditionFailed:
                continue  # rewritten between metadata and content: read again
            if env is None:
                continue  # deleted in between
            return env, int(blob.generation)
        raise StoreError(f"Cloud Storage: {name} keeps changing; gave up reading it")

    def _backoff(self, attempt: int) -> None:
        time.sleep(random.uniform(0, min(0.5, 0.01 * (2 ** min(attempt, 8)))))

    def _meta_expires(self, blob: Any) -> tuple[bool, float | None]:
        """(known, expires) from custom metadata written by this store."""
        raw = (blob.metadata or {}).get("expires")
        if raw is None:
            return False, None
        return True, (float(raw) if raw != "" else None)

    def _expired_by_meta(self, blob: Any, now: float) -> bool | None:
        known, exp = self._meta_expires(blob)
        if not known:
            return None
        return exp is not None and exp <= now

    # ------------------------------------------------------------------ API

    def get(self, ns: str, key: str) -> Doc | None:
        name = self._name(ns, key)
        with self._errors("get"):
            env = self._download(name)
        if env is None or not self._live(env):
            return None
        return env["doc"]

    def put(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> None:
        name = self._name(ns, key)
        env, data = self._envelope(doc, ttl)
        with self._errors("put"):
            self._upload(name, env, data, None)

    def create(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> bool:
        name = self._name(ns, key)
        env, data = self._envelope(doc, ttl)
        gexc = self._gexc
        with self._errors("create"):
            for attempt in range(self.max_attempts):
                try:
                    self._upload(name, env, data, 0)
                    return True
                except gexc.PreconditionFailed:
                    pass
                current, generation = self._read(name)
                if current is None:
                    continue  # vanished meanwhile: try to create again
                if current.get("w") == env["w"]:
                    return True  # our own write, retried after a lost response
                if self._live(current):
                    return False
                try:  # expired: take it over, unless someone else changes it first
                    self._upload(name, env, data, generation)
                    return True
                except gexc.PreconditionFailed:
                    self._backoff(attempt)
        raise StoreError(f"Cloud Storage create of {ns}/{key} kept conflicting; gave up")

    def update(
        self,
        ns: str,
        key: str,
        fn: Callable[[Doc | None], Doc | None],
        ttl: UpdateTtl = None,
    ) -> Doc | None:
        """CAS on the object generation. `ttl` applies to the stored result as in `put`
        (None = no expiry). `fn` may be called several times; its exceptions propagate."""
        name = self._name(ns, key)
        gexc = self._gexc
        pending: tuple[str, Doc | None] | None = None  # (write id, doc) of a write that got 412
        for attempt in range(self.max_attempts):
            with self._errors("update"):
                env, generation = self._read(name)
            if pending is not None and env is not None and env.get("w") == pending[0]:
                return pending[1]  # that write did land (response lost, retry saw 412)
            current = env["doc"] if env is not None and self._live(env) else None
            new = fn(current)  # outside the error wrapper: the caller's exceptions pass
            new_env, data = (self._envelope(new, lifetime(ttl, new)) if new is not None
                             else (None, b""))
            with self._errors("update"):
                try:
                    if new_env is None:
                        if generation:
                            self._bucket.blob(name).delete(
                                if_generation_match=generation,
                                timeout=self.timeout,
                                retry=self._retry,
                            )
                        return None
                    pending = (new_env["w"], new)
                    self._upload(name, new_env, data, generation)
                    return new
                except gexc.NotFound:
                    return None  # deleting what another writer already deleted
                except gexc.PreconditionFailed:
                    pass
            self._backoff(attempt)
        raise StoreError(f"Cloud Storage update of {ns}/{key} kept conflicting; gave up")

    def delete(self, ns: str, key: str) -> bool:
        name = self._name(ns, key)
        gexc = self._gexc
        with self._errors("delete"):
            for attempt in range(self.max_attempts):
                blob = self._bucket.get_blob(name, timeout=self.timeout, retry=self._retry)
                if blob is None:
                    return False
                expired = self._expired_by_meta(blob, self.clock())
                if expired is None:  # not written by this store version: look inside
                    env = self._download(name)
                    expired = env is not None and not self._live(env)
                try:
                    self._bucket.blob(name).delete(
                        if_generation_match=int(blob.generation),
                        timeout=self.timeout,
                        retry=self._retry,
                    )
                    return not expired
                except gexc.NotFound:
                    return False  # another caller deleted it first
                except gexc.PreconditionFailed:
                    self._backoff(attempt)
        raise StoreError(f"Cloud Storage delete of {ns}/{key} kept conflicting; gave up")

    def _list(self, prefix: str) -> list[Any]:
        return list(
            self.client.list_blobs(
                self._bucket, prefix=prefix, timeout=self.timeout, retry=self._retry
            )
        )

    def scan(self, ns: str, prefix: str = "") -> list[tuple[str, Doc]]:
        ns_prefix = self._ns_prefix(ns)
        out: list[tuple[str, Doc]] = []
        with self._errors("scan"):
            now = self.clock()
            for blob in self._list(ns_prefix + _q(prefix)):
                key = self._key_of(ns_prefix, blob.name)
                if key is None or self._expired_by_meta(blob, now):
                    continue
                env = self._download(blob.name)
                if env is not None and self._live(env):
                    out.append((key, env["doc"]))
        out.sort(key=lambda kv: kv[0])
        return out

    def delete_prefix(self, ns: str, prefix: str) -> int:
        ns_prefix = self._ns_prefix(ns)
        count = 0
        with self._errors("delete_prefix"):
            for blob in self._list(ns_prefix + _q(prefix)):
                if self._key_of(ns_prefix, blob.name) is None:
                    continue
                try:
                    self._bucket.blob(blob.name).delete(timeout=self.timeout, retry=self._retry)
                    count += 1
                except self._gexc.NotFound:
                    pass
        return count

    def cleanup(self) -> int:
        base = f"{self.prefix}/" if self.prefix else ""
        count = 0
        with self._errors("cleanup"):
            now = self.clock()
            for blob in self._list(base):
                if not blob.name.endswith(_SUFFIX):
                    continue
                expired = self._expired_by_meta(blob, now)
                if expired is None:
                    env = self._download(blob.name)
                    expired = env is not None and not self._live(env)
                if not expired:
                    continue
                try:  # only this generation: a fresh rewrite in between survives
                    self._bucket.blob(blob.name).delete(
                        if_generation_match=int(blob.generation),
                        timeout=self.timeout,
                        retry=self._retry,
                    )
                    count += 1
                except (self._gexc.NotFound, self._gexc.PreconditionFailed):
                    pass
        return count

    def close(self) -> None:
        if not self._own_client:
            return
        try:
            self.client.close()
        except Exception:  # pragma: no cover - best effort
            log.debug("closing the Cloud Storage client failed", exc_info=True)

    def __repr__(self) -> str:
        return f"GcsStore(gs://{self.bucket_name}/{self.prefix})"
