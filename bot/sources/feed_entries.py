"""Feed documents (RSS 2.0, Atom, JSON Feed 1/1.1) -> entries -> digests; pure, no network.

Kept apart from the poller so every odd feed can be tested from bytes alone. An entry's identity is
its feed id (RSS guid, Atom id, JSON Feed id), else its link; its version is a hash of everything
that ends up in the digest, so an edited entry comes again and a re-served one does not.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

import feedparser

from bot.core.errors import DigestError
from bot.core.html_items import parse_html_digest
from bot.core.model import Digest

JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/1"
# The same stamp rule as bot.core.parse: a title starting "2025.11.07.08 ..." names that digest.
_STAMP = re.compile(r"\d{4}[.-]\d{1,2}[.-]\d{1,2}(?:[.-]\d{1,4})*(?=\s|$)")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
MAX_KEY_CHARS = 1024  # longer entry ids are replaced by their hash, longer links shortened in logs


class FeedFormatError(Exception):
    """The document is not a usable feed; the message says why, for the log line with the URL."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """The parts of one feed entry a digest is built from; `html` is the entry's content.

    `problem` says why an entry that could only partly be read is rejected (its digest is that error).
    """

    key: str
    title: str
    link: str | None
    html: str
    published: datetime | None
    tags: tuple[str, ...]
    author: str | None = None
    problem: str | None = None

    def fingerprint(self) -> tuple[str, int]:
        """sha256 hex and byte size of the entry's canonical JSON.

        The hash changes whenever the resulting digest could; the size is what max_digest_bytes limits.
        """
        fields = [
            self.key,
            self.title,
            self.link,
            self.html,
            self.published.isoformat() if self.published else None,
            list(self.tags),
            self.author,
        ]
        if self.problem is not None:  # appended only when set: the hash of an ordinary entry stays
            fields.append(self.problem)  # what earlier versions stored, so an upgrade resends nothing
        canonical = json.dumps(fields, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(canonical).hexdigest(), len(canonical)


def parse_feed(data: bytes, url: str, headers: Mapping[str, str] | None = None) -> list[FeedEntry]:
    """Entries in document order; JSON Feed is recognised by content type or a leading ``{``."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    content_type = headers.get("content-type", "").lower()
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if "json" in content_type or head == b"{":
        return parse_json_feed(data)
    return parse_xml_feed(data, url, headers)


def _timestamp(value: Any) -> datetime | None:
    """feedparser's parsed dates are UTC struct_time tuples; ValueError when one is out of range."""
    if not value:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=calendar.timegm(value))
    except OverflowError:
        raise ValueError(f"its date (year {value[0]}) is out of range") from None


def _read_entries(raw_entries: list[Any], read: Callable[[Mapping[str, Any]], FeedEntry]) -> list[FeedEntry]:
    """Each entry read on its own: one that cannot be read is rejected alone, the others carry on."""
    entries: list[FeedEntry] = []
    for raw in raw_entries:
        if not isinstance(raw, Mapping):
            continue
        try:
            entry = read(raw)
        except Exception as exc:
            entry = _unreadable(raw, exc)
        if len(entry.key) > MAX_KEY_CHARS:  # the key is stored and logged: keep it short
            entry = replace(entry, key="sha256:" + hashlib.sha256(entry.key.encode()).hexdigest())
        entries.append(entry)
    return entries


def _unreadable(raw: Mapping[str, Any], exc: Exception) -> FeedEntry:
    """A stand-in for an entry that failed to read, keyed like the entry itself would be when possible."""
    link = next((v for v in (raw.get("link"), raw.get("url")) if isinstance(v, str) and v), None)
    raw_id = raw.get("id")
    key = str(raw_id) if isinstance(raw_id, str | int) and raw_id != "" else link
    reason = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
    return FeedEntry(
        key=key or _fallback_key("", repr(raw)),
        title="",
        link=link,
        html="",
        published=None,
        tags=(),
        problem=f"feed entry cannot be read: {reason[:200]}",
    )


def _content_html(entry: Mapping[str, Any]) -> str:
    """content:encoded / Atom content first (HTML preferred), then the summary; plain text escaped."""
    candidates = list(entry.get("content") or [])
    if entry.get("summary_detail"):
        candidates.append(entry["summary_detail"])
    elif entry.get("summary"):
        candidates.append({"value": entry["summary"], "type": "text/html"})
    candidates = [c for c in candidates if (c.get("value") or "").strip()]
    if not candidates:
        return ""
    chosen = next((c for c in candidates if c.get("type", "text/html") in _HTML_TYPES), candidates[0])
    value = chosen["value"]
    return value if chosen.get("type", "text/html") in _HTML_TYPES else _text_to_html(value)


def _text_to_html(text: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def parse_xml_feed(data: bytes, url: str, headers: Mapping[str, str] | None = None) -> list[FeedEntry]:
    """RSS/Atom through feedparser (bytes in a stream, so the body is never taken for a path or URL)."""
    response_headers = {
        "content-location": url,
        "content-type": "application/xml",
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    parsed = feedparser.parse(io.BytesIO(data), response_headers=response_headers)
    if not parsed.entries:
        if parsed.bozo:
            raise FeedFormatError(f"malformed feed: {parsed.get('bozo_exception')}")
        if not parsed.get("version"):
            raise FeedFormatError("not an RSS, Atom or JSON feed")
    return _read_entries(parsed.entries, _xml_entry)


def _xml_entry(entry: Mapping[str, Any]) -> FeedEntry:
    link = entry.get("link") or None
    title = (entry.get("title") or "").strip()
    content = _content_html(entry)
    tags = tuple(
        t for t in ((tag.get("term") or tag.get("label") or "").strip() for tag in entry.get("tags", [])) if t
    )
    return FeedEntry(
        key=entry.get("id") or link or _fallback_key(title, content),
        title=title,
        link=link,
        html=content,
        published=_timestamp(entry.get("published_parsed") or entry.get("updated_parsed")),
        tags=tags,
        author=entry.get("author") or None,
    )


def _fallback_key(title: str, content: str) -> str:
    return "sha256:" + hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()[:16]


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _json_author(item: Mapping[str, Any]) -> str | None:
    authors = item.get("authors")
    first = authors[0] if isinstance(authors, list) and authors else None
    author = first if isinstance(first, dict) else item.get("author")
    name = author.get("name") if isinstance(author, dict) else None
    return name if isinstance(name, str) and name else None


def parse_json_feed(data: bytes) -> list[FeedEntry]:
    """JSON Feed 1 / 1.1; items that are not objects are skipped, a bad document is an error."""
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise FeedFormatError(f"invalid JSON{where}: {reason}") from None
    if not isinstance(document, dict):
        raise FeedFormatError("not a JSON Feed: the document is not an object")
    version = document.get("version")
    if not isinstance(version, str) or not version.startswith(JSON_FEED_VERSION_PREFIX):
        raise FeedFormatError(f"not a JSON Feed 1.x document (version {version!r})")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedFormatError("JSON Feed without an 'items' list")
    return _read_entries(items, _json_entry)


def _json_entry(item: Mapping[str, Any]) -> FeedEntry:
    link = next((v for v in (item.get("url"), item.get("external_url")) if isinstance(v, str) and v), None)
    title = str(item.get("title") or "").strip()
    if isinstance(item.get("content_html"), str) and item["content_html"].strip():
        content = item["content_html"]
    else:
        text = item.get("content_text") or item.get("summary") or ""
        content = _text_to_html(text) if isinstance(text, str) else ""
    raw_id = item.get("id")
    key = str(raw_id) if raw_id not in (None, "") else (link or _fallback_key(title, content))
    tags = item.get("tags")
    raw_tags: list[Any] = tags if isinstance(tags, list) else []
    return FeedEntry(
        key=key,
        title=title,
        link=link,
        html=content,
        published=_iso_date(item.get("date_published")) or _iso_date(item.get("date_modified")),
        tags=tuple(t.strip() for t in raw_tags if isinstance(t, str) and t.strip()),
        author=_json_author(item),
    )


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:48].strip("-")


def entry_stamp(entry: FeedEntry) -> str | None:
    """The digest stamp (``2025.11.07.08``) leading the entry's title, as the markdown parser reads it."""
    match = _STAMP.match(entry.title)
    return match.group(0) if match else None


def entry_digest_id(entry: FeedEntry) -> str:
    """The stamp when there is one (same id as the digest file), else a readable slug plus a hash."""
    stamp = entry_stamp(entry)
    if stamp:
        return stamp
    short = hashlib.sha256(entry.key.encode()).hexdigest()[:8]
    target = entry.link or entry.key
    segments = [s for s in urlsplit(target).path.split("/") if s] if "://" in target else [target]
    slug = _slug(segments[-1]) if segments else ""
    return f"{slug}-{short}" if slug else f"entry-{short}"


def entry_source(entry: FeedEntry, feed_url: str) -> str:
    """What names the entry in errors and logs: its link, else the feed URL with its id (shortened)."""
    source = entry.link or f"{feed_url}#{entry.key}"
    return source if len(source) <= MAX_KEY_CHARS else source[: MAX_KEY_CHARS - 1] + "…"


def _stamp_date(stamp: str, tz: tzinfo) -> datetime | None:
    """Year, month, day and optional hour of a stamp, as local time in `tz`."""
    year, month, day, *rest = (int(p) for p in re.split(r"[.-]", stamp))
    try:
        return datetime(year, month, day, rest[0] if rest else 0, tzinfo=tz)
    except ValueError:
        return None


def entry_to_digest(entry: FeedEntry, *, feed_url: str, default_tz: tzinfo | None, now: datetime) -> Digest:
    """One entry as a digest. Date: published/updated, else the title stamp in `default_tz`, else `now`.

    Raises DigestError when the entry could not be read or its content cannot be used.
    """
    if entry.problem is not None:
        raise DigestError(entry_source(entry, feed_url), entry.problem)
    stamp = entry_stamp(entry)
    date = entry.published or (_stamp_date(stamp, default_tz or UTC) if stamp else None) or now
    digest_id = entry_digest_id(entry)
    metadata = {
        key: value
        for key, value in (
            ("feed", feed_url),
            ("entry_id", entry.key),
            ("link", entry.link),
            ("author", entry.author),
        )
        if value
    }
    return parse_html_digest(
        entry.html,
        source=entry_source(entry, feed_url),
        id=digest_id,
        title=entry.title or digest_id,
        date=date,
        categories=entry.tags,
        metadata=metadata,
    )
