"""A strict model of Telegram's HTML parse mode and sendMessage text checks.

Used as the oracle of the renderer tests and by the fake Bot API server of the end-to-end tests, so
it follows the Bot API rules and Telegram's own error texts (byte offsets are UTF-8 offsets into the
submitted text, entity offsets are UTF-16 units, as Telegram reports them).

Where Telegram is lenient it is stricter, on purpose, so a renderer that passes here passes there:
- a raw '&' that does not start &lt; &gt; &amp; &quot; or a numeric entity ending in ';', and any
  raw '>' outside a tag, are errors (Telegram keeps them as text);
- <a> needs an href with a URL Telegram accepts (Telegram would silently drop the link);
- with `strict_nesting` (the default), entities Telegram would silently drop are errors: anything
  inside <code>/<pre> except <pre><code class="language-x">, links/code/pre/custom emoji inside each
  other, and a blockquote inside a blockquote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_MESSAGE_LENGTH = 4096

_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NUMERIC = re.compile(r"&amp;|&#[0-9]{1,8};|&#[xX][0-9a-fA-F]{1,7};")
_TEXT_RUN = re.compile(r"(?:[^<>&]+|&(?:lt|gt|amp|quot|#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7});)+")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_EXCLUSIVE = {"text_link", "code", "pre", "custom_emoji"}
_URL_SCHEMES = {"http", "https", "tg", "ton", "ftp"}


class TelegramBadRequest(Exception):
    """A 400 answer of the Bot API; `description` is exactly what Telegram would send."""

    def __init__(self, reason: str) -> None:
        self.description = f"Bad Request: {reason}"
        super().__init__(self.description)


class TelegramHTMLError(TelegramBadRequest):
    """Telegram refused the HTML ("Bad Request: can't parse entities: ...")."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"can't parse entities: {reason}")


@dataclass(frozen=True, slots=True)
class Entity:
    """A MessageEntity as the Bot API returns it (offset and length in UTF-16 code units)."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None


@dataclass(slots=True)
class _Open:
    tag: str
    type: str
    offset: int
    index: int
    order: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_telegram_html(text: str, *, strict_nesting: bool = True) -> tuple[str, list[Entity]]:
    """The visible text and the entities Telegram would make of `text` in HTML parse mode."""
    return _Parser(text, strict_nesting).run()


def check_send_message(params: Mapping[str, Any]) -> str:
    """Validate sendMessage text parameters like the Bot API; returns the text as shown (trimmed).

    Raises TelegramBadRequest with Telegram's description for an empty or too long text, an unknown
    parse_mode, bad link_preview_options, or (TelegramHTMLError) HTML that does not parse.
    """
    text = params.get("text")
    if not isinstance(text, str) or not text:
        raise TelegramBadRequest("message text is empty")
    parse_mode = params.get("parse_mode")
    if parse_mode in (None, ""):
        visible = text
    elif isinstance(parse_mode, str) and parse_mode.lower() == "html":
        visible, _ = parse_telegram_html(text)
    else:
        raise TelegramBadRequest("unsupported parse_mode")
    _check_link_preview_options(params.get("link_preview_options"))
    shown = visible.strip()
    if not shown:
        raise TelegramBadRequest("message text is empty")
    if utf16_length(shown) > MAX_MESSAGE_LENGTH:
        raise TelegramBadRequest("message is too long")
    return shown


def _check_link_preview_options(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TelegramBadRequest("can't parse link preview options JSON object") from None
    if not isinstance(value, Mapping) or not isinstance(value.get("is_disabled", False), bool):
        raise TelegramBadRequest("can't parse link preview options JSON object")


class _Parser:
    def __init__(self, text: str, strict_nesting: bool) -> None:
        self.source = text
        self.strict = strict_nesting
        self.i = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[tuple[int, Entity]] = []
        self.opened = 0

    def run(self) -> tuple[str, list[Entity]]:
        text = self.source
        while self.i < len(text):
            char = text[self.i]
            run = _TEXT_RUN.match(text, self.i)
            if run is not None:
                self._emit(self._decode(run.group(0), self.i))
                self.i = run.end()
            elif char == "&":
                raise self._error(f'Unescaped "&" at byte offset {self._bytes(self.i)}')
            elif char == ">":
                raise self._error(f'Unescaped ">" at byte offset {self._bytes(self.i)}')
            elif char == "<":
                if text.startswith("</", self.i):
                    self._end_tag()
                else:
                    self._start_tag()
        if self.stack:
            raise self._error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        self.entities.sort(key=lambda pair: (pair[1].offset, -pair[1].length, pair[0]))
        return "".join(self.out), [entity for _, entity in self.entities]

    def _emit(self, chars: str) -> None:
        self.out.append(chars)
        self.utf16 += utf16_length(chars)

    def _bytes(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8", "surrogatepass"))

    def _at(self, index: int) -> str:
        return f"at byte offset {self._bytes(index)}"

    def _error(self, reason: str) -> TelegramHTMLError:
        return TelegramHTMLError(reason)

    def _decode(self, run: str, start: int) -> str:
        """A run of text and well-formed entities as the characters it stands for."""
        if "&" not in run:
            return run
        if "&#" in run:
            run = _NUMERIC.sub(
                lambda m: self._entity(start + m.start())[0] if m.group(0) != "&amp;" else "&amp;", run
            )
        for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&amp;", "&")):
            run = run.replace(entity, char)
        return run

    def _entity(self, start: int) -> tuple[str, int]:
        """The character of the entity at `start` and the index just after it."""
        match = _ENTITY.match(self.source, start)
        if match is None:
            raise self._error(f'Unescaped "&" at byte offset {self._bytes(start)}')
        named, decimal, hexadecimal = match.groups()
        if named:
            return _NAMED[named], match.end()
        code = int(decimal) if decimal else int(hexadecimal, 16)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise self._error(f"Invalid character entity at byte offset {self._bytes(start)}")
        return chr(code), match.end()

    def _end_tag(self) -> None:
        text, begin = self.source, self.i
        j = begin + 2
        while j < len(text) and not text[j].isspace() and text[j] != ">":
            j += 1
        name = text[begin + 2 : j].lower()
        while j < len(text) and text[j].isspace():
            j += 1
        if j >= len(text) or text[j] != ">":
            raise self._error(f"Unclosed end tag at byte offset {self._bytes(begin)}")
        if not self.stack:
            raise self._error(f"Unexpected end tag at byte offset {self._bytes(begin)}")
        opened = self.stack[-1]
        if name and name != opened.tag:
            expected = f'expected "</{opened.tag}>", found "</{name}>"'
            raise self._error(f"Unmatched end tag at byte offset {self._bytes(begin)}, {expected}")
        self.stack.pop()
        self.i = j + 1
        self._close(opened)

    def _close(self, opened: _Open) -> None:
        length = self.utf16 - opened.offset
        parent = self.stack[-1] if self.stack else None
        if opened.type == "code" and parent is not None and parent.type == "pre":
            parent.language = opened.language or parent.language
            return
        if length <= 0:
            return
        entity = Entity(
            opened.type, opened.offset, length, opened.url, opened.language, opened.custom_emoji_id
        )
        self.entities.append((opened.order, entity))

    def _start_tag(self) -> None:
        text, begin = self.source, self.i
        j = begin + 1
        while j < len(text) and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= len(text):
            raise self._error(f"Unclosed start tag at byte offset {self._bytes(begin)}")
        tag = text[begin + 1 : j].lower()
        if tag not in _TAG_TYPES:
            raise self._error(f'Unsupported start tag "{tag}" at byte offset {self._bytes(begin)}')
        attributes, j = self._attributes(tag, j, begin)
        self.i = j + 1
        opened = self._open(tag, attributes, begin)
        if self.strict:
            self._check_nesting(opened)
        self.stack.append(opened)

    def _attributes(self, tag: str, j: int, begin: int) -> tuple[dict[str, str | None], int]:
        text = self.source
        attributes: dict[str, str | None] = {}
        while True:
            while j < len(text) and text[j].isspace():
                j += 1
            if j >= len(text):
                raise self._error(f"Unclosed start tag at byte offset {self._bytes(begin)}")
            if text[j] == ">":
                return attributes, j
            name_start = j
            while j < len(text) and not text[j].isspace() and text[j] not in "=>":
                j += 1
            name = text[name_start:j].lower()
            if not name:
                raise self._error(
                    f'Empty attribute name in the tag "{tag}" at byte offset {self._bytes(begin)}'
                )
            while j < len(text) and text[j].isspace():
                j += 1
            if j >= len(text) or text[j] != "=":
                attributes[name] = None
                continue
            j += 1
            while j < len(text) and text[j].isspace():
                j += 1
            if j >= len(text):
                raise self._error(f"Unclosed start tag at byte offset {self._bytes(begin)}")
            if text[j] in "'\"":
                value, j = self._quoted(j, begin)
            else:
                token = _NAME_TOKEN.match(text, j)
                end = token.end() if token else j
                if end >= len(text) or not (text[end].isspace() or text[end] == ">"):
                    raise self._error(f"Unexpected end of name token at byte offset {self._bytes(j)}")
                value, j = text[j:end].lower(), end
            attributes[name] = value

    def _quoted(self, j: int, begin: int) -> tuple[str, int]:
        text = self.source
        quote = text[j]
        j += 1
        value: list[str] = []
        while j < len(text) and text[j] != quote:
            if text[j] == "&":
                decoded, j = self._entity(j)
                value.append(decoded)
            else:
                value.append(text[j])
                j += 1
        if j >= len(text):
            raise self._error(f"Unclosed start tag at byte offset {self._bytes(begin)}")
        return "".join(value), j + 1

    def _open(self, tag: str, attributes: dict[str, str | None], begin: int) -> _Open:
        kind = _TAG_TYPES[tag]
        self.opened += 1
        opened = _Open(tag, kind, self.utf16, begin, self.opened)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise self._error(f'Tag "span" must have class "tg-spoiler" {self._at(begin)}')
        if tag == "a":
            href = attributes.get("href")
            if not href or not _valid_url(href):
                raise self._error(f'Tag "a" needs a valid href {self._at(begin)}, got {href!r}')
            opened.url = href
        if tag == "tg-emoji":
            emoji_id = attributes.get("emoji-id")
            if not emoji_id or not emoji_id.isdigit():
                raise self._error(
                    f'Tag "tg-emoji" must have a numeric "emoji-id" attribute {self._at(begin)}'
                )
            opened.custom_emoji_id = emoji_id
        if tag == "blockquote" and "expandable" in attributes:
            opened.type = "expandable_blockquote"
        if tag == "code":
            language = attributes.get("class") or ""
            if language.startswith("language-") and len(language) > len("language-"):
                opened.language = language[len("language-") :]
        return opened

    def _check_nesting(self, opened: _Open) -> None:
        for index, outer in enumerate(self.stack):
            innermost = index == len(self.stack) - 1
            if outer.type in ("code", "pre"):
                if outer.type == "pre" and innermost and opened.type == "code":
                    continue
                raise self._error(
                    f'Entity "{opened.tag}" can\'t be nested in "{outer.tag}" {self._at(opened.index)}'
                )
            if outer.type in _EXCLUSIVE and opened.type in _EXCLUSIVE:
                raise self._error(
                    f'Entity "{opened.tag}" can\'t be nested in "{outer.tag}" {self._at(opened.index)}'
                )
            if outer.type.endswith("blockquote") and opened.type.endswith("blockquote"):
                raise self._error(f"Blockquotes can't be nested {self._at(opened.index)}")


def _valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if any(c.isspace() or ord(c) < 32 for c in url):
        return False
    if parts.scheme.lower() in ("http", "https", "ftp"):
        return bool(parts.netloc)
    return parts.scheme.lower() in _URL_SCHEMES and bool(parts.netloc or parts.path or parts.query)
