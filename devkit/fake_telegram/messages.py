"""Messages the bot sends, answers and edits, as :class:`FakeTelegram` handles them:
sendMessage, sendChatAction, answerCallbackQuery / answerInlineQuery, editMessage* and
deleteMessage, with the checks Telegram applies (markup, lengths, identical edits)."""
from __future__ import annotations

import copy
import html
import re
import time
from typing import Any

from .protocol import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, Call, bad_request

CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
BUTTON_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
})
MEDIA_KEYS = ("photo", "document", "video", "animation", "audio", "voice", "sticker")


def strip_html(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))


class MessagesMixin:
    """Chats, reply markup and text of outgoing messages; the send / answer / edit /
    delete methods."""

    # sending
    def _chat_id(self, params: dict[str, Any], key: str = "chat_id") -> int:
        raw = params.get(key)
        if raw is None or raw == "":
            raise bad_request(f"{key} is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for cid, c in self.chats.items():
                if c.get("username", "").lower() == raw[1:].lower():
                    return cid
            raise bad_request("chat not found")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def _target_chat(self, params: dict[str, Any]) -> int:
        """The chat a send goes to; 403 if that user blocked the bot."""
        chat_id = self._chat_id(params)
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _chat_obj(self, chat_id: int) -> dict[str, Any]:
        known = self.chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Alice"}
        if chat_id <= -10**12:
            return {"id": chat_id, "type": "supergroup", "title": "Test supergroup"}
        return {"id": chat_id, "type": "group", "title": "Test group"}

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        """Validate reply_markup; return it if it is an inline keyboard (the only kind
        Telegram echoes in Message.reply_markup)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton "
                              "must be an Object")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad_request("can't parse inline keyboard button: Text must be "
                                      "non-empty")
                if not BUTTON_ACTIONS & button.keys():
                    raise bad_request("can't parse inline keyboard button: Text buttons are "
                                      "unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
        return copy.deepcopy(markup) if any(rows) else None

    def _text(self, params: dict[str, Any], key: str) -> str | None:
        value = params.get(key)
        if value is None:
            return None
        value = str(value)
        if str(params.get("parse_mode") or "").upper() == "HTML":
            value = strip_html(value)
        return value

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        rp = params.get("reply_parameters")
        if isinstance(rp, dict) and rp.get("message_id") is not None:
            target_chat = self._chat_id(rp) if rp.get("chat_id") is not None else chat_id
            mid = int(rp["message_id"])
        elif params.get("reply_to_message_id") is not None:
            target_chat, mid = chat_id, int(params["reply_to_message_id"])
        else:
            return None
        return self._reply_copy(self._chat_obj(target_chat), mid)

    def _new_bot_message(self, call: Call, content: dict[str, Any], *,
                         caption_key: str | None = "caption",
                         media_group_id: str | None = None) -> dict[str, Any]:
        """Build, store and return a copy of a message the bot sends."""
        p = call.params
        chat_id = self._target_chat(p)
        markup = self._check_markup(p.get("reply_markup"))
        reply = self._reply_target(chat_id, p)
        msg: dict[str, Any] = {"message_id": self.next_message_id(chat_id),
                               "from": dict(self.bot_user), "chat": self._chat_obj(chat_id),
                               "date": int(time.time())}
        if media_group_id:
            msg["media_group_id"] = media_group_id
        if reply is not None:
            msg["reply_to_message"] = reply
        msg.update(content)
        if caption_key:
            caption = self._text(p, caption_key)
            if caption:
                if len(caption) > 1024:
                    raise bad_request("message caption is too long")
                msg["caption"] = caption
        if p.get("has_spoiler"):
            msg["has_media_spoiler"] = True
        if markup is not None:
            msg["reply_markup"] = markup
        self.remember(msg)
        return copy.deepcopy(msg)

    def _send_message(self, call: Call) -> dict[str, Any]:
        self._target_chat(call.params)
        text = self._text(call.params, "text")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > 4096:
            raise bad_request("message is too long")
        return self._new_bot_message(call, {"text": text}, caption_key=None)

    def _send_chat_action(self, call: Call) -> bool:
        self._target_chat(call.params)
        if call.params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _answer_query(self, query_id: Any) -> None:
        if not query_id:
            raise bad_request("query_id is empty" if query_id is None else QUERY_TOO_OLD)
        if str(query_id) in self._answered_queries:
            raise bad_request(QUERY_TOO_OLD)
        self._answered_queries.add(str(query_id))

    def _answer_callback_query(self, call: Call) -> bool:
        text = call.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._answer_query(call.params.get("callback_query_id"))
        return True

    def _answer_inline_query(self, call: Call) -> bool:
        results = call.params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        ids = [r.get("id") for r in results if isinstance(r, dict)]
        if len(ids) != len(results) or not all(ids) or any(not r.get("type") for r in results):
            raise bad_request("can't parse inline query result")
        if len(set(ids)) != len(ids):
            raise bad_request("RESULT_ID_DUPLICATE")
        self._answer_query(call.params.get("inline_query_id"))
        return True

    # editing
    def _editable(self, call: Call) -> tuple[tuple[int, int] | None, dict[str, Any] | None]:
        """(key, stored message) of the message to edit; (None, None) for inline messages."""
        p = call.params
        if p.get("inline_message_id"):
            return None, None
        chat_id = self._chat_id(p)
        if p.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        key = (chat_id, int(p["message_id"]))
        msg = self.messages.get(key)
        if msg is None:
            raise bad_request("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return key, msg

    def _apply_edit(self, key: tuple[int, int], old: dict[str, Any], new: dict[str, Any]
                    ) -> dict[str, Any]:
        if {k: v for k, v in new.items() if k != "edit_date"} == \
                {k: v for k, v in old.items() if k != "edit_date"}:
            raise bad_request(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return copy.deepcopy(new)

    def _with_markup(self, msg: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Telegram drops the inline keyboard when an edit doesn't repeat it."""
        markup = self._check_markup(params.get("reply_markup"))
        msg.pop("reply_markup", None)
        if markup is not None:
            msg["reply_markup"] = markup
        return msg

    def _edit_message_text(self, call: Call) -> Any:
        text = self._text(call.params, "text")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        key, msg = self._editable(call)
        if key is None:
            self._check_markup(call.params.get("reply_markup"))
            return True
        if "text" not in msg:
            raise bad_request("there is no text in the message to edit")
        new = self._with_markup({**copy.deepcopy(msg), "text": text}, call.params)
        new.pop("entities", None)
        return self._apply_edit(key, msg, new)

    def _edit_message_caption(self, call: Call) -> Any:
        key, msg = self._editable(call)
        if key is None:
            return True
        if not any(k in msg for k in MEDIA_KEYS):
            raise bad_request("there is no caption in the message to edit")
        caption = self._text(call.params, "caption")
        new = self._with_markup(copy.deepcopy(msg), call.params)
        new.pop("caption", None)
        new.pop("caption_entities", None)
        if caption:
            new["caption"] = caption
        return self._apply_edit(key, msg, new)

    def _edit_message_media(self, call: Call) -> Any:
        key, msg = self._editable(call)
        if key is not None and not any(k in msg for k in MEDIA_KEYS):
            raise bad_request("there is no media in the message to edit")
        content, caption = self._input_media(call, call.params.get("media"))
        if key is None:
            return True
        new = self._with_markup(copy.deepcopy(msg), call.params)
        for k in (*MEDIA_KEYS, "caption", "caption_entities"):
            new.pop(k, None)
        new.update(content)
        new.update(caption)
        return self._apply_edit(key, msg, new)

    def _edit_message_reply_markup(self, call: Call) -> Any:
        key, msg = self._editable(call)
        if key is None:
            self._check_markup(call.params.get("reply_markup"))
            return True
        new = self._with_markup(copy.deepcopy(msg), call.params)
        return self._apply_edit(key, msg, new)

    def _delete_message(self, call: Call) -> bool:
        chat_id = self._chat_id(call.params)
        mid = call.params.get("message_id")
        if mid is None:
            raise bad_request("message identifier is not specified")
        if self.messages.pop((chat_id, int(mid)), None) is None:
            raise bad_request("message to delete not found")
        return True
