"""Discord's Create Message limits, checked the way Discord checks them.

The oracle of the renderer tests and the validator of the fake Discord REST server: it knows nothing
of the renderer, only the documented limits (characters counted as Unicode code points), and lists
every problem, each as "path: message" with Discord's own wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

EMPTY_MESSAGE = "Cannot send an empty message"
TOO_BIG = "embeds: Embed size exceeds maximum size of {total}"
_MENTION_TYPES = {"roles", "users", "everyone"}


@dataclass(frozen=True, slots=True)
class Limits:
    content: int = 2000
    embeds: int = 10
    title: int = 256
    description: int = 4096
    fields: int = 25
    field_name: int = 256
    field_value: int = 1024
    footer: int = 2048
    author: int = 256
    total: int = 6000


DISCORD_LIMITS = Limits()


def check_create_message(body: Any, limits: Limits = DISCORD_LIMITS) -> list[str]:
    """Every limit `body` (a Create Message JSON body) violates; empty when Discord would accept it."""
    if not isinstance(body, Mapping):
        return ["(body): Must be a JSON object."]
    problems: list[str] = []
    content = body.get("content")
    if content is not None:
        if not isinstance(content, str):
            problems.append("content: Must be a string.")
        elif len(content) > limits.content:
            problems.append(f"content: Must be {limits.content} or fewer in length.")
    embeds = body.get("embeds")
    if embeds is not None and not isinstance(embeds, list):
        problems.append("embeds: Must be an array.")
        embeds = None
    if embeds:
        problems += _check_embeds(embeds, limits)
    problems += _check_allowed_mentions(body.get("allowed_mentions"))
    has_content = isinstance(content, str) and content.strip() != ""
    has_other = any(body.get(key) for key in ("embeds", "sticker_ids", "attachments", "components", "poll"))
    if not has_content and not has_other:
        problems.append(EMPTY_MESSAGE)
    return problems


def error_response(problems: list[str]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON a fake server answers for `problems` (50006 empty, else 50035)."""
    if problems == [EMPTY_MESSAGE]:
        return 400, {"code": 50006, "message": EMPTY_MESSAGE}
    errors: dict[str, Any] = {}
    for problem in problems:
        path, _, message = problem.partition(": ")
        node = errors
        for key in path.split("."):
            node = node.setdefault(key, {})
        node.setdefault("_errors", []).append({"code": "BASE_TYPE_INVALID", "message": message})
    return 400, {"code": 50035, "message": "Invalid Form Body", "errors": errors}


def embed_text_length(embed: Mapping[str, Any]) -> int:
    """Characters an embed counts toward the 6000 total: title, description, field names and values,
    footer text and author name."""
    total = _length(embed.get("title")) + _length(embed.get("description"))
    total += _length(_get(embed, "footer", "text")) + _length(_get(embed, "author", "name"))
    for field in embed.get("fields") or ():
        if isinstance(field, Mapping):
            total += _length(field.get("name")) + _length(field.get("value"))
    return total


def _check_embeds(embeds: list[Any], limits: Limits) -> list[str]:
    problems: list[str] = []
    if len(embeds) > limits.embeds:
        problems.append(f"embeds: Must be {limits.embeds} or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        path = f"embeds.{index}"
        if not isinstance(embed, Mapping):
            problems.append(f"{path}: Must be an object.")
            continue
        problems += _text(embed, "title", f"{path}.title", limits.title)
        problems += _text(embed, "description", f"{path}.description", limits.description)
        problems += _check_url(embed.get("url"), f"{path}.url")
        color = embed.get("color")
        if color is not None and (
            isinstance(color, bool) or not isinstance(color, int) or not 0 <= color <= 0xFFFFFF
        ):
            problems.append(f"{path}.color: Must be an integer between 0 and 16777215.")
        problems += _named_object(embed, "author", "name", path, limits.author)
        problems += _named_object(embed, "footer", "text", path, limits.footer)
        problems += _check_fields(embed.get("fields"), path, limits)
        total += embed_text_length(embed)
    if total > limits.total:
        problems.append(TOO_BIG.format(total=limits.total))
    return problems


def _check_fields(fields: Any, path: str, limits: Limits) -> list[str]:
    if fields is None:
        return []
    if not isinstance(fields, list):
        return [f"{path}.fields: Must be an array."]
    problems: list[str] = []
    if len(fields) > limits.fields:
        problems.append(f"{path}.fields: Must be {limits.fields} or fewer in length.")
    for index, field in enumerate(fields):
        where = f"{path}.fields.{index}"
        if not isinstance(field, Mapping):
            problems.append(f"{where}: Must be an object.")
            continue
        problems += _text(field, "name", f"{where}.name", limits.field_name, required=True)
        problems += _text(field, "value", f"{where}.value", limits.field_value, required=True)
    return problems


def _named_object(embed: Mapping[str, Any], key: str, inner: str, path: str, limit: int) -> list[str]:
    value = embed.get(key)
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [f"{path}.{key}: Must be an object."]
    return _text(value, inner, f"{path}.{key}.{inner}", limit, required=True)


def _text(obj: Mapping[str, Any], key: str, path: str, limit: int, *, required: bool = False) -> list[str]:
    value = obj.get(key)
    if value is None:
        return [f"{path}: This field is required"] if required else []
    if not isinstance(value, str):
        return [f"{path}: Must be a string."]
    if required and not value.strip():
        return [f"{path}: This field is required"]
    if len(value) > limit:
        return [f"{path}: Must be {limit} or fewer in length."]
    return []


def _check_url(url: Any, path: str) -> list[str]:
    if url is None:
        return []
    if not isinstance(url, str) or any(c.isspace() for c in url):
        return [f"{path}: Not a well formed URL."]
    try:
        parts = urlsplit(url)
    except ValueError:
        return [f"{path}: Not a well formed URL."]
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [f"{path}: Not a well formed URL."]
    return []


def _check_allowed_mentions(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return ["allowed_mentions: Must be an object."]
    parse = value.get("parse", [])
    if not isinstance(parse, list) or not all(isinstance(p, str) and p in _MENTION_TYPES for p in parse):
        return ["allowed_mentions.parse: Must be a list of roles, users or everyone."]
    problems: list[str] = []
    for kind in ("roles", "users"):
        ids = value.get(kind)
        if ids is None:
            continue
        if not isinstance(ids, list) or len(ids) > 100 or not all(str(i).isdigit() for i in ids):
            problems.append(f"allowed_mentions.{kind}: Must be at most 100 snowflakes.")
        elif kind in parse:
            problems.append(f"allowed_mentions: parse {kind} and {kind} are mutually exclusive.")
    return problems


def _get(obj: Mapping[str, Any], key: str, inner: str) -> Any:
    value = obj.get(key)
    return value.get(inner) if isinstance(value, Mapping) else None


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0
