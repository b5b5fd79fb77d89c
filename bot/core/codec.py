"""Digest and Filter <-> JSON-able dicts, so the store can persist the parsed model and read it back.

The round trip is lossless: aware datetimes keep their IANA zone (not only the offset) so a digest
rendered from the database shows the same local times as one rendered straight from the parser, and
front-matter metadata keeps its dates, tuples and non-string keys through tagged values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.model import Category, Digest, Filter, Item, Paragraph, Span

FORMAT_VERSION = 1
_TAGS = ("$datetime", "$date", "$time", "$tuple", "$map")


class CodecError(ValueError):
    """A value that cannot be encoded, or stored data that does not decode; `path` says where."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def encode_datetime(value: datetime) -> dict[str, Any]:
    """An instant plus the zone name when it has one, so local times survive the round trip."""
    zone = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None
    return {"at": value.isoformat(), "zone": zone, "fold": value.fold}


def decode_datetime(data: Any, path: str = "datetime") -> datetime:
    """The inverse of `encode_datetime`."""
    if not isinstance(data, Mapping) or not isinstance(data.get("at"), str):
        raise CodecError(path, "expected {'at': ISO text, 'zone': name or null}")
    try:
        value = datetime.fromisoformat(data["at"])
    except ValueError as exc:
        raise CodecError(path, f"bad ISO datetime {data['at']!r}") from exc
    fold = 1 if data.get("fold") else 0
    zone = data.get("zone")
    if zone is None:
        return value.replace(fold=fold)
    if value.tzinfo is None or not isinstance(zone, str):
        raise CodecError(path, "a zone needs an aware datetime and a zone name")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CodecError(path, f"unknown time zone {zone!r}") from exc
    # Wall time + zone + fold identifies the datetime exactly, even inside a DST gap.
    return value.replace(tzinfo=tz, fold=fold)


def _encode_value(value: Any, path: str) -> Any:
    """Front-matter values: JSON natives pass through, everything else is tagged or refused."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return {"$datetime": encode_datetime(value)}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        if value.tzinfo is not None and not isinstance(value.tzinfo, timezone):
            raise CodecError(path, "a time of day may only carry a fixed UTC offset")
        return {"$time": value.isoformat()}
    if isinstance(value, list):
        return [_encode_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"$tuple": [_encode_value(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, Mapping):
        plain = all(isinstance(k, str) for k in value) and not (
            len(value) == 1 and next(iter(value)) in _TAGS
        )
        if plain:
            return {k: _encode_value(v, f"{path}.{k}") for k, v in value.items()}
        return {
            "$map": [
                [_encode_value(k, f"{path}<key>"), _encode_value(v, f"{path}.{k}")] for k, v in value.items()
            ]
        }
    raise CodecError(path, f"cannot store a value of type {type(value).__name__}")


def _decode_value(data: Any, path: str) -> Any:
    if isinstance(data, list):
        return [_decode_value(v, f"{path}[{i}]") for i, v in enumerate(data)]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        tag, inner = next(iter(data.items()))
        try:
            if tag == "$datetime":
                return decode_datetime(inner, path)
            if tag == "$date":
                return date.fromisoformat(inner)
            if tag == "$time":
                return time.fromisoformat(inner)
        except (TypeError, ValueError) as exc:
            raise CodecError(path, f"bad {tag} value {inner!r}") from exc
        if tag == "$tuple":
            return tuple(_decode_value(_list(inner, path), path))
        if tag == "$map":
            pairs = [_list(pair, path) for pair in _list(inner, path)]
            if any(len(pair) != 2 for pair in pairs):
                raise CodecError(path, "a $map holds [key, value] pairs")
            return {_freeze(_decode_value(k, path)): _decode_value(v, f"{path}.{k}") for k, v in pairs}
    return {k: _decode_value(v, f"{path}.{k}") for k, v in data.items()}


def _freeze(key: Any) -> Any:
    """Keys decoded from JSON lists must be hashable again (YAML complex keys are tuples or scalars)."""
    return tuple(_freeze(k) for k in key) if isinstance(key, list) else key


def _list(data: Any, path: str) -> list[Any]:
    if not isinstance(data, list):
        raise CodecError(path, f"expected a list, got {type(data).__name__}")
    return data


def _span_to_dict(span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {"text": span.text}
    for flag in ("bold", "italic", "code", "strike"):
        if getattr(span, flag):
            out[flag] = True
    if span.link is not None:
        out["link"] = span.link
    return out


def _span_from_dict(data: Any, path: str) -> Span:
    if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
        raise CodecError(path, "a span needs a text")
    return Span(
        text=data["text"],
        bold=bool(data.get("bold", False)),
        italic=bool(data.get("italic", False)),
        code=bool(data.get("code", False)),
        strike=bool(data.get("strike", False)),
        link=data.get("link"),
    )


def _item_to_dict(item: Item) -> dict[str, Any]:
    return {
        "number": item.number,
        "title": item.title,
        "author": item.author,
        "url": item.url,
        "summary": [[_span_to_dict(s) for s in paragraph] for paragraph in item.summary],
        "categories": list(item.categories),
        "source_categories": list(item.source_categories),
    }


def _item_from_dict(data: Any, path: str) -> Item:
    if not isinstance(data, Mapping):
        raise CodecError(path, "an item must be a mapping")
    summary: list[Paragraph] = []
    for p, paragraph in enumerate(_list(data.get("summary", []), f"{path}.summary")):
        spans = _list(paragraph, f"{path}.summary[{p}]")
        summary.append(tuple(_span_from_dict(s, f"{path}.summary[{p}][{i}]") for i, s in enumerate(spans)))
    try:
        return Item(
            number=int(data["number"]),
            title=str(data["title"]),
            author=data.get("author"),
            url=data.get("url"),
            summary=tuple(summary),
            categories=tuple(_list(data.get("categories", []), f"{path}.categories")),
            source_categories=tuple(_list(data.get("source_categories", []), f"{path}.source_categories")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(path, f"bad item: {exc}") from exc


def _category_to_dict(category: Category) -> dict[str, Any]:
    return {
        "id": category.id,
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "aliases": list(category.aliases),
        "keywords": list(category.keywords),
        "color": category.color,
    }


def _category_from_dict(data: Any, path: str) -> Category:
    if not isinstance(data, Mapping):
        raise CodecError(path, "a category must be a mapping")
    try:
        return Category(
            id=str(data["id"]),
            name_zh=str(data["name_zh"]),
            name_en=str(data["name_en"]),
            aliases=tuple(_list(data.get("aliases", []), f"{path}.aliases")),
            keywords=tuple(_list(data.get("keywords", []), f"{path}.keywords")),
            color=data.get("color"),
        )
    except KeyError as exc:
        raise CodecError(path, f"missing {exc.args[0]!r}") from exc


def digest_to_dict(digest: Digest) -> dict[str, Any]:
    """The digest as plain JSON types; raises CodecError naming the metadata key it cannot store."""
    return {
        "v": FORMAT_VERSION,
        "id": digest.id,
        "title": digest.title,
        "date": encode_datetime(digest.date),
        "items": [_item_to_dict(item) for item in digest.items],
        "categories": list(digest.categories),
        "metadata": _encode_value(dict(digest.metadata), "metadata"),
        "source": digest.source,
        "extra_categories": [_category_to_dict(c) for c in digest.extra_categories],
    }


def digest_from_dict(data: Any) -> Digest:
    """The inverse of `digest_to_dict`; raises CodecError naming the field when data is malformed."""
    if not isinstance(data, Mapping):
        raise CodecError("digest", "expected a mapping")
    if data.get("v") != FORMAT_VERSION:
        raise CodecError("digest.v", f"unsupported format version {data.get('v')!r}")
    try:
        metadata = _decode_value(data.get("metadata", {}), "metadata")
        if not isinstance(metadata, dict):
            raise CodecError("digest.metadata", "expected a mapping")
        return Digest(
            id=str(data["id"]),
            title=str(data["title"]),
            date=decode_datetime(data["date"], "digest.date"),
            items=tuple(
                _item_from_dict(item, f"digest.items[{i}]")
                for i, item in enumerate(_list(data.get("items", []), "digest.items"))
            ),
            categories=tuple(_list(data.get("categories", []), "digest.categories")),
            metadata=metadata,
            source=str(data.get("source", "")),
            extra_categories=tuple(
                _category_from_dict(c, f"digest.extra_categories[{i}]")
                for i, c in enumerate(_list(data.get("extra_categories", []), "digest.extra_categories"))
            ),
        )
    except KeyError as exc:
        raise CodecError("digest", f"missing {exc.args[0]!r}") from exc


def filter_to_dict(filter: Filter) -> dict[str, Any]:
    """Canonical form (sorted categories), so equal filters serialise to equal text and cache alike."""
    return {
        "categories": sorted(filter.categories),
        "include": list(filter.include),
        "exclude": list(filter.exclude),
    }


def filter_from_dict(data: Any) -> Filter:
    if not isinstance(data, Mapping):
        raise CodecError("filter", "expected a mapping")
    return Filter(
        categories=frozenset(_list(data.get("categories", []), "filter.categories")),
        include=tuple(_list(data.get("include", []), "filter.include")),
        exclude=tuple(_list(data.get("exclude", []), "filter.exclude")),
    )
