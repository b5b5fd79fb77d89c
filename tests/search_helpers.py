"""Digests with chosen item texts for the search tests (store, commands, CLI, platforms)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sample_digests import SHANGHAI, incoming

from bot.core.model import Digest, Item, Span
from bot.sources.base import Incoming
from bot.store.db import Store

DATE = datetime(2025, 6, 1, 8, 0, tzinfo=SHANGHAI)

# (title, summary, categories) of each item of the default archive digest.
ITEMS = (
    ("某车企工厂引入人形机器人执行夜班搬运任务", "双足人形机器人在夜班负责零部件搬运。", ("industry",)),
    ("Sparse attention cuts long-context cost", "A new Transformer training method, 60% cheaper.", ("tech",)),
    ("欧盟发布通用AI模型透明度细则", "要求公开训练数据摘要。", ("policy",)),
    ("招聘市场：AI岗位扩招", "机器学习工程师需求增长。", ("jobs",)),
)


def archive_digest(
    digest_id: str,
    items: tuple[tuple[str, str, tuple[str, ...]], ...] = ITEMS,
    *,
    date: datetime = DATE,
) -> Digest:
    """A digest whose items have exactly these titles, summaries and categories, numbered from 1."""
    return Digest(
        id=digest_id,
        title=f"{digest_id} 摘要",
        date=date,
        items=tuple(
            Item(
                number=n,
                title=title,
                author="编辑部",
                url=f"https://news.example/{digest_id}/{n}",
                summary=((Span(summary),),),
                categories=categories,
            )
            for n, (title, summary, categories) in enumerate(items, start=1)
        ),
        source="folder",
    )


async def store_digest(store: Store, digest: Digest, *, key: str | None = None, version: str = "h1") -> int:
    """Record `digest` as the folder source would; returns its row's seq."""
    arrived: Incoming = incoming(digest, key=key or f"/d/{digest.id}.md", content_hash=version)
    result = await store.record_incoming(arrived)
    assert result.seq is not None, result
    return result.seq


def days_ago(days: int) -> datetime:
    return DATE - timedelta(days=days)
