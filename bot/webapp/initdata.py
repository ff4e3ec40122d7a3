"""Telegram.WebApp.initData: who opened the page, checked as core.telegram.org/bots/webapps says.

secret = HMAC-SHA256(key="WebAppData", msg=bot token); the received ``hash`` must equal
hex(HMAC-SHA256(key=secret, msg=data-check string)), the data-check string being every
received field but ``hash`` as ``key=value``, sorted by key, joined by newlines. The newer
``signature`` field (Ed25519, for third parties who lack the token) is a received field
like any other, so it stays in the string. Launch data older than `max_age` is refused.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

MAX_INIT_DATA = 4096   # Telegram's launch data is a few hundred bytes


class InitDataError(Exception):
    """Launch data that is missing, forged, stale or has no user."""


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user behind verified launch data."""

    id: int
    language_code: str | None
    auth_date: int


def _secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> bytes:
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash").encode()


def sign(fields: dict[str, str], token: str) -> str:
    """initData as Telegram builds it: the fields plus their ``hash`` (used by tests and
    the bench to open the page the way Telegram does)."""
    digest = hmac.new(_secret(token), _check_string(fields), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def verify(init_data: str, token: str, *, max_age: float,
           now: float | None = None) -> WebAppUser:
    """The user of genuine, fresh launch data; InitDataError otherwise."""
    if not token or not init_data or len(init_data) > MAX_INIT_DATA:
        raise InitDataError("no launch data")
    pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=False)
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("a field appears twice")
    given = fields.get("hash", "")
    expected = hmac.new(_secret(token), _check_string(fields), hashlib.sha256).hexdigest()
    # bytes: compare_digest raises TypeError on non-ASCII str, and the hash is the sender's
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InitDataError("bad hash")
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise InitDataError("no user or auth_date") from exc
    age = (time.time() if now is None else now) - auth_date
    if age > max_age or age < -60:
        raise InitDataError("stale launch data")
    language = user.get("language_code")
    return WebAppUser(user_id, language if isinstance(language, str) else None, auth_date)
