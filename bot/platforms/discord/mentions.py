"""Role mentions at the top of a digest part, allowed for exactly those roles and nobody else."""

from __future__ import annotations

from typing import Any

from bot.platforms.discord.render import DISCORD

MAX_MENTIONS = 8  # the room the renderer keeps free in tagged bodies (parts.MENTION_ROOM)


def with_mentions(body: dict[str, Any], roles: list[str]) -> dict[str, Any]:
    """A copy of `body` whose content starts with the roles' mentions, and whose allowed_mentions
    lets exactly those roles be pinged: never @everyone/@here (parse stays empty), never users. A
    mention that would not fit the 2000-character content limit is left out."""
    content = str(body.get("content") or "")
    chosen: list[str] = []
    line = ""
    for role in roles[:MAX_MENTIONS]:
        candidate = f"{line} <@&{role}>".strip()
        if len(candidate) + 1 + len(content) > DISCORD.content:
            break
        chosen.append(role)
        line = candidate
    if not chosen:
        return body
    return dict(
        body,
        content=f"{line}\n{content}" if content else line,
        allowed_mentions={"parse": [], "roles": chosen},
    )
