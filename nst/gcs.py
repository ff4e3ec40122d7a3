"""Google Cloud Storage: the one place that builds a client and a retry policy.

Used by the style catalog (``STYLES=gs://…``, `nst.catalog.gcs`) and by the bot's
store (``BOT_STORE=gs://…``, `bot.store.gcs`). `storage.Client()` itself honours
``STORAGE_EMULATOR_HOST`` (anonymous credentials, no project needed), so tests and
local runs against an emulator (fake-gcs-server) need nothing special here.
"""
from __future__ import annotations

from typing import Any


def parse_gs_url(url: str) -> tuple[str, str]:
    """``gs://bucket/some/prefix`` → ("bucket", "some/prefix")."""
    if not url.startswith("gs://"):
        raise ValueError(f"not a gs:// URL: {url!r}")
    bucket, _, prefix = url[len("gs://"):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix.strip("/")


def make_client() -> Any:
    """`storage.Client()`: the environment's project and credentials (anonymous on the emulator)."""
    from google.cloud import storage

    return storage.Client()


def make_retry(deadline: float, *, initial: float, maximum: float) -> Any:
    """The library's default retry (transient errors only), bounded by `deadline` seconds."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_timeout(deadline).with_delay(initial=initial, maximum=maximum,
                                                           multiplier=2.0)


__all__ = ["parse_gs_url", "make_client", "make_retry"]
