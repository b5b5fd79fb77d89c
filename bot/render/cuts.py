"""Where in a line of text a cut may fall: after a sentence end, at a space, or hard at a character
boundary (never inside a grapheme cluster: combining marks, emoji sequences, flags, surrogate pairs).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from bot.render.blocks import Line

CLOSERS = "\"'”’」』）)\\]】》"
SENTENCE_END = re.compile(f"[。！？][{CLOSERS}]*|[.!?][{CLOSERS}]*(?=\\s)")
SPACE_AFTER_TEXT = re.compile(r"(?<=\S)\s")
VISIBLE = re.compile(r"\S")
LOOKAHEAD = 64  # text past the reach the sentence-end pattern may look at (closing quotes, a space)
_ZWJ = "\u200d"


def sentence_ends(text: str, reach: int, last_visible: int) -> int | None:
    """The last offset <= reach just after a sentence end (and its closing quotes), text left after it
    (the line's visible text ends at `last_visible`)."""
    best = None
    for match in SENTENCE_END.finditer(text, 0, min(len(text), reach + LOOKAHEAD)):
        if match.end() > reach:
            break
        if match.end() < last_visible:
            best = match.end()
    return best


def space_starts(text: str, reach: int, last_visible: int) -> int | None:
    """The last offset <= reach of a whitespace run with visible text on both sides (the line's
    visible text ends at `last_visible`)."""
    best = None
    for match in SPACE_AFTER_TEXT.finditer(text, 0, min(len(text), reach + 1)):
        if match.start() < last_visible:
            best = match.start()
    return best


def _joins(text: str, k: int) -> bool:
    """Whether text[k-1] and text[k] belong to one visible character (a cut there would break it)."""
    before, after = text[k - 1], text[k]
    code = ord(after)
    if unicodedata.category(after) in ("Mn", "Me", "Mc") or _ZWJ in (before, after):
        return True
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0xE0020 <= code <= 0xE007F:
        return True
    if 0x1F3FB <= code <= 0x1F3FF or (0xDC00 <= code <= 0xDFFF and 0xD800 <= ord(before) <= 0xDBFF):
        return True
    if _regional(before) and _regional(after):
        run = 0
        while k - run - 1 >= 0 and _regional(text[k - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _regional(char: str) -> bool:
    """A regional indicator: two of them make one flag."""
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def safe_break(text: str, k: int, lowest: int) -> int:
    """Move a hard cut back to a character boundary; keep it if everything down to `lowest` is one
    cluster (a pathological run of combining marks must still be cut somewhere)."""
    candidate = k
    while candidate >= lowest and _joins(text, candidate):
        candidate -= 1
    return candidate if candidate >= lowest else k


def strip_end(line: Line) -> Line:
    """The line without trailing whitespace (and without the spans that held only that)."""
    spans = list(line)
    while spans:
        text = spans[-1].text.rstrip()
        if text:
            spans[-1] = replace(spans[-1], text=text)
            break
        spans.pop()
    return tuple(spans)
