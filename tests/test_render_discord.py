"""Discord renderer (checked against the documented limits) and the limits checker itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from discord_limits import EMPTY_MESSAGE, Limits, check_create_message, embed_text_length, error_response

from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.platforms.discord.markdown import ZWSP, code, escape, visible
from bot.platforms.discord.render import (
    DEFAULT_COLOR,
    SUPPRESS_EMBEDS,
    DiscordLimits,
    plain_discord,
    render_discord,
)
from bot.render import RenderOptions

VOCABULARY = Vocabulary(
    [
        Category("industry", "人工智能产业", "AI Industry", color=0xE67E22),
        Category("tech", "技术进展", "Tech Progress"),
        Category("other", "其他", "Other"),
    ]
)
DATE = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def make_digest(*items: Item, title: str = "2025.11.20.20 全球AI动态") -> Digest:
    return Digest(id="d", title=title, date=DATE, items=items, categories=("人工智能产业", "技术进展"))


def options(**kwargs: object) -> RenderOptions:
    return RenderOptions(VOCABULARY, timezone=ZoneInfo("Asia/Shanghai"), **kwargs)  # type: ignore[arg-type]


def all_valid(bodies: list[dict]) -> bool:
    return all(check_create_message(body) == [] for body in bodies)


def rich_item() -> Item:
    summary = (
        (
            Span("Faster "),
            Span("10x", bold=True),
            Span(", "),
            Span("open", italic=True),
            Span(" "),
            Span("a`b", code=True),
            Span(" "),
            Span("gone", strike=True),
            Span(" "),
            Span("paper", link="https://example.org/p(1)"),
        ),
    )
    return Item(7, "New *TPU* [v7]", "Ada_Lovelace", "https://example.com/a_b", summary, ("industry", "tech"))


def test_header_is_escaped_content_and_every_body_disables_mentions() -> None:
    bodies = render_discord(make_digest(rich_item(), title="#1 digest_of *AI*"), options())
    assert all_valid(bodies)
    assert (
        bodies[0]["content"]
        == "**\\#1 digest\\_of \\*AI\\***\n2025-11-20 20:00 \\(Asia/Shanghai\\)\n人工智能产业 · 技术进展"
    )
    assert visible(bodies[0]["content"]).splitlines()[0] == "#1 digest_of *AI*"
    assert all(body["allowed_mentions"] == {"parse": []} for body in bodies)


def test_an_item_is_one_embed_with_title_url_author_description_footer_and_color() -> None:
    [body] = render_discord(make_digest(rich_item()), options())
    [embed] = body["embeds"]
    assert embed["title"] == "7\\. New \\*TPU\\* \\[v7\\]"
    assert embed["url"] == "https://example.com/a_b"
    assert embed["author"] == {"name": "Ada_Lovelace"}
    assert (
        embed["description"]
        == "Faster **10x**, *open* ``a`b`` ~~gone~~ [paper](https://example.org/p%281%29)"
    )
    assert embed["footer"] == {"text": "人工智能产业 · 技术进展"}
    assert embed["color"] == 0xE67E22
    assert visible(embed["description"]) == "Faster 10x, open a`b gone paper"


def test_color_falls_back_to_the_default_when_the_first_category_has_none() -> None:
    [body] = render_discord(make_digest(Item(1, "t", categories=("tech", "industry"))), options())
    assert body["embeds"][0]["color"] == DEFAULT_COLOR
    assert "description" not in body["embeds"][0]


@pytest.mark.parametrize(
    "text",
    [
        "a*b*c _d_ ~~e~~ `f` ||g|| \\h [i](j) <k>",
        "# heading",
        "## heading",
        "-# subtext",
        "- list item",
        "+ list item",
        "> quote",
        ">>> quote",
        "1. numbered",
        "12) numbered",
        "@everyone and @here",
        "<@123456789012345678> <#1> <:e:1> <t:1:R>",
    ],
)
def test_nothing_in_a_summary_formats_or_mentions(text: str) -> None:
    [body] = render_discord(make_digest(Item(1, "t", summary=((Span(text),),))), options())
    description = body["embeds"][0]["description"]
    assert visible(description).replace(ZWSP, "") == text
    assert "@everyone" not in description and "@here" not in description
    assert "<@" not in description.replace("\\<@", "")
    first = description[0]
    assert first == "\\" or first.isdigit() or first not in "#->+*"


def test_leading_markers_are_escaped_but_numbers_inside_text_are_not() -> None:
    assert escape("1. one") == "1\\. one"
    assert escape("2025.11.20") == "2025.11.20"
    assert escape("- x - y") == "\\- x - y"


def test_bare_urls_are_kept_intact_and_do_not_unfurl() -> None:
    assert escape("see https://e.com/a_b*c. next") == "see <https://e.com/a_b*c>. next"
    assert visible(escape("see https://e.com/a_b*c. next")) == "see https://e.com/a_b*c. next"


@pytest.mark.parametrize("text", ["a`b", "``x``", "`", "a ``` b", " x "])
def test_code_shows_backticks_verbatim(text: str) -> None:
    assert visible(code(text)) == text


def test_adjacent_styled_spans_get_a_separator() -> None:
    summary = ((Span("a", bold=True), Span("b", italic=True), Span("c", code=True)),)
    [body] = render_discord(make_digest(Item(1, "t", summary=summary)), options())
    assert body["embeds"][0]["description"] == f"**a**{ZWSP}*b*{ZWSP}`c`"


def test_a_long_title_continues_in_the_description() -> None:
    title = "Word " * 80 + "END"
    [body] = render_discord(make_digest(Item(1, title, summary=((Span("Summary."),),))), options())
    embed = body["embeds"][0]
    assert len(embed["title"]) <= 256
    shown = visible(embed["title"]) + " " + visible(embed["description"])
    assert shown.split() == f"1. {title} Summary.".split()
    assert visible(embed["description"]).split("\n")[0].endswith("END")


def test_a_long_description_continues_in_untitled_embeds_cut_at_sentences() -> None:
    summary = ((Span("这是一个测试句子。" * 1200),),)
    bodies = render_discord(
        make_digest(Item(1, "long", "A", "https://e.com", summary, ("industry",))), options()
    )
    assert all_valid(bodies)
    embeds = [embed for body in bodies for embed in body.get("embeds", [])]
    assert len(embeds) >= 3
    assert "title" in embeds[0] and all("title" not in e and "author" not in e for e in embeds[1:])
    assert all(e["description"].endswith("。") for e in embeds)
    assert all("footer" not in e for e in embeds[:-1]) and embeds[-1]["footer"] == {"text": "人工智能产业"}
    assert all(e["color"] == 0xE67E22 for e in embeds)
    assert "".join(visible(e["description"]) for e in embeds) == "这是一个测试句子。" * 1200


def test_embeds_are_packed_ten_per_message_within_6000_characters() -> None:
    items = [Item(n, f"Item {n}", summary=((Span("Sentence here. " * 60),),)) for n in range(1, 31)]
    bodies = render_discord(make_digest(*items), options())
    assert all_valid(bodies)
    assert all(len(b.get("embeds", [])) <= 10 for b in bodies)
    assert all(sum(embed_text_length(e) for e in b.get("embeds", [])) <= 6000 for b in bodies)
    titles = [visible(e["title"]) for b in bodies for e in b.get("embeds", [])]
    assert titles == [f"{n}. Item {n}" for n in range(1, 31)]
    assert "content" in bodies[0] and all("content" not in b for b in bodies[1:])


def test_an_items_embeds_stay_in_one_message_when_they_fit() -> None:
    small = [Item(n, f"S{n}", summary=((Span("x. " * 300),),)) for n in range(1, 5)]
    big = Item(5, "Big", summary=((Span("Long sentence is here. " * 250),),))
    bodies = render_discord(make_digest(*small, big), options(), limits=DiscordLimits())
    item_five = [
        i for i, b in enumerate(bodies) for e in b.get("embeds", []) if e.get("title", "").startswith("5")
    ]
    assert len(bodies) == 2 and item_five == [1]


def test_markdown_mode_sends_content_only_with_suppressed_link_previews() -> None:
    bodies = render_discord(make_digest(rich_item()), options(), embeds=False)
    assert all_valid(bodies)
    [body] = bodies
    assert "embeds" not in body and body["flags"] == SUPPRESS_EMBEDS
    assert (
        "7\\. **[New \\*TPU\\* \\[v7\\]](<https://example.com/a_b>)** — *Ada\\_Lovelace*" in body["content"]
    )
    assert "[paper](<https://example.org/p%281%29>)" in body["content"]
    assert body["content"].endswith("*人工智能产业 · 技术进展*")


def test_markdown_mode_with_link_previews_uses_plain_links() -> None:
    [body] = render_discord(make_digest(rich_item()), options(link_previews=True), embeds=False)
    assert "flags" not in body and "[paper](https://example.org/p%281%29)" in body["content"]


def test_markdown_mode_splits_at_2000_characters_between_items() -> None:
    items = [Item(n, f"Item {n}", summary=((Span("Some *words* here. " * 12),),)) for n in range(1, 40)]
    bodies = render_discord(make_digest(*items), options(), embeds=False)
    assert len(bodies) > 1 and all_valid(bodies)
    assert all(re.match(r"\d+\. Item \d+\n", visible(b["content"])) for b in bodies[1:])
    shown = "\n\n".join(visible(b["content"]) for b in bodies)
    assert [int(n) for n in re.findall(r"^(\d+)\. Item", shown, re.MULTILINE)] == list(range(1, 40))


def test_a_link_too_long_for_a_part_degrades_to_its_text() -> None:
    summary = ((Span("the link text", link="https://e.com/" + "p" * 3000),),)
    bodies = render_discord(make_digest(Item(1, "t", summary=summary)), options(), embeds=False)
    assert all_valid(bodies)
    assert "the link text" in visible("".join(b["content"] for b in bodies))


def test_plain_discord_is_unformatted_content_within_2000() -> None:
    [body] = render_discord(make_digest(rich_item()), options())
    plain = plain_discord(body)
    assert set(plain) == {"content", "allowed_mentions", "flags"}
    assert check_create_message(plain) == []
    shown = visible(plain["content"])
    assert "New *TPU* [v7] — Ada_Lovelace" in shown and "https://example.com/a_b" in shown
    assert "Faster 10x, open a`b gone paper" in shown and "人工智能产业 · 技术进展" in shown
    assert "**" not in plain["content"]


def test_plain_discord_truncates_with_an_ellipsis() -> None:
    items = [Item(n, f"Item {n}", summary=((Span("Text *here*. " * 100),),)) for n in range(1, 5)]
    body = render_discord(make_digest(*items), options())[0]
    plain = plain_discord(body)
    assert len(plain["content"]) <= 2000 and plain["content"].endswith("…")
    assert check_create_message(plain) == []


# --- the checker itself ---


def test_checker_accepts_a_full_valid_body() -> None:
    embed = {
        "title": "t" * 256,
        "description": "d" * 4096,
        "url": "https://e.com",
        "color": 0xFFFFFF,
        "author": {"name": "a" * 256},
        "footer": {"text": "f" * 1000},
        "fields": [{"name": "n", "value": "v"}] * 25,
    }
    assert check_create_message({"content": "c" * 2000, "embeds": [embed]}) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"content": "c" * 2001}, "content: Must be 2000 or fewer in length."),
        ({"content": 5}, "content: Must be a string."),
        ({"embeds": [{"title": "t"}] * 11}, "embeds: Must be 10 or fewer in length."),
        ({"embeds": [{"title": "t" * 257}]}, "embeds.0.title: Must be 256 or fewer in length."),
        ({"embeds": [{"description": "d" * 4097}]}, "embeds.0.description: Must be 4096 or fewer in length."),
        (
            {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]},
            "embeds.0.fields: Must be 25 or fewer in length.",
        ),
        (
            {"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]},
            "embeds.0.fields.0.name: Must be 256 or fewer",
        ),
        (
            {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
            "embeds.0.fields.0.value: Must be 1024 or",
        ),
        (
            {"embeds": [{"fields": [{"name": "", "value": "v"}]}]},
            "embeds.0.fields.0.name: This field is required",
        ),
        (
            {"embeds": [{"footer": {"text": "f" * 2049}}]},
            "embeds.0.footer.text: Must be 2048 or fewer in length.",
        ),
        (
            {"embeds": [{"author": {"name": "a" * 257}}]},
            "embeds.0.author.name: Must be 256 or fewer in length.",
        ),
        (
            {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
            "embeds: Embed size exceeds",
        ),
        ({"embeds": [{"title": "t", "url": "not a url"}]}, "embeds.0.url: Not a well formed URL."),
        ({"embeds": [{"title": "t", "color": 0x1000000}]}, "embeds.0.color: Must be an integer"),
        ({"content": "x", "allowed_mentions": {"parse": ["all"]}}, "allowed_mentions.parse: Must be a list"),
        ({}, EMPTY_MESSAGE),
        ({"content": "   "}, EMPTY_MESSAGE),
        ({"content": "", "embeds": []}, EMPTY_MESSAGE),
        ("not an object", "(body): Must be a JSON object."),
    ],
)
def test_checker_reports_each_violated_limit(body: object, problem: str) -> None:
    assert any(p.startswith(problem) for p in check_create_message(body))


def test_checker_lists_every_problem_at_once() -> None:
    body = {"content": "c" * 2001, "embeds": [{"title": "t" * 257, "description": "d" * 6000}]}
    assert len(check_create_message(body)) == 4  # content, title, description, total 6000


def test_checker_limits_can_be_scaled_down() -> None:
    assert check_create_message({"content": "c" * 11}, Limits(content=10)) == [
        "content: Must be 10 or fewer in length."
    ]


def test_error_response_matches_discord_codes() -> None:
    assert error_response([EMPTY_MESSAGE]) == (400, {"code": 50006, "message": EMPTY_MESSAGE})
    status, body = error_response(["embeds.0.title: Must be 256 or fewer in length."])
    assert status == 400 and body["code"] == 50035
    assert (
        body["errors"]["embeds"]["0"]["title"]["_errors"][0]["message"] == "Must be 256 or fewer in length."
    )


def test_plain_discord_of_an_empty_body_is_still_a_valid_message() -> None:
    assert check_create_message(plain_discord({})) == []
