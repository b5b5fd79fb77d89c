"""Discord's error answers and request checks for the loopback Discord: JSON bodies, 400 50035 with
the list of problems, 429s, and the shape rules for interaction callbacks, components and commands.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web
from discord_limits import check_create_message, error_response
from fake_discord_model import LOCALES, NAME, snowflake


def json_answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON exactly as Discord labels it: `Content-Type: application/json`, no charset (discord.py
    only parses bodies with that exact header)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_answer(status: int, code: int, message: str) -> web.Response:
    return json_answer({"message": message, "code": code}, status=status)


def invalid_answer(problems: list[str]) -> web.Response:
    """400 Invalid Form Body (50035) with Discord's nested `errors`, or 50006 for an empty message."""
    status, body = error_response(problems)
    return json_answer(body, status=status)


def rate_limited_answer(retry_after: float, is_global: bool) -> web.Response:
    headers = {
        "Retry-After": str(max(1, round(retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": "fakebucket",
        "X-RateLimit-Scope": "global" if is_global else "user",
        "Via": "1.1 google",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
        "code": 0,
    }
    return json_answer(body, status=429, headers=headers)


def validate_callback(body: Any) -> list[str]:
    if not isinstance(body, dict) or body.get("type") not in (1, 4, 5, 6, 7, 8, 9):
        return ["type: unknown interaction callback type"]
    data = body.get("data") or {}
    if body["type"] == 8:
        choices = data.get("choices")
        if not isinstance(choices, list) or len(choices) > 25:
            return ["data.choices: at most 25 choices"]
        return [
            f"data.choices.{i}: name and value must be 1-100 characters"
            for i, c in enumerate(choices)
            if not (1 <= len(str(c.get("name", ""))) <= 100 and 1 <= len(str(c.get("value", ""))) <= 100)
        ]
    components = validate_components(data.get("components") or [])
    if body["type"] == 4 or (body["type"] == 7 and ("content" in data or "embeds" in data)):
        return check_create_message(data) + components
    return components


def validate_components(rows: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if len(rows) > 5:
        problems.append("components: at most 5 action rows")
    for r, row in enumerate(rows):
        for c, component in enumerate(row.get("components", [])):
            where = f"components.{r}.components.{c}"
            custom_id = component.get("custom_id", "")
            if not 1 <= len(custom_id) <= 100:
                problems.append(f"{where}.custom_id: must be 1-100 characters")
            if component.get("type") == 2 and not 1 <= len(component.get("label", "")) <= 80:
                problems.append(f"{where}.label: must be 1-80 characters")
            if component.get("type") == 3:
                options = component.get("options", [])
                if not 1 <= len(options) <= 25:
                    problems.append(f"{where}.options: must have 1-25 options")
                if component.get("max_values", 1) > len(options):
                    problems.append(f"{where}.max_values: more than the options")
                for o, option in enumerate(options):
                    if (
                        not 1 <= len(option.get("label", "")) <= 100
                        or not 1 <= len(option.get("value", "")) <= 100
                    ):
                        problems.append(f"{where}.options.{o}: label and value must be 1-100 characters")
    return problems


def validate_commands(
    commands: Any, application_id: str, guild_id: str | None
) -> tuple[list[dict], list[str]]:
    """Check a bulk overwrite like Discord does (names, lengths, localisations) and assign ids."""
    problems: list[str] = []
    if not isinstance(commands, list) or len(commands) > 100:
        return [], ["commands: at most 100"]
    registered = []
    for i, command in enumerate(commands):
        problems += check_named(command, f"{i}")
        stored = dict(command, id=snowflake(), application_id=application_id, version=snowflake())
        stored.setdefault("type", 1)
        stored.setdefault("options", [])
        stored.setdefault("default_member_permissions", None)
        if stored["default_member_permissions"] is not None:  # Discord answers with a string
            stored["default_member_permissions"] = str(stored["default_member_permissions"])
        if guild_id:
            stored["guild_id"] = guild_id
        registered.append(stored)
    return registered, problems


def check_named(item: dict[str, Any], where: str) -> list[str]:
    problems = []
    name = item.get("name", "")
    if not NAME.match(name) or name != name.lower():
        problems.append(f"{where}.name: invalid command name {name!r}")
    if item.get("type", 1) in (1, None) and not 1 <= len(item.get("description", "")) <= 100:
        problems.append(f"{where}.description: must be 1-100 characters")
    for key in ("name_localizations", "description_localizations"):
        for locale, text in (item.get(key) or {}).items():
            if locale not in LOCALES:
                problems.append(f"{where}.{key}.{locale}: unknown locale")
            limit = 32 if key == "name_localizations" else 100
            if not 1 <= len(text) <= limit:
                problems.append(f"{where}.{key}.{locale}: must be 1-{limit} characters")
            if key == "name_localizations" and (not NAME.match(text) or text != text.lower()):
                problems.append(f"{where}.{key}.{locale}: invalid name {text!r}")
    options = item.get("options") or []
    if len(options) > 25:
        problems.append(f"{where}.options: at most 25")
    for j, option in enumerate(options):
        problems += check_named(dict(option, type=1), f"{where}.options.{j}")
        for k, choice in enumerate(option.get("choices") or []):
            if not 1 <= len(choice.get("name", "")) <= 100:
                problems.append(f"{where}.options.{j}.choices.{k}.name: must be 1-100 characters")
    return problems
