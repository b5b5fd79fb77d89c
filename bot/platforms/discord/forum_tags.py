"""Forum channels' tags: which tag a digest post gets, and whether a forum that requires one has one.

A post gets the configured `discord.forum_tag` when the forum has a tag of that name, else the tag
named like the first of the post's categories that has one (by id, Chinese or English name or
alias, case-insensitively). Moderated tags only when the bot may manage threads there. A forum that
requires a tag (REQUIRE_TAG) and has none of these is refused at /digest subscribe time.
"""

from __future__ import annotations

from collections.abc import Iterable

import discord

from bot.core.model import Vocabulary

REQUIRED_TAG = 40067  # "A tag is required to create a forum post in this channel"


def _usable(forum: discord.ForumChannel) -> list[discord.ForumTag]:
    me = forum.guild.me
    moderate = me is not None and forum.permissions_for(me).manage_threads
    return [tag for tag in forum.available_tags if moderate or not tag.moderated]


def _named(tags: list[discord.ForumTag], names: Iterable[str]) -> discord.ForumTag | None:
    wanted = {name.casefold() for name in names}
    return next((tag for tag in tags if tag.name.casefold() in wanted), None)


def post_tag(
    forum: discord.ForumChannel, categories: list[str], vocabulary: Vocabulary, configured: str | None
) -> discord.ForumTag | None:
    """The tag a new post with these categories gets, if any."""
    tags = _usable(forum)
    if configured is not None:
        tag = _named(tags, [configured])
        if tag is not None:
            return tag
    for category_id in categories:
        category = vocabulary.get(category_id)
        tag = _named(tags, category.names() if category is not None else [category_id])
        if tag is not None:
            return tag
    return None


def missing_tag(
    forum: discord.ForumChannel, categories: Iterable[str], vocabulary: Vocabulary, configured: str | None
) -> bool:
    """Whether the forum requires a tag and no post of these categories (empty: all) could get one."""
    if not forum.flags.require_tag:
        return False
    chosen = list(categories) or [category.id for category in vocabulary]
    return post_tag(forum, chosen, vocabulary, configured) is None


def tag_names(forum: discord.ForumChannel) -> str:
    return ", ".join(tag.name for tag in _usable(forum)) or "-"
