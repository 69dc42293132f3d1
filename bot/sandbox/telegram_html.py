"""Telegram's HTML parse mode, as strict as Telegram: unknown or unbalanced tags are a 400 error."""

from __future__ import annotations

from html.parser import HTMLParser

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "span", "tg-spoiler", "blockquote", "tg-emoji"}


class EntityParseError(ValueError):
    pass


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            raise EntityParseError(f'Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data):
        self.parts.append(data)


def html_to_plain(text: str) -> str:
    """The text a user sees for an HTML-formatted message; raises EntityParseError like Telegram does."""
    if "<" in text.replace("&lt;", ""):
        # Telegram treats a bare '<' that does not open a valid tag as an error, not as text.
        for index, char in enumerate(text):
            if char == "<":
                rest = text[index + 1:index + 2]
                if not (rest.isalpha() or rest == "/"):
                    raise EntityParseError(f"Unexpected character at byte offset {len(text[:index].encode())}")
    parser = _Parser()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"')
    return "".join(parser.parts)
