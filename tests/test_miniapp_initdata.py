"""Telegram.WebApp.initData: genuine launch data passes; forged, altered, stale or odd data
never does (core.telegram.org/bots/webapps, "Validating data received via the Mini App")."""
from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.webapp.initdata import InitDataError, sign, verify
from devkit.miniapp import init_data

TOKEN = "123456:ABC-test"
NOW = 1_800_000_000.0


def fields(data: str) -> dict[str, str]:
    return dict(parse_qsl(data, keep_blank_values=True))


def test_genuine_launch_data_gives_its_user() -> None:
    user = verify(init_data(TOKEN, 42, "fa", auth_date=NOW - 60), TOKEN, max_age=3600, now=NOW)
    assert (user.id, user.language_code, user.auth_date) == (42, "fa", int(NOW - 60))


def test_the_hash_follows_telegrams_recipe() -> None:
    """Computed here independently, step by step as the official page describes it."""
    data = fields(init_data(TOKEN, 7, auth_date=NOW))
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data) if k != "hash")
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    assert data["hash"] == hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def test_signature_field_is_part_of_the_checked_string() -> None:
    """`signature` (Ed25519, for third parties) is a received field like any other: it is
    signed by the hash, so changing it must break the check."""
    data = fields(init_data(TOKEN, 7, auth_date=NOW, signature="sig-from-telegram"))
    assert verify(urlencode(data), TOKEN, max_age=3600, now=NOW).id == 7
    data["signature"] = "another"
    with pytest.raises(InitDataError):
        verify(urlencode(data), TOKEN, max_age=3600, now=NOW)


@pytest.mark.parametrize("change", [
    "other_user", "other_token", "no_hash", "bad_hash", "non_ascii_hash", "added_field",
    "duplicate_field", "stale", "future", "no_user", "no_auth_date", "empty", "huge"])
def test_anything_not_genuine_and_fresh_is_refused(change: str) -> None:
    data = fields(init_data(TOKEN, 7, auth_date=NOW))
    raw = None
    if change == "other_user":  # someone swaps in another id but keeps the hash
        data["user"] = json.dumps({"id": 8, "first_name": "Eve"})
    elif change == "other_token":
        data = fields(init_data("999:OTHER", 7, auth_date=NOW))
    elif change == "no_hash":
        del data["hash"]
    elif change == "bad_hash":
        data["hash"] = "0" * 64
    elif change == "non_ascii_hash":
        data["hash"] = "é" * 64
    elif change == "added_field":
        data["start_param"] = "x"
    elif change == "duplicate_field":
        raw = urlencode(data) + "&auth_date=" + str(int(NOW))
    elif change == "stale":
        data = fields(init_data(TOKEN, 7, auth_date=NOW - 3601))
    elif change == "future":
        data = fields(init_data(TOKEN, 7, auth_date=NOW + 3600))
    elif change == "no_user":
        data = fields(init_data(TOKEN, 7, auth_date=NOW))
        data.pop("user")
        raw = _resign(data)
    elif change == "no_auth_date":
        data.pop("auth_date")
        raw = _resign(data)
    elif change == "empty":
        raw = ""
    elif change == "huge":
        raw = init_data(TOKEN, 7, auth_date=NOW, padding="x" * 5000)
    with pytest.raises(InitDataError):
        verify(urlencode(data) if raw is None else raw, TOKEN, max_age=3600, now=NOW)


def _resign(data: dict[str, str]) -> str:
    """Correctly signed but incomplete launch data."""
    return sign({k: v for k, v in data.items() if k != "hash"}, TOKEN)
