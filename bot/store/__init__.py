"""Per-chat state behind one small interface.

The bot keeps sessions, button tokens, recent results, update dedupe claims and
small cached values as JSON documents in namespaces. Two implementations share
this contract: SQLite (default, local and single-host) and Google Cloud Storage
(App Engine, several instances). `open_store(url)` picks one from `BOT_STORE`.

Every document may carry a TTL; expired documents read as absent and are removed
by `cleanup()`. Keys are short ASCII strings chosen by the caller; put the user id
first (``"u42:..."``) wherever `forget_prefix` must find them.
"""
from __future__ import annotations

from typing import Any

from bot.store.base import Doc, Store, StoreError, UpdateTtl

__all__ = ["Doc", "Store", "StoreError", "UpdateTtl", "open_store"]

GCS_OPTIONS = ("timeout", "retry_deadline")


def open_store(url: str) -> Store:
    """`sqlite:///path/to/file.sqlite3` or `gs://bucket/prefix`.

    A gs:// URL may tune how long one call may take while Cloud Storage is down, e.g.
    ``gs://bucket/bot?timeout=5&retry_deadline=5`` (seconds per request / for all retries
    of one call; defaults 10 and 15). Each webhook update makes several store calls
    inside its BOT_UPDATE_TIMEOUT, so shorter values mean an outage is apologised for
    sooner.
    """
    if url.startswith("sqlite:///"):
        from bot.store.sqlite import SqliteStore

        return SqliteStore(url[len("sqlite:///"):])
    if url.startswith("gs://"):
        from urllib.parse import parse_qsl

        from bot.store.gcs import GcsStore
        from nst.gcs import parse_gs_url

        location, _, query = url.partition("?")
        bucket, prefix = parse_gs_url(location)
        options: dict[str, Any] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name not in GCS_OPTIONS:
                raise ValueError(f"BOT_STORE option {name!r} unknown (known: {GCS_OPTIONS})")
            try:
                options[name] = float(value)
            except ValueError:
                raise ValueError(f"BOT_STORE option {name} must be seconds, not {value!r}") \
                    from None
        return GcsStore(bucket, prefix, **options)
    raise ValueError(f"BOT_STORE must be sqlite:///path or gs://bucket/prefix, not {url!r}")
