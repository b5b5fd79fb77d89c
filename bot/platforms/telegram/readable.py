"""A Telegram HTML message as a person reads it: tags turned into terminal styling and links."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from bot.render.terminal import Terminal


class _Reader(HTMLParser):
    """Collects text per open tag; a closing tag styles what its element held (Telegram's HTML is
    well nested, or the Bot API would refuse it)."""

    def __init__(self, terminal: Terminal) -> None:
        super().__init__(convert_charrefs=True)
        self._terminal = terminal
        self._stack: list[tuple[str, dict[str, str | None], list[str]]] = [("", {}, [])]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack.append((tag, dict(attrs), []))

    def handle_endtag(self, tag: str) -> None:
        if len(self._stack) == 1 or self._stack[-1][0] != tag:
            return
        _, attrs, parts = self._stack.pop()
        self._stack[-1][2].append(self._show(tag, attrs, "".join(parts)))

    def handle_data(self, data: str) -> None:
        self._stack[-1][2].append(data)

    def _show(self, tag: str, attrs: dict[str, str | None], text: str) -> str:
        terminal = self._terminal
        if tag in ("b", "strong"):
            return terminal.bold(text)
        if tag in ("i", "em"):
            return terminal.italic(text)
        if tag in ("u", "ins"):
            return terminal.underline(text)
        if tag == "a" and attrs.get("href"):
            return terminal.link(text, str(attrs["href"]))
        if tag == "blockquote":
            return "\n".join(f"> {line}" for line in text.split("\n"))
        return text

    def text(self) -> str:
        while len(self._stack) > 1:  # an unclosed tag keeps its text
            self.handle_endtag(self._stack[-1][0])
        return "".join(self._stack[0][2])


def readable(payload: Any, terminal: Terminal) -> str:
    """The `text` of a sendMessage payload, as shown (parse_mode HTML, or plain after a refusal)."""
    text = str(payload.get("text", ""))
    if payload.get("parse_mode") != "HTML":
        return text
    reader = _Reader(terminal)
    reader.feed(text)
    reader.close()
    return reader.text()
