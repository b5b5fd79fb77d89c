"""Properties of every renderer over arbitrary digests.

Text preservation rule: render the digest once with limits too large to ever split (the "unsplit"
render), and once normally. Reading the parts in order, each part's visible text, trimmed, must
occur in the unsplit visible text right where the previous part ended, after skipping only
whitespace. So parts may drop whitespace where they were cut, and nothing else: no character is
lost, added, reordered or repeated. For Discord the visible text is the content, then each embed's
title and description, in order; the zero-width spaces the renderer puts between touching style
markers (they depend on which spans end up side by side) are ignored on both sides.
"""

from __future__ import annotations

from datetime import UTC, datetime

from discord_limits import Limits, check_create_message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram_html import check_send_message, parse_telegram_html, utf16_length

from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.platforms.discord.markdown import ZWSP, visible
from bot.platforms.discord.render import DiscordLimits, plain_discord, render_discord
from bot.platforms.telegram.render import plain_telegram, render_telegram
from bot.render import RenderOptions, render_text
from bot.render.limits import TextLimit

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VOCABULARY = Vocabulary(
    [
        Category("industry", "人工智能产业", "AI Industry", color=0x3498DB),
        Category("policy", "政策与治理", "Policy & Governance"),
        Category("open-source", "开源", "Open-Source"),
        Category("other", "其他", "Other"),
    ]
)
HUGE_TEXT = TextLimit(10**9, "utf16")
HUGE_DISCORD = DiscordLimits(
    content=10**9, embeds_per_message=10**6, embed_title=10**9, embed_description=10**9, embed_total=10**10
)
TOKENS = [
    *"abcXYZ019 ",
    *"<>&*_`|~[]()#\"'\\-+.!?@:/",
    *"中文摘要模型。！？，“”「」",
    "😀",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🇨🇳",
    "e\u0301",
    "\n",
    "@everyone",
    "<@123>",
    "1. ",
    "# ",
    "https://example.com/a_b?x=1&y=(2)",
    " ",
    ". ",
]
URLS = [
    "https://example.com/a",
    "https://example.com/path_(x)?q=1&r=<2>",
    "http://例子.cn/路径",
    "https://example.com/" + "p" * 300,
]

short_text = st.lists(st.sampled_from(TOKENS), max_size=24).map("".join)
long_run = st.builds(
    lambda c, n: c * n, st.sampled_from(["a", "字", "😀", "*", "&"]), st.integers(3000, 10_000)
)
text = st.one_of(*[short_text] * 9, long_run)  # about one text in ten is a 3k-10k run
spans = st.builds(
    Span,
    text,
    bold=st.booleans(),
    italic=st.booleans(),
    code=st.booleans(),
    strike=st.booleans(),
    link=st.one_of(st.none(), st.sampled_from(URLS)),
)
items = st.builds(
    Item,
    number=st.integers(1, 999),
    title=st.one_of(*[short_text] * 5, long_run),
    author=st.one_of(st.none(), short_text, short_text, long_run.map(lambda s: s[:400])),
    url=st.one_of(st.none(), st.sampled_from(URLS)),
    summary=st.lists(st.lists(spans, min_size=1, max_size=5).map(tuple), max_size=3).map(tuple),
    categories=st.lists(
        st.sampled_from(["industry", "policy", "open-source", "other", "unknown-x"]), max_size=3
    ).map(tuple),
)
digests = st.builds(
    Digest,
    id=st.just("d"),
    title=short_text,
    date=st.just(datetime(2025, 11, 20, 12, 0, tzinfo=UTC)),
    items=st.lists(items, max_size=12).map(tuple),
    categories=st.lists(st.sampled_from(["人工智能产业", "policy", "未知分类"]), max_size=3).map(tuple),
)
small_items = items.filter(
    lambda i: len(i.title) < 500 and all(len(s.text) < 500 for p in i.summary for s in p)
)
small_digests = st.builds(
    Digest,
    id=st.just("d"),
    title=short_text,
    date=st.just(datetime(2025, 11, 20, 12, 0, tzinfo=UTC)),
    items=st.lists(small_items, max_size=6).map(tuple),
)
options = st.builds(
    RenderOptions,
    vocabulary=st.just(VOCABULARY),
    language=st.sampled_from(["zh", "en"]),
    selected=st.frozensets(st.sampled_from(["industry", "policy", "other"])),
    link_previews=st.booleans(),
)


def assert_same_text(whole: str, parts: list[str]) -> None:
    """The rule of the module docstring: parts, trimmed, tile `whole` up to whitespace between them."""
    position = 0
    for number, part in enumerate(parts):
        piece = part.strip()
        while position < len(whole) and whole[position].isspace():
            position += 1
        assert whole.startswith(piece, position), f"part {number} does not continue the text at {position}"
        position += len(piece)
    assert not whole[position:].strip(), "text missing after the last part"


def telegram_visible(payloads: list[dict]) -> list[str]:
    return [parse_telegram_html(p["text"])[0] for p in payloads]


def discord_segments(bodies: list[dict]) -> list[str]:
    segments: list[str] = []
    for body in bodies:
        segments.append(visible(body.get("content", "")))
        for embed in body.get("embeds", []):
            segments += [visible(embed.get("title", "")), visible(embed.get("description", ""))]
    return [s.replace(ZWSP, "") for s in segments if s.strip()]


def check_telegram(digest: Digest, render_options: RenderOptions) -> None:
    payloads = render_telegram(digest, render_options)
    for payload in payloads:
        shown = check_send_message(payload)
        text, _ = parse_telegram_html(payload["text"])
        assert utf16_length(text) <= 4096 and shown
        assert check_send_message(plain_telegram(payload)) == shown
    [whole] = telegram_visible(render_telegram(digest, render_options, limit=HUGE_TEXT))
    assert_same_text(whole, telegram_visible(payloads))


def check_discord(digest: Digest, render_options: RenderOptions, *, embeds: bool = True) -> None:
    bodies = render_discord(digest, render_options, embeds=embeds)
    for body in bodies:
        assert check_create_message(body) == []
        assert body["allowed_mentions"] == {"parse": []}
        assert check_create_message(plain_discord(body)) == []
        assert embeds or "embeds" not in body
    whole = "\n".join(
        discord_segments(render_discord(digest, render_options, limits=HUGE_DISCORD, embeds=embeds))
    )
    assert_same_text(whole, discord_segments(bodies))


def check_text(digest: Digest, render_options: RenderOptions) -> None:
    parts = render_text(digest, render_options)
    assert all(len(part) <= 4000 and part.strip() for part in parts)
    [whole] = render_text(digest, render_options, limit=TextLimit(10**9))
    assert_same_text(whole, parts)


@PROPERTY
@given(digests, options)
def test_every_renderer_keeps_its_platform_limits_and_all_the_text(
    digest: Digest, render_options: RenderOptions
) -> None:
    """One digest through every renderer (drawing big digests costs more than rendering them)."""
    check_telegram(digest, render_options)
    check_discord(digest, render_options)
    check_discord(digest, render_options, embeds=False)
    check_text(digest, render_options)


@SMALL
@given(small_digests, options, st.integers(24, 300))
def test_tiny_telegram_limits_cut_often_and_still_hold(
    digest: Digest, render_options: RenderOptions, size: int
) -> None:
    payloads = render_telegram(digest, render_options, limit=TextLimit(size, "utf16"))
    assert all(utf16_length(text) <= size for text in telegram_visible(payloads))
    [whole] = telegram_visible(render_telegram(digest, render_options, limit=HUGE_TEXT))
    assert_same_text(whole, telegram_visible(payloads))


@SMALL
@given(small_digests, options, st.integers(40, 400))
def test_tiny_discord_limits_cut_often_and_still_hold(
    digest: Digest, render_options: RenderOptions, size: int
) -> None:
    limits = DiscordLimits(
        content=size,
        embeds_per_message=3,
        embed_title=24,
        embed_description=size,
        embed_author=24,
        embed_footer=24,
        embed_total=size + 100,
    )
    checked = Limits(
        content=size, embeds=3, title=24, description=size, author=24, footer=24, total=size + 100
    )
    bodies = render_discord(digest, render_options, limits=limits)
    assert all(check_create_message(body, checked) == [] for body in bodies)
    whole = "\n".join(discord_segments(render_discord(digest, render_options, limits=HUGE_DISCORD)))
    assert_same_text(whole, discord_segments(bodies))
