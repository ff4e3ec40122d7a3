"""The bot's command lists (setMyCommands & co) of :class:`FakeTelegram`."""
from __future__ import annotations

import copy
import json
import re
from typing import Any

from .protocol import Call, bad_request

_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class CommandsMixin:
    """commands(); setMyCommands, getMyCommands, deleteMyCommands per scope and language."""

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    # commands
    @staticmethod
    def _commands_key(scope: dict | None, language_code: str | None) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""

    def _set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _BOT_COMMAND_NAME_RE.match(
                    str(cmd.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", "")).strip()) <= 256:
                raise bad_request("command description is empty")
        key = self._commands_key(call.params.get("scope"), call.params.get("language_code"))
        self._commands[key] = [{"command": c["command"], "description": c["description"]}
                               for c in commands]
        return True

    def _get_my_commands(self, call: Call) -> list[dict[str, Any]]:
        key = self._commands_key(call.params.get("scope"), call.params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, call: Call) -> bool:
        key = self._commands_key(call.params.get("scope"), call.params.get("language_code"))
        self._commands.pop(key, None)
        return True
