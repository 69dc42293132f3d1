"""The Bot API sandbox: the part of Telegram's Bot API that qualitybot uses, plus a control API for scripts.

Bot API:     /bot<token>/<method> and /file/bot<token>/<path>            (bot/sandbox/botapi.py)
Control API: /sandbox/users, send, edit, token, press, messages, faults, chaos, limits, traffic, reset, block,
             files/<id>, inject, state                                                (bot/sandbox/control.py)
             commands                                                                (bot/sandbox/commands.py)
Everything is described in docs/sandbox.md.
"""

from __future__ import annotations

from starlette.routing import Route

from bot.sandbox.botapi import BotApi
from bot.sandbox.commands import CommandsControl
from bot.sandbox.control import ControlApi


class SandboxServer(BotApi, ControlApi, CommandsControl):
    """Both halves over one SandboxState; `routes()` is what an application mounts."""

    def routes(self) -> list[Route]:
        return [
            Route("/bot{token}/{method}", self.bot_api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self.download, methods=["GET"]),
            Route("/sandbox/users", self.control_users, methods=["GET", "POST"]),
            Route("/sandbox/send", self.control_send, methods=["POST"]),
            Route("/sandbox/edit", self.control_edit, methods=["POST"]),
            Route("/sandbox/token", self.control_token, methods=["POST"]),
            Route("/sandbox/press", self.control_press, methods=["POST"]),
            Route("/sandbox/messages", self.control_messages, methods=["GET"]),
            Route("/sandbox/faults", self.control_faults, methods=["GET", "POST", "DELETE"]),
            Route("/sandbox/chaos", self.control_chaos, methods=["GET", "POST", "DELETE"]),
            Route("/sandbox/limits", self.control_limits, methods=["GET", "POST"]),
            Route("/sandbox/traffic", self.control_traffic, methods=["GET"]),
            Route("/sandbox/reset", self.control_reset, methods=["POST"]),
            Route("/sandbox/block", self.control_block, methods=["POST"]),
            Route("/sandbox/files/{file_id}", self.control_file, methods=["GET"]),
            Route("/sandbox/state", self.control_state, methods=["GET"]),
            Route("/sandbox/inject", self.control_inject, methods=["POST"]),
            Route("/sandbox/commands", self.control_commands, methods=["GET"]),
        ]
