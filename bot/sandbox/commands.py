"""The bot's command menus as Telegram keeps them: one list per scope and language, checked as setMyCommands checks
them, and the list a given chat's "/" menu shows.

Telegram looks for the most specific list that was set: for a private chat, the chat's own scope, then
all_private_chats, then default; in a group, chat_member, chat, all_group_chats, then default (administrator scopes
are stored but never chosen, since the sandbox does not model group administrators). Each time the list for the
person's language comes before the one without a language.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_COMMANDS = 100
COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
MAX_DESCRIPTION = 256
LANGUAGE = re.compile(r"^[a-z]{2}$")
WITHOUT_CHAT = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
WITH_CHAT = {"chat", "chat_administrators", "chat_member"}

ScopeKey = tuple  # ("default",), ("chat", chat_id), ("chat_member", chat_id, user_id) …


class CommandError(ValueError):
    """The Bad Request description Telegram gives."""


def _json_value(value: Any, what: str) -> Any:
    """Form fields arrive as text: a JSON object or array inside."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise CommandError(f"can't parse {what} JSON object") from None
    return value


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value):
        return int(value)
    return None


def parse_scope(raw: Any, chat_exists: Callable[[int], bool]) -> ScopeKey:
    """The scope parameter as a key; no scope is the default one."""
    if raw is None or raw == "":
        return ("default",)
    scope = _json_value(raw, "BotCommandScope")
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise CommandError("can't parse BotCommandScope JSON object")
    kind = scope["type"]
    if kind in WITHOUT_CHAT:
        return (kind,)
    if kind not in WITH_CHAT:
        raise CommandError("unsupported bot command scope type")
    chat_id = _integer(scope.get("chat_id"))
    if chat_id is None or not chat_exists(chat_id):
        raise CommandError("chat not found")
    if kind != "chat_member":
        return (kind, chat_id)
    user_id = _integer(scope.get("user_id"))
    if user_id is None or user_id <= 0:
        raise CommandError("invalid user_id specified")
    return (kind, chat_id, user_id)


def parse_language(raw: Any) -> str:
    language = "" if raw is None else str(raw)
    if language and not LANGUAGE.match(language):
        raise CommandError("invalid language code specified")
    return language


def parse_commands(raw: Any) -> list[dict[str, str]]:
    commands = _json_value(raw if raw is not None else [], "commands")
    if not isinstance(commands, list):
        raise CommandError("can't parse commands JSON object")
    if len(commands) > MAX_COMMANDS:
        raise CommandError("BOT_COMMANDS_TOO_MUCH")
    parsed = []
    for command in commands:
        if not isinstance(command, dict):
            raise CommandError("can't parse BotCommand JSON object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not COMMAND_NAME.match(name):
            raise CommandError("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= MAX_DESCRIPTION:
            raise CommandError("BOT_COMMAND_DESCRIPTION_INVALID")
        parsed.append({"command": name, "description": description})
    return parsed


def scope_json(key: ScopeKey) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": key[0]}
    if len(key) > 1:
        scope["chat_id"] = key[1]
    if len(key) > 2:
        scope["user_id"] = key[2]
    return scope


class CommandMenus:
    """Every list set with setMyCommands, by (scope, language)."""

    def __init__(self) -> None:
        self.lists: dict[tuple[ScopeKey, str], list[dict[str, str]]] = {}

    def set(self, scope: ScopeKey, language: str, commands: list[dict[str, str]]) -> None:
        if commands:
            self.lists[(scope, language)] = commands
        else:  # an empty list is how Telegram deletes one
            self.lists.pop((scope, language), None)

    def get(self, scope: ScopeKey, language: str) -> list[dict[str, str]]:
        return list(self.lists.get((scope, language), []))

    def delete(self, scope: ScopeKey, language: str) -> None:
        self.lists.pop((scope, language), None)

    def shown(self, chat_id: int, private: bool, user_id: int | None = None, language: str = "") -> list[dict]:
        """The "/" menu this chat shows (to this user, in this language)."""
        order: list[ScopeKey] = [("chat", chat_id), ("all_private_chats",)] if private else \
            ([("chat_member", chat_id, user_id)] if user_id else []) + [("chat", chat_id), ("all_group_chats",)]
        for scope in order + [("default",)]:
            for wanted in ([language] if language else []) + [""]:
                if (scope, wanted) in self.lists:
                    return self.get(scope, wanted)
        return []

    def report(self) -> list[dict[str, Any]]:
        return [{"scope": scope_json(scope), "language_code": language, "commands": commands}
                for (scope, language), commands in self.lists.items()]


class CommandsApi:
    """setMyCommands, getMyCommands and deleteMyCommands; a CommandError becomes a Bad Request."""

    state: Any

    def _menu(self, params: dict[str, Any]) -> tuple[ScopeKey, str]:
        return (parse_scope(params.get("scope"), lambda chat_id: chat_id in self.state.chats),
                parse_language(params.get("language_code")))

    async def api_setmycommands(self, params):
        scope, language = self._menu(params)
        self.state.command_menus.set(scope, language, parse_commands(params.get("commands")))
        return True

    async def api_getmycommands(self, params):
        return self.state.command_menus.get(*self._menu(params))

    async def api_deletemycommands(self, params):
        self.state.command_menus.delete(*self._menu(params))
        return True


class CommandsControl:
    """GET /sandbox/commands: every list set, and with ?chat_id= the one that chat's "/" menu shows."""

    state: Any

    async def control_commands(self, request: Request) -> Response:
        menus: CommandMenus = self.state.command_menus
        body: dict[str, Any] = {"scopes": menus.report()}
        if "chat_id" in request.query_params:
            chat_id = _integer(request.query_params["chat_id"])
            user_id = _integer(request.query_params.get("user_id", ""))
            chat = self.state.chats.get(chat_id)
            if chat is None:
                return JSONResponse({"ok": False, "error": "no such chat"}, status_code=404)
            body["shown"] = menus.shown(chat.id, chat.type == "private", user_id,
                                        request.query_params.get("language_code", ""))
        return JSONResponse(body)
