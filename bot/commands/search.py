"""/search WORDS: the archive through this chat's filter (categories, keywords), newest first, paged.

The first page comes from the typed words; the page buttons run `/search page <token> <n>`, where
the token names the query in the store (button data is too small for a query), so any page can be
reached again after a restart, and a page number is checked like any argument.
"""

from __future__ import annotations

import re

from bot.commands.handlers import CommandHandlers
from bot.commands.messages import text
from bot.commands.model import Command, Pager, Reply
from bot.commands.reports import when
from bot.core.search_query import MAX_OFFSET, RECENT_DAYS, Hit, QueryError, parse_query
from bot.core.select import compile_filter
from bot.store.search import MAX_KEYWORD_SCAN
from bot.store.subscriptions import Subscription

PAGE_SIZE = 5
MAX_PAGE = MAX_OFFSET // PAGE_SIZE + 1
MAX_TITLE_CHARS = 200  # a hit's title as shown: five hits and their links fit one message anywhere
MAX_LINK_CHARS = 300
_PAGE = re.compile(r"[0-9]{1,4}")  # ASCII digits only: int() refuses some that isdigit() accepts
_TOKEN = re.compile(r"[0-9]{1,18}")


class SearchHandlers(CommandHandlers):
    """The /search handler, beside the other commands' (it names categories as they do)."""

    async def search(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        args = command.args
        if args[:1] == ("page",) and len(args) == 3:
            return await self._page(args[1], args[2], sub, language)
        typed = command.text or " ".join(args)
        try:
            query = parse_query(typed)
        except QueryError as exc:
            return Reply(text("search_usage", language, reason=exc.localized(language)), error=True)
        token = await self.store.remember_query(query.text)
        return await self._show(query.text, str(token), 1, sub, language)

    async def _page(self, token: str, page: str, sub: Subscription | None, language: str) -> Reply:
        """A page button's press (or the same typed): the remembered query at that page."""
        if not (_PAGE.fullmatch(page) and 1 <= int(page) <= MAX_PAGE):
            return Reply(text("search_page_bad", language, limit=MAX_PAGE), error=True)
        known = await self.store.remembered_query(int(token)) if _TOKEN.fullmatch(token) else None
        if known is None:
            return Reply(text("search_expired", language), error=True)
        return await self._show(known, token, int(page), sub, language)

    async def _show(
        self, typed: str, token: str, page: int, sub: Subscription | None, language: str
    ) -> Reply:
        query = parse_query(typed)  # stored queries were checked before they were stored
        subscribed = sub is not None and sub.status != "unsubscribed"
        categories = sub.filter.categories if sub is not None and subscribed else frozenset()
        timezone = sub.timezone if sub is not None else self.default_timezone
        rules = compile_filter(sub.filter) if sub is not None and subscribed else None
        keep = rules.keeps_text if rules is not None and rules.reads_text else None
        found = await self.store.search(
            query, categories, keep=keep, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        shown = query.text
        notes = text("search_recent", language, days=RECENT_DAYS) if found.recent_only else ""
        if categories:
            notes += text("search_filtered", language, categories=self.category_names(categories, language))
        if keep is not None:
            notes += text("search_keywords", language, scan=f"{MAX_KEYWORD_SCAN:,}")
        if not found.hits:
            key = "search_none" if page == 1 else "search_no_more"
            pager = _pager(token, page, more=False, language=language)
            return Reply(text(key, language, query=shown, page=page) + notes, pager=pager)
        start = (page - 1) * PAGE_SIZE + 1
        hits = "\n".join(
            _hit_line(n, hit, timezone, language) for n, hit in enumerate(found.hits, start=start)
        )
        body = text("search_results", language, query=shown, page=page, hits=hits) + notes
        return Reply(body, pager=_pager(token, page, more=found.more, language=language))


def _hit_line(n: int, hit: Hit, timezone: str, language: str) -> str:
    title = " ".join(hit.title.split())
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1] + "…"
    link = (hit.url or "")[:MAX_LINK_CHARS]
    date = when(hit.published, timezone)
    return text("search_hit", language, n=n, date=date, number=hit.number, title=title, link=link).rstrip()


def _pager(token: str, page: int, *, more: bool, language: str) -> Pager:
    """The page's place among the results: the neighbouring pages, when there are any."""
    previous = page - 1 if page > 1 else None
    following = page + 1 if more and page < MAX_PAGE else None
    labels = (text("search_previous", language), text("search_next", language))
    return Pager("search", token, previous, following, labels)
