"""What the conversation remembers, on top of the Store.

Namespaces and keys (everything about a user starts with ``u{user_id}:`` so
/forget is one ``delete_prefix`` per namespace):

    sessions  u{user}:c{chat}        the last photo in a chat; "awaiting_style" after 🖼
    tokens    u{user}:{random}       one inline keyboard: owner, chat, context, buttons
    renders   u{user}:{rid}          inputs (Telegram file_ids) + settings of one result
    results   u{user}:recent         the newest delivered images (file_ids) for inline
                                     mode, in one document: one read per inline query
    albums    u{user}:g{group}       pairing the two photos of an album
    webapp    u{user}:s{nonce}       one Mini App "send to chat" (claimed once: no double send)
    rate      u{user}:m{minute}      renders started in that minute
              u{user}:a{minute}      cheap actions (photos, button presses) in it
    forgotten u{user}                when the user last said /forget (outside the
                                     user's prefix on purpose: it must survive the wipe)
    cache     anything               bot-wide values (the /styles collage file_id)

Nothing about a user is kept longer than ``input_ttl`` (24 h by default) after the
photo it comes from arrived, which is what /help promises: a photo's reference gets an
absolute ``until`` when it arrives (``stamp``), and every document that holds it (or a
painting of it) expires then, however often the user presses buttons in between.

Every write on behalf of a user takes ``since``, the arrival time of the update that
causes it, and is taken back when the user said /forget at or after that time (the
/forget records its time before it wipes, so a write either sees the marker or is
wiped); an update's writes are checked together, once (bot/writes.py).

Store calls are synchronous (SQLite, GCS over HTTP), so every method here runs
them on a worker thread to keep the event loop responsive.
"""
from __future__ import annotations

import asyncio
import math
import re
import secrets
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any, Callable, Iterable

from bot.records import Delivered, FileRef, Render
from bot.store import Doc, Store
from bot.writes import FORGET_MEMORY, ForgetGuard

SESSIONS, TOKENS, RENDERS, RESULTS = "sessions", "tokens", "renders", "results"
ALBUMS, RATE, CACHE = "albums", "rate", "cache"
WEBAPP = "webapp"
USER_NAMESPACES = (SESSIONS, TOKENS, RENDERS, RESULTS, ALBUMS, RATE, WEBAPP)

RENDER_RATE, ACTION_RATE = "m", "a"   # rate keys: u{user}:m{minute} / u{user}:a{minute}
RESULTS_KEPT = 20               # inline mode shows at most this many
RECENT = "recent"               # key (after the user prefix) of the results index
ALBUM_TTL = 600.0
MAX_CALLBACK_BYTES = 64
# callback_data = "{action}:u{user}:{token}.{button}" — validated before any lookup.
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,16}$")
_CALLBACK_RE = re.compile(r"^([a-z]{1,10}):(u\d{1,20}:[A-Za-z0-9_-]{8,16})\.(\d{1,2})$")


class _Expired(Exception):
    """A compare-and-swap whose result would already be past its photo's expiry."""


def user_prefix(user_id: int) -> str:
    return f"u{user_id}:"


def new_id(nbytes: int = 9) -> str:
    """A short random URL-safe id (12 chars for 9 bytes)."""
    return secrets.token_urlsafe(nbytes)


def until_of(doc: Any) -> float | None:
    """The earliest ``until`` (absolute expiry of a photo reference) anywhere in `doc`."""
    found: list[float] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("until"), (int, float)):
                found.append(float(value["until"]))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(doc)
    return min(found) if found else None


class State:
    """Sessions, keyboard tokens, renders, results and rate limits of the bot."""

    def __init__(self, store: Store, *, input_ttl: float, rate_per_minute: int,
                 clock: Callable[[], float] | None = None) -> None:
        self.store = store
        self.input_ttl = input_ttl
        self.rate_per_minute = rate_per_minute
        # The store's own clock when it has one (tests inject a fake one there).
        store_clock = getattr(store, "clock", None)
        self.clock: Callable[[], float] = clock or (
            store_clock if callable(store_clock) else time.time)
        self.guard = ForgetGuard(store, self.clock)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    # -- expiry and /forget: what every write goes through -------------------------------
    def stamp(self, ref: FileRef, since: float) -> FileRef:
        """A photo reference that arrived at `since`, with its absolute expiry."""
        return ref if ref.until is not None else replace(ref, until=since + self.input_ttl)

    def _ttl(self, doc: Any, since: float) -> float:
        """Seconds `doc` may live: until its photo's expiry, and never longer than
        input_ttl after the update that writes it."""
        until = min(until_of(doc) or math.inf, since + self.input_ttl)
        return until - self.clock()

    def _put(self, ns: str, user_id: int, key: str, doc: Doc, since: float) -> bool:
        """Write one document of the user (synchronous); False when it was not kept
        (already expired, or /forget came after `since`)."""
        ttl = self._ttl(doc, since)
        if ttl <= 0:
            return False
        self.store.put(ns, key, doc, ttl)
        return self.guard.stands(ns, user_id, key, since)

    def _update(self, ns: str, user_id: int, key: str, fn: Callable[[Doc | None], Doc | None],
                since: float, ttl_of: Callable[[Doc], Any] | None = None) -> Doc | None:
        """Compare-and-swap one document of the user (synchronous), its lifetime from
        what it holds (`ttl_of` picks the part that decides); taken back (deleted) after
        a /forget that came after `since`. Returns what was stored."""
        def lifetime(new: Doc) -> float:
            return self._ttl(ttl_of(new) if ttl_of else new, since)

        def apply(cur: Doc | None) -> Doc | None:
            new = fn(cur)
            if new is not None and lifetime(new) <= 0:
                raise _Expired  # nothing to keep: leave the stored document as it is
            return new

        try:
            stored = self.store.update(ns, key, apply, lifetime)
        except _Expired:
            return None
        if stored is not None and not self.guard.stands(ns, user_id, key, since):
            return None
        return stored

    # -- sessions: per (chat, user) ------------------------------------------------------
    async def session(self, chat_id: int, user_id: int) -> Doc | None:
        return await self._run(self.store.get, SESSIONS, f"u{user_id}:c{chat_id}")

    async def set_session(self, chat_id: int, user_id: int, doc: Doc, *, since: float) -> bool:
        """Remember the chat's photo; False when it was not kept (a later /forget)."""
        doc = {**doc, "at": self.clock()}
        return bool(await self._run(self._put, SESSIONS, user_id, f"u{user_id}:c{chat_id}",
                                    doc, since))

    # -- keyboard tokens -----------------------------------------------------------------
    async def issue(self, chat_id: int, user_id: int, ctx: Doc, buttons: list[list[Any]], *,
                    since: float) -> str:
        """Store one keyboard's context and button actions; returns its key."""
        key = f"{user_prefix(user_id)}{new_id()}"
        doc = {"chat": chat_id, "user": user_id, "ctx": ctx, "buttons": buttons}
        await self._run(self._put, TOKENS, user_id, key, doc, since)
        return key

    async def keyboard(self, user_id: int, token: str) -> Doc | None:
        """The keyboard doc behind the random part of a token, only if `user_id` owns it
        (the key starts with the owner's prefix, so another user finds nothing)."""
        if not _TOKEN_RE.match(token or ""):
            return None
        doc = await self._run(self.store.get, TOKENS, f"{user_prefix(user_id)}{token}")
        return doc if doc and doc.get("user") == user_id else None

    async def claim_once(self, user_id: int, name: str, ttl: float = FORGET_MEMORY) -> bool:
        """True the first time `name` is claimed for this user (a Mini App send id)."""
        return bool(await self._run(self.store.create, WEBAPP, f"{user_prefix(user_id)}{name}",
                                    {"at": time.time()}, ttl))

    async def redeem(self, data: str | None) -> tuple[Doc, list[Any]] | None:
        """The keyboard doc and the pressed button's [action, arg], or None when the
        callback data is malformed, oversized, unknown, expired, points nowhere or names
        another action than the stored button's."""
        if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
            return None
        match = _CALLBACK_RE.match(data)
        if not match:
            return None
        doc = await self._run(self.store.get, TOKENS, match.group(2))
        index = int(match.group(3))
        if not doc or index >= len(doc.get("buttons", [])):
            return None
        button = doc["buttons"][index]
        if not button or button[0] != match.group(1):
            return None
        return doc, button

    # -- renders: inputs and settings of one result --------------------------------------
    async def save_render(self, render: Render, *, since: float) -> Render:
        """Store a new result's render; returns it with its `rid` (version 1)."""
        saved = replace(render, rid=new_id(6), version=1, result=None)
        await self._run(self._put, RENDERS, render.user, f"{user_prefix(render.user)}{saved.rid}",
                        saved.to_doc(), since)
        return saved

    async def render(self, user_id: int, rid: str) -> Render | None:
        doc = await self._run(self.store.get, RENDERS, f"{user_prefix(user_id)}{rid}")
        return Render.from_doc(doc) if doc is not None else None

    async def change_render(self, user_id: int, rid: str, *, since: float,
                            **changes: Any) -> Render | None:
        """Apply setting changes atomically and bump the version (None if expired)."""
        def apply(cur: Doc | None) -> Doc | None:
            if cur is None:
                return None
            render = Render.from_doc(cur)
            return replace(render, **changes, version=render.version + 1).to_doc()

        doc = await self._run(self._update, RENDERS, user_id, f"{user_prefix(user_id)}{rid}",
                              apply, since)
        return Render.from_doc(doc) if doc is not None else None

    async def record_delivery(self, render: Render, result: Delivered, *, since: float) -> bool:
        """Remember the message showing `render`; False if a newer version exists (then
        the caller's image is stale and the newer job will edit the message)."""
        stale = False

        def apply(cur: Doc | None) -> Doc | None:
            nonlocal stale
            if cur is None:
                return None
            stored = Render.from_doc(cur)
            stale = stored.version > render.version
            return cur if stale else replace(stored, result=result).to_doc()

        await self._run(self._update, RENDERS, render.user,
                        f"{user_prefix(render.user)}{render.rid}", apply, since)
        return not stale

    # -- results: delivered images, for inline mode --------------------------------------
    @staticmethod
    def new_result_id() -> str:
        """Sortable by time (hex milliseconds) plus a little randomness."""
        return f"{int(time.time() * 1000):011x}{secrets.token_hex(2)}"

    async def save_result(self, user_id: int, result_id: str, doc: Doc, *,
                          since: float) -> None:
        """Put a delivered image first in the user's results index (newest RESULTS_KEPT).
        `doc` carries the ``until`` of its photo; the index lives as long as its newest
        item, and items past their own expiry are dropped."""
        doc = {**doc, "until": min(until_of(doc) or math.inf, since + self.input_ttl)}

        def apply(cur: Doc | None) -> Doc:
            items = [item for item in self._live((cur or {}).get("items", []))
                     if item[0] != result_id]
            return {"items": [[result_id, doc], *items][:RESULTS_KEPT]}

        def latest(index: Doc) -> Doc:  # the index expires with its longest-lived item
            return {"until": max(float(item[1]["until"]) for item in index["items"])}

        await self._run(self._update, RESULTS, user_id, f"{user_prefix(user_id)}{RECENT}",
                        apply, since, latest)

    def _live(self, items: Iterable[list[Any]]) -> list[list[Any]]:
        now = self.clock()
        return [item for item in items if float(item[1].get("until", math.inf)) > now]

    async def recent_results(self, user_id: int) -> list[tuple[str, Doc]]:
        """Newest first: (result_id, doc)."""
        index = await self._run(self.store.get, RESULTS, f"{user_prefix(user_id)}{RECENT}")
        return [(rid, doc) for rid, doc in self._live((index or {}).get("items", []))]

    async def drop_result(self, user_id: int, result_id: str) -> None:
        def apply(cur: Doc | None) -> Doc | None:
            items = [item for item in (cur or {}).get("items", []) if item[0] != result_id]
            return {"items": items} if items else None

        await self._run(self.store.update, RESULTS, f"{user_prefix(user_id)}{RECENT}",
                        apply, self.input_ttl)

    async def revoke(self, key: str) -> None:
        """Delete one keyboard token (its buttons then say "expired")."""
        await self._run(self.store.delete, TOKENS, key)

    # -- albums: two photos, possibly processed at the same time -------------------------
    async def album_join(self, user_id: int, group_id: str, message_id: int, item: Doc, *,
                         since: float) -> Doc | None:
        """Add one album photo; the first update to see two photos becomes the "starter"."""
        def apply(cur: Doc | None) -> Doc:
            cur = dict(cur or {"items": {}})
            items = {**cur["items"], str(message_id): item}
            cur["items"] = items
            if len(items) >= 2 and not cur.get("starter"):
                cur["starter"] = message_id
                cur["pair"] = sorted(int(k) for k in items)[:2]
            return cur

        return await self._run(self._update, ALBUMS, user_id, f"u{user_id}:g{group_id}",
                               apply, since, lambda _: {"until": self.clock() + ALBUM_TTL})

    async def album_claim_single(self, user_id: int, group_id: str, message_id: int) -> Doc:
        """The partner never came: claim the album as a single photo (unless it arrived)."""
        def apply(cur: Doc | None) -> Doc:
            cur = dict(cur or {"items": {}})
            if not cur.get("starter"):
                cur["starter"] = message_id
                cur["pair"] = [message_id]
            return cur

        return await self._run(self.store.update, ALBUMS, f"u{user_id}:g{group_id}",
                               apply, ALBUM_TTL)

    async def album_tell_once(self, user_id: int, group_id: str) -> bool:
        """True for the first photo beyond the pair to ask: it says that only two are used."""
        first = False

        def apply(cur: Doc | None) -> Doc:
            nonlocal first
            cur = dict(cur or {"items": {}})
            first = not cur.get("told")
            cur["told"] = True
            return cur

        await self._run(self.store.update, ALBUMS, f"u{user_id}:g{group_id}", apply, ALBUM_TTL)
        return first

    async def album(self, user_id: int, group_id: str) -> Doc | None:
        return await self._run(self.store.get, ALBUMS, f"u{user_id}:g{group_id}")

    # -- rate limits: renders (what costs) and cheap actions, per user and minute ---------
    async def spend(self, user_id: int, kind: str, limit: int) -> int:
        """Count one `kind` ("m" = renders, "a" = cheap actions) for this minute. Returns 0
        when allowed, else the seconds until the user may try again."""
        allowed = True

        def apply(cur: Doc | None) -> Doc:
            nonlocal allowed
            count = int((cur or {}).get("n", 0))
            allowed = count < limit
            return {"n": count + 1 if allowed else count}

        now = self.clock()
        minute = int(now // 60)
        await self._run(self.store.update, RATE, f"u{user_id}:{kind}{minute}", apply, 120.0)
        return 0 if allowed else max(1, math.ceil((minute + 1) * 60 - now))

    async def take_rate(self, user_id: int) -> int:
        """Count one render; 0 when allowed, else the seconds to wait."""
        return await self.spend(user_id, RENDER_RATE, self.rate_per_minute)

    async def refund_rate(self, user_id: int) -> None:
        """A counted render that never ran (a newer press replaced it) is given back."""
        def apply(cur: Doc | None) -> Doc | None:
            return {"n": max(0, int(cur.get("n", 0)) - 1)} if cur else None

        key = f"u{user_id}:{RENDER_RATE}{int(self.clock() // 60)}"
        await self._run(self.store.update, RATE, key, apply, 120.0)

    # -- privacy -------------------------------------------------------------------------
    async def forget(self, user_id: int) -> int:
        """Delete everything stored about the user; returns how many documents went.

        The time of the /forget is written first: a render already running when it came
        checks it after its own writes and takes them back (forgotten_since)."""
        def wipe() -> int:
            self.guard.mark(user_id)
            return sum(self.store.delete_prefix(ns, user_prefix(user_id)) for ns in USER_NAMESPACES)

        return await self._run(wipe)

    async def forgotten_since(self, user_id: int, since: float) -> bool:
        """Did the user say /forget at or after `since` (a clock() time)?"""
        return bool(await self._run(self.guard.forgotten, user_id, since))

    async def kept(self, user_id: int) -> bool:
        """Do the user's writes of this update stand (no /forget since it arrived)? Asked
        before showing what they make possible, e.g. a keyboard."""
        return await self.guard.kept(user_id)

    def checked_once(self) -> AbstractAsyncContextManager[None]:
        """Around one update: its writes are checked against /forget together."""
        return self.guard.checked_once()

    # -- bot-wide cache ------------------------------------------------------------------
    async def cached(self, key: str) -> Doc | None:
        return await self._run(self.store.get, CACHE, key)

    async def cache(self, key: str, doc: Doc, ttl: float | None = None) -> None:
        await self._run(self.store.put, CACHE, key, doc, ttl)

    async def uncache(self, key: str) -> None:
        await self._run(self.store.delete, CACHE, key)
