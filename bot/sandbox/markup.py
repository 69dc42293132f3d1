"""reply_markup as Telegram's Bot API server parses it: every malformed keyboard is a 400 with Telegram's wording.

Descriptions come from tdlib/telegram-bot-api (Client.cpp: get_reply_markup, get_inline_keyboard_button) and from
answers of the live API recorded by public test suites; docs/sandbox.md names the source of each.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.limits import LimitSettings

MAX_CALLBACK_BYTES = 64
# Every kind of action an inline button can carry; Bot API: "exactly one of the optional fields must be used".
BUTTON_ACTIONS = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                  "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
                  "callback_game", "pay")
UNTOUCHED = ...  # the chat's reply keyboard stays as it is


class MarkupError(ValueError):
    """The text after "Bad Request: "."""


def _inline_button(button: Any) -> dict[str, Any]:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise MarkupError(prefix + "InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise MarkupError(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise MarkupError(prefix + 'Field "text" must be of type String')
    # Telegram treats an empty url or callback_data as absent
    actions = [key for key in BUTTON_ACTIONS if key in button and button[key] not in ("", None)]
    if not actions:
        raise MarkupError(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        # Telegram's server silently keeps the first; the documented contract (and the sandbox) wants exactly one
        raise MarkupError(prefix + f"exactly one action is allowed, got {' and '.join(actions)}")
    for key in ("url", "callback_data"):
        if key in button and not isinstance(button[key], str):
            raise MarkupError(prefix + f'Field "{key}" must be of type String')
    data = button.get("callback_data")
    if data and len(data.encode()) > MAX_CALLBACK_BYTES:
        raise MarkupError("BUTTON_DATA_INVALID")
    if not button["text"].strip():
        raise MarkupError("BUTTON_TEXT_INVALID")
    return button


def _rows(markup: dict[str, Any], key: str, kind: str) -> list[list[Any]]:
    rows = markup[key]
    if not isinstance(rows, list):
        raise MarkupError(f'field "{key}" must be of type Array')
    if not all(isinstance(row, list) for row in rows):
        raise MarkupError(f'field "{key}" {kind}must be an Array of Arrays')
    return rows


def parse_markup(markup: Any, limits: LimitSettings) -> tuple[dict[str, Any] | None, Any]:
    """(inline markup to store, reply keyboard labels / None to remove / UNTOUCHED); MarkupError when refused."""
    if markup in (None, ""):
        return None, UNTOUCHED
    if isinstance(markup, str):
        raise MarkupError("can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise MarkupError("object expected as reply markup")
    if "keyboard" in markup:
        labels = []
        for row in _rows(markup, "keyboard", ""):
            for button in row:
                if not isinstance(button, (str, dict)) or (isinstance(button, dict)
                                                           and not isinstance(button.get("text"), str)):
                    raise MarkupError("can't parse keyboard button: KeyboardButton must be a String or an Object")
            labels.append([b["text"] if isinstance(b, dict) else b for b in row])
        if any(labels):
            return None, labels
    if "inline_keyboard" in markup:
        rows = [[_inline_button(b) for b in row]
                for row in _rows(markup, "inline_keyboard", "of the InlineKeyboardMarkup ")]
        if limits.keyboard_max_row and any(len(row) > limits.keyboard_max_row for row in rows):
            # Telegram clients hide buttons past the 8th of a row; the sandbox refuses them so that the bug shows
            raise MarkupError(f"reply markup is too long: more than {limits.keyboard_max_row} buttons in a row")
        if limits.keyboard_max_buttons and sum(map(len, rows)) > limits.keyboard_max_buttons:
            raise MarkupError("reply markup is too long")
        if any(rows):
            return {"inline_keyboard": rows}, UNTOUCHED
    for flag in ("remove_keyboard", "force_reply", "selective", "one_time_keyboard", "is_persistent",
                 "resize_keyboard"):
        if flag in markup and not isinstance(markup[flag], bool):
            raise MarkupError(f'field "{flag}" must be of type Boolean')
    if markup.get("remove_keyboard"):
        return None, None
    return None, UNTOUCHED
