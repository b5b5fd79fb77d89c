"""Markdown digest snippets for the parser tests: the bundled fixture files, and a body under a minimal
front matter, so a test states only the part of a post it is about.
"""

from __future__ import annotations

from pathlib import Path

from bot.core.model import Digest, plain_text
from bot.core.parse import load_digest, parse_digest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "digests"
HEAD = "---\ntitle: T\ndate: 2025-11-20T20:00:00+08:00\n---\n\n"


def fixture(name: str) -> Digest:
    """A good fixture file, loaded as the folder source loads it."""
    return load_digest(FIXTURES / "ok" / name)


def body(markdown: str) -> Digest:
    """`markdown` as the body of a post whose front matter is beside the point."""
    return parse_digest(HEAD + markdown, "inline.md")


def texts(digest: Digest) -> list[list[str]]:
    """Each item's summary paragraphs as plain text: what the item rules decide, without styles."""
    return [[plain_text(p) for p in item.summary] for item in digest.items]
