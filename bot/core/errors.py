"""The one error type for bad digest input, so callers can report it and carry on with the rest."""

from __future__ import annotations


class DigestError(Exception):
    """A digest that cannot be used, with the file (or feed entry) and line that explain why."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.reason}"
