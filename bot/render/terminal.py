"""Showing a rendered message in a terminal as a person would read it (`digestbot preview`).

Each platform turns its own payload into text through a `Terminal`, which says how emphasis and
links look here: ANSI bold/italic on a colour terminal, plain words elsewhere, links always as
``text <url>`` so they can be read and copied.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO

_BOLD, _ITALIC, _UNDERLINE, _RESET = "\x1b[1m", "\x1b[3m", "\x1b[4m", "\x1b[0m"


@dataclass(frozen=True, slots=True)
class Terminal:
    """`ansi`: whether escape sequences may style the text."""

    ansi: bool = False

    @classmethod
    def for_stream(cls, stream: IO[str]) -> Terminal:
        """Styled when writing to a terminal and NO_COLOR (no-color.org) is not set."""
        return cls(ansi=stream.isatty() and not os.environ.get("NO_COLOR"))

    def bold(self, text: str) -> str:
        return self._style(_BOLD, text)

    def italic(self, text: str) -> str:
        return self._style(_ITALIC, text)

    def underline(self, text: str) -> str:
        return self._style(_UNDERLINE, text)

    def link(self, text: str, url: str) -> str:
        """The words, then the address; just the address when the words are the address."""
        shown = text.strip()
        return f"<{url}>" if not shown or shown == url else f"{text} <{url}>"

    def _style(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.ansi and text else text
