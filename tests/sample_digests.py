"""Small digests in the real format's shape, and the vocabulary their categories come from.

The store, planner, engine and scheduler tests all feed the same kind of digest through the same
kind of source record; one definition keeps their expectations (item numbers, categories) in step.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.errors import DigestError
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.sources.base import Incoming

SHANGHAI = ZoneInfo("Asia/Shanghai")
VOCABULARY = Vocabulary(
    [
        Category("tech", "技术进展", "Tech"),
        Category("policy", "政策与治理", "Policy"),
        Category("jobs", "就业市场", "Jobs"),
        Category("industry", "人工智能产业", "Industry"),
        Category("other", "其他", "Other"),
    ]
)


def make_digest(digest_id: str = "2025.06.01.08", *, items: int = 3, extra: str = "") -> Digest:
    """A small digest in the real format's shape: numbered items, categories, rich summaries."""
    cats = ["tech", "policy", "jobs", "industry"]
    return Digest(
        id=digest_id,
        title=f"{digest_id} 过去4小时的新闻{extra}",
        date=datetime(2025, 6, 1, 8, 0, tzinfo=SHANGHAI),
        items=tuple(
            Item(
                number=n,
                title=f"第{n}条：测试新闻 {extra}",
                author="编辑部",
                url=f"https://news.example/{digest_id}/{n}",
                summary=((Span("这是摘要，"), Span("重点内容", bold=True), Span(f" item {n}.")),),
                categories=(cats[(n - 1) % len(cats)],),
            )
            for n in range(1, items + 1)
        ),
        categories=("技术进展", "政策与治理"),
        source="folder",
    )


def incoming(digest: Digest | DigestError, key: str = "/d/a.md", content_hash: str = "h1") -> Incoming:
    """What the folder source hands the store for `digest` (or for a file that failed to parse)."""
    return Incoming(source="folder", key=key, content_hash=content_hash, result=digest)
