"""/help: what this person may do, in the sections of bot.commands (worker commands, then those of their roles)."""

from __future__ import annotations

from bot.commands import Section
from bot.render import Keyboard, escape
from bot.ui.menu import main_menu_keyboard


def help_screen(sections: list[Section]) -> tuple[str, Keyboard]:
    lines = ["<b>质量通使用说明</b>", "", "• 直接打字提问住宅工程质量问题，例如“外墙渗水怎么处理”"]
    for section in sections:
        lines += ["", f"<b>{escape(section.title)}</b>"]
        lines += [f"/{command.name} {escape(command.help_line)}" for command in section.commands]
    return "\n".join(lines), main_menu_keyboard()
