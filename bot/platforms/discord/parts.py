"""Which categories each rendered Discord body holds, carried in the body for the sender.

Role mentions are per subscription, but bodies are rendered once per reading and shared by every
chat that reads alike, so the mention cannot be written at render time. The renderer instead
records the category ids of the items each body shows under `CATEGORIES_KEY`; the sender reads
them, adds the subscription's role mentions, and strips the key (`api_body`) before the body goes
to Discord. `digestbot preview --json` strips it too, so it shows exact API bodies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.model import Category, Item, Vocabulary
from bot.render.document import item_categories
from bot.render.split import Block

CATEGORIES_KEY = "digestbot_categories"
# Room kept free in a tagged body's content for a line of role mentions (8 mentions of 24 characters).
MENTION_ROOM = 200


def category_ids(item: Item, vocabulary: Vocabulary) -> list[str]:
    """The item's categories as ids (a digest's own category that is not in the vocabulary: its name)."""
    return [c.id if isinstance(c, Category) else c for c in item_categories(item, vocabulary)]


def api_body(payload: Any) -> Any:
    """The body exactly as Discord takes it: without the categories the sender reads."""
    if isinstance(payload, dict) and CATEGORIES_KEY in payload:
        return {key: value for key, value in payload.items() if key != CATEGORIES_KEY}
    return payload


def part_categories(payload: Any) -> list[str]:
    """The category ids a body was tagged with (none for an untagged or foreign body)."""
    found = payload.get(CATEGORIES_KEY) if isinstance(payload, dict) else None
    return [str(c) for c in found] if isinstance(found, list) else []


def embed_owners(chains: Sequence[Sequence[dict[str, Any]]]) -> dict[int, int]:
    """id(embed) -> the index of the item it shows."""
    return {id(embed): index for index, chain in enumerate(chains) for embed in chain}


def markdown_owners(parts: Sequence[Sequence[Block]], items: Sequence[Block]) -> list[list[int]]:
    """The indexes of the item blocks each part shows: by the identity of their lines (the splitter
    keeps uncut lines as they are), and the item a part continues when it starts inside one."""
    owner: dict[int, int] = {}
    starts: set[int] = set()
    for index, block in enumerate(items):
        for line in block.lines:
            if line:
                owner.setdefault(id(line), index)
        if block.lines:
            starts.add(id(block.lines[0]))
    current: int | None = None
    shown: list[list[int]] = []
    for part in parts:
        first = part[0].lines[0] if part and part[0].lines else None
        carried = current is not None and (first is None or id(first) not in starts)
        seen: list[int] = [current] if carried and current is not None else []
        for block in part:
            for line in block.lines:
                found = owner.get(id(line))
                if found is not None:
                    current = found
                    if found not in seen:
                        seen.append(found)
        shown.append(seen)
    return shown


def tag(body: dict[str, Any], indexes: Sequence[int], ids: Sequence[Sequence[str]]) -> None:
    """Record the categories of the items `indexes` in `body`, in order, each once."""
    tagged: list[str] = []
    for index in indexes:
        tagged += [c for c in ids[index] if c not in tagged]
    body[CATEGORIES_KEY] = tagged
