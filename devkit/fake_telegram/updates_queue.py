"""The update queue of :class:`FakeTelegram`: remembered messages, pushed updates,
getUpdates long polling and the webhook setting."""
from __future__ import annotations

import copy
import re
import time
from typing import Any
from urllib.parse import urlsplit

from .protocol import ApiError, Call, Described, bad_request, error_for_status


class UpdatesQueueMixin:
    """remember / push_update / pending_updates; getUpdates, setWebhook, deleteWebhook,
    getWebhookInfo."""

    # -- updates -------------------------------------------------------------------------
    def remember(self, message: dict[str, Any]) -> None:
        """Store a message so replies, edits and deletes can find it."""
        with self._lock:
            self.messages[(message["chat"]["id"], message["message_id"])] = copy.deepcopy(message)
            self.chats.setdefault(message["chat"]["id"], dict(message["chat"]))

    def _lookup_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self.messages.get((chat_id, message_id))

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is added if missing). Messages in it
        are remembered. Types excluded by the bot's allowed_updates are dropped, as on
        Telegram."""
        update = copy.deepcopy(update)
        update.setdefault("update_id", self.next_update_id())
        for kind in ("message", "edited_message", "channel_post"):
            if isinstance(update.get(kind), dict) and "chat" in update[kind]:
                self.remember(update[kind])
        with self._cond:
            kinds = [k for k in update if k != "update_id"]
            if self._allowed_updates and not set(kinds) & set(self._allowed_updates):
                return update
            self._updates.append(update)
            self._updates.sort(key=lambda u: u["update_id"])
            self._cond.notify_all()
        return update

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._updates)

    # getUpdates / webhook
    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        p = call.params
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        if p.get("allowed_updates") is not None:
            self._allowed_updates = list(p["allowed_updates"]) or None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()                 # an older long poll now loses (409)
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise error_for_status(409)
            if self._updates or self._stopping.is_set():
                return copy.deepcopy(self._updates[:limit])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(remaining)

    def _set_webhook(self, call: Call) -> Any:
        p = call.params
        url = p.get("url") or ""
        if not url:
            return self._delete_webhook(call)
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in (80, 88, 443, 8443):
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, "
                              "443 or 8443")
        secret = p.get("secret_token")
        if secret is not None and not re.match(r"^[A-Za-z0-9_-]{1,256}$", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        already = self.webhook is not None and self.webhook["url"] == url
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if p.get("allowed_updates") is not None:
            self._allowed_updates = list(p["allowed_updates"]) or None
        self.webhook = {"url": url, "secret_token": secret,
                        "max_connections": int(p.get("max_connections") or 40),
                        "ip_address": p.get("ip_address")}
        self._cond.notify_all()
        return Described(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, call: Call) -> Any:
        had = self.webhook is not None
        self.webhook = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _get_webhook_info(self, call: Call) -> dict[str, Any]:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if self.webhook:
            info["url"] = self.webhook["url"]
            info["max_connections"] = self.webhook["max_connections"]
            info["ip_address"] = self.webhook.get("ip_address") or "149.154.167.220"
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info
