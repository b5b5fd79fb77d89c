"""Plain-text renderer for the console and logs."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.platforms import registry
from bot.render import RenderOptions, render_text
from bot.render.limits import TEXT_PART, TextLimit

VOCABULARY = Vocabulary(
    [Category("industry", "人工智能产业", "AI Industry"), Category("tech", "技术进展", "Tech")]
)
DATE = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def make_digest(*items: Item) -> Digest:
    return Digest(
        id="d", title="Digest <title> & *more*", date=DATE, items=items, categories=("人工智能产业",)
    )


def test_layout_is_plain_text_without_markup() -> None:
    item = Item(
        2,
        "Title <b>",
        "Ada",
        "https://e.com/x",
        summary=(
            (Span("Bold", bold=True), Span(" and "), Span("link", link="https://l.com")),
            (Span("Second."),),
        ),
        categories=("industry", "tech"),
    )
    [text] = render_text(make_digest(item), RenderOptions(VOCABULARY, timezone=ZoneInfo("Asia/Shanghai")))
    assert text == (
        "Digest <title> & *more*\n"
        "2025-11-20 20:00 (Asia/Shanghai)\n"
        "人工智能产业\n"
        "\n"
        "2. Title <b> — Ada\n"
        "https://e.com/x\n"
        "Bold and link\n"
        "Second.\n"
        "[人工智能产业 · 技术进展]"
    )


def test_english_names_and_no_url_line_without_a_url() -> None:
    [text] = render_text(
        make_digest(Item(1, "T", categories=("tech",))), RenderOptions(VOCABULARY, language="en")
    )
    assert text.endswith("\n\n1. T\n[Tech]")


def test_parts_stay_within_the_limit_and_lose_nothing() -> None:
    items = [Item(n, f"Item {n}", summary=((Span("A sentence that repeats. " * 30),),)) for n in range(1, 30)]
    parts = render_text(make_digest(*items), RenderOptions(VOCABULARY))
    assert len(parts) > 1 and all(len(part) <= TEXT_PART.max_size for part in parts)
    assert (
        "\n\n".join(parts)
        == render_text(make_digest(*items), RenderOptions(VOCABULARY), limit=TextLimit(10**9))[0]
    )


def test_registry_entry_is_the_text_renderer() -> None:
    assert registry.default_renderers()["console"] is render_text
