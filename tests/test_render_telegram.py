"""Telegram renderer (checked through the strict HTML oracle) and the oracle itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from telegram_html import (
    Entity,
    TelegramBadRequest,
    TelegramHTMLError,
    check_send_message,
    parse_telegram_html,
    utf16_length,
)

from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.platforms import registry
from bot.platforms.telegram.render import plain_telegram, render_telegram
from bot.render import RenderOptions
from bot.render.limits import TextLimit

VOCABULARY = Vocabulary(
    [
        Category("industry", "人工智能产业", "AI Industry", color=0xE67E22),
        Category("tech", "技术进展", "Tech Progress"),
        Category("open-source", "开源", "Open Source"),
        Category("other", "其他", "Other"),
    ]
)
DATE = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def make_digest(*items: Item, title: str = "2025.11.20.20 过去4小时全球AI动态", **kwargs: object) -> Digest:
    return Digest(id="2025.11.20.20", title=title, date=DATE, items=items, **kwargs)  # type: ignore[arg-type]


def options(**kwargs: object) -> RenderOptions:
    return RenderOptions(VOCABULARY, **kwargs)  # type: ignore[arg-type]


def visible(payload: dict) -> str:
    text, _ = parse_telegram_html(payload["text"])
    return text


def rich_item() -> Item:
    summary = (
        (
            Span("模型 "),
            Span("性能提升十倍", bold=True),
            Span("，"),
            Span("weights", italic=True),
            Span(" via "),
            Span("pip install x<2", code=True),
            Span(" and "),
            Span("old", strike=True),
            Span(" — "),
            Span("the paper", link="https://example.org/paper?a=1&b=2"),
        ),
    )
    return Item(
        number=3,
        title='Chips & "models" <2025>',
        author="Ada & Bob",
        url="https://example.com/post?id=1&lang=zh",
        summary=summary,
        categories=("industry", "open-source"),
    )


def test_header_has_bold_title_local_date_and_all_digest_categories() -> None:
    digest = make_digest(categories=("人工智能产业", "技术进展"))
    [payload] = render_telegram(digest, options(timezone=ZoneInfo("Asia/Shanghai")))
    text, entities = parse_telegram_html(payload["text"])
    assert (
        text == "2025.11.20.20 过去4小时全球AI动态\n2025-11-20 20:00 (Asia/Shanghai)\n人工智能产业 · 技术进展"
    )
    assert entities == [Entity("bold", 0, utf16_length("2025.11.20.20 过去4小时全球AI动态"))]


def test_header_shows_the_selected_categories_in_the_reader_language() -> None:
    digest = make_digest(categories=("人工智能产业", "技术进展"))
    [payload] = render_telegram(digest, options(language="en", selected=frozenset({"tech", "open-source"})))
    assert visible(payload).splitlines()[2] == "Tech Progress · Open Source"


def test_header_falls_back_to_the_items_categories_when_none_are_declared() -> None:
    digest = make_digest(Item(1, "t", categories=("tech",)), Item(2, "u", categories=("industry", "tech")))
    [payload] = render_telegram(digest, options())
    assert visible(payload).splitlines()[2] == "人工智能产业 · 技术进展"


def test_a_naive_digest_date_is_taken_as_utc() -> None:
    digest = Digest(id="d", title="T", date=datetime(2025, 11, 20, 12, 0))
    [payload] = render_telegram(digest, options(timezone=timezone(timedelta(hours=8))))
    assert visible(payload).splitlines()[1] == "2025-11-20 20:00 (UTC+08:00)"


def test_item_layout_formatting_and_escaping() -> None:
    [payload] = render_telegram(make_digest(rich_item()), options())
    html = payload["text"]
    assert (
        '3. <a href="https://example.com/post?id=1&amp;lang=zh"><b>Chips &amp; "models" &lt;2025&gt;</b></a>'
        " — <i>Ada &amp; Bob</i>"
    ) in html
    assert "<b>性能提升十倍</b>" in html and "<i>weights</i>" in html and "<s>old</s>" in html
    assert "<code>pip install x&lt;2</code>" in html
    assert '<a href="https://example.org/paper?a=1&amp;b=2">the paper</a>' in html
    text, entities = parse_telegram_html(html)
    assert text.splitlines()[-3:] == [
        '3. Chips & "models" <2025> — Ada & Bob',
        "模型 性能提升十倍，weights via pip install x<2 and old — the paper",
        "#人工智能产业 #开源",
    ]
    types = {e.type for e in entities}
    assert types == {"bold", "italic", "code", "strikethrough", "text_link"}


def test_hashtags_turn_non_word_characters_into_underscores() -> None:
    vocabulary = Vocabulary(
        [Category("ai-safety", "AI 安全/对齐", "AI Safety & Alignment"), Category("n", "2025", "2025")]
    )
    item = Item(1, "t", categories=("ai-safety", "n", "unknown-id"))
    [zh] = render_telegram(make_digest(item), RenderOptions(vocabulary))
    [en] = render_telegram(make_digest(item), RenderOptions(vocabulary, language="en"))
    assert visible(zh).splitlines()[-1] == "#AI_安全_对齐 #_2025 #unknown_id"
    assert visible(en).splitlines()[-1] == "#AI_Safety_Alignment #_2025 #unknown_id"


def test_title_is_linked_only_when_the_item_has_an_http_url() -> None:
    digest = make_digest(Item(1, "no link"), Item(2, "bad link", url="javascript:alert(1)"))
    [payload] = render_telegram(digest, options())
    assert "<a " not in payload["text"]
    assert "1. <b>no link</b>" in payload["text"] and "2. <b>bad link</b>" in payload["text"]


def test_code_keeps_no_other_style_and_linked_code_becomes_a_plain_link() -> None:
    summary = ((Span("x", bold=True, code=True), Span(" "), Span("y", code=True, link="https://e.com")),)
    [payload] = render_telegram(make_digest(Item(1, "t", summary=summary)), options())
    assert '<code>x</code> <a href="https://e.com">y</a>' in payload["text"]
    parse_telegram_html(payload["text"])


def test_link_previews_are_disabled_unless_asked_for() -> None:
    digest = make_digest(rich_item())
    [off] = render_telegram(digest, options())
    [on] = render_telegram(digest, options(link_previews=True))
    assert off["parse_mode"] == "HTML" and off["link_preview_options"] == {"is_disabled": True}
    assert on["parse_mode"] == "HTML" and "link_preview_options" not in on


def test_many_items_are_split_between_items_and_the_header_comes_first_only() -> None:
    items = [Item(n, f"标题 {n}", summary=((Span("这是一段摘要。" * 40),),)) for n in range(1, 41)]
    payloads = render_telegram(make_digest(*items), options())
    assert len(payloads) > 1
    texts = [check_send_message(p) for p in payloads]
    assert all(utf16_length(visible(p)) <= 4096 for p in payloads)
    assert texts[0].startswith("2025.11.20.20") and not any(t.startswith("2025.11.20.20") for t in texts[1:])
    titles = [line for text in texts for line in text.splitlines() if re.fullmatch(r"\d+\. 标题 \d+", line)]
    assert titles == [f"{n}. 标题 {n}" for n in range(1, 41)]
    assert all(re.match(r"\d+\. 标题", text) for text in texts[1:])  # every part starts with a whole item


def test_an_item_over_the_limit_is_cut_at_a_sentence_and_keeps_its_formatting() -> None:
    sentence = "这是一个很长的句子，用来测试分割。"
    summary = ((Span("开头 "), Span(sentence * 400, bold=True)),)
    payloads = render_telegram(make_digest(Item(1, "长条目", summary=summary)), options())
    assert len(payloads) >= 2
    for payload in payloads:
        text = check_send_message(payload)
        assert utf16_length(text) <= 4096
    first, _ = parse_telegram_html(payloads[0]["text"])
    assert "1. 长条目\n开头 这是" in first and first.endswith("。")
    for payload in payloads[1:]:
        text, entities = parse_telegram_html(payload["text"])
        assert text.startswith("这是") and text.endswith("。")
        assert entities == [Entity("bold", 0, utf16_length(text))]


def test_astral_characters_count_two_units() -> None:
    payloads = render_telegram(make_digest(Item(1, "emoji", summary=((Span("😀" * 3000),),))), options())
    texts = [visible(p) for p in payloads]
    assert [utf16_length(t) for t in texts[1:]] == [4096, 1904]  # 2048 + 952 emoji
    assert "".join(texts).count("😀") == 3000


def test_a_small_limit_can_be_passed_for_tests_and_bots_with_smaller_caps() -> None:
    items = [Item(n, f"Item {n}", summary=((Span("Words and more words. " * 5),),)) for n in range(1, 6)]
    payloads = render_telegram(make_digest(*items), options(), limit=TextLimit(200, "utf16"))
    assert all(utf16_length(visible(p)) <= 200 for p in payloads)


def test_plain_telegram_is_the_visible_text_without_parse_mode() -> None:
    [payload] = render_telegram(make_digest(rich_item()), options())
    plain = plain_telegram(payload)
    assert "parse_mode" not in plain
    assert plain["text"] == visible(payload)
    assert plain["link_preview_options"] == {"is_disabled": True}
    assert check_send_message(plain) == plain["text"].strip()


def test_plain_telegram_decodes_numeric_entities() -> None:
    plain = plain_telegram({"text": "<b>a&#38;b&#x3C;</b>", "parse_mode": "HTML"})
    assert plain == {"text": "a&b<"}


def test_plain_telegram_rejects_a_payload_without_text() -> None:
    with pytest.raises(ValueError, match="no text"):
        plain_telegram({"parse_mode": "HTML"})


def test_the_registry_has_every_format() -> None:
    assert [spec.render_format for spec in registry.PLATFORMS] == ["telegram", "discord", "text"]
    assert set(registry.default_renderers()) == {"telegram", "discord", "console"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"vocabulary": "not a vocabulary"}, TypeError, "vocabulary"),
        ({"timezone": "Asia/Shanghai"}, TypeError, "timezone"),
        ({"language": ""}, ValueError, "language"),
        ({"selected": "tech"}, TypeError, "selected"),
        ({"selected": 3}, TypeError, "selected"),
    ],
)
def test_bad_render_options_name_the_argument(kwargs: dict, error: type[Exception], match: str) -> None:
    arguments = {"vocabulary": VOCABULARY, **kwargs}
    with pytest.raises(error, match=match):
        RenderOptions(**arguments)


def test_selected_accepts_any_collection_of_ids() -> None:
    assert options(selected={"tech"}).selected == frozenset({"tech"})


# --- the oracle itself: it must accept what Telegram accepts and reject what Telegram rejects ---


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("plain", "plain", []),
        ("<b>b</b><strong>s</strong>", "bs", [Entity("bold", 0, 1), Entity("bold", 1, 1)]),
        (
            "<i>i</i><em>e</em><u>u</u><ins>n</ins>",
            "ieun",
            [
                Entity("italic", 0, 1),
                Entity("italic", 1, 1),
                Entity("underline", 2, 1),
                Entity("underline", 3, 1),
            ],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [Entity("strikethrough", 0, 1), Entity("strikethrough", 1, 1), Entity("strikethrough", 2, 1)],
        ),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [Entity("spoiler", 0, 1), Entity("spoiler", 1, 1)],
        ),
        (
            '<a href="https://e.com/?a=1&amp;b=2">l</a>',
            "l",
            [Entity("text_link", 0, 1, url="https://e.com/?a=1&b=2")],
        ),
        ("<a href='tg://user?id=1'>u</a>", "u", [Entity("text_link", 0, 1, url="tg://user?id=1")]),
        ("<code>c</code>", "c", [Entity("code", 0, 1)]),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [Entity("pre", 0, 5, language="python")],
        ),
        ("<pre>p</pre>", "p", [Entity("pre", 0, 1)]),
        ("<blockquote>q</blockquote>", "q", [Entity("blockquote", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [Entity("expandable_blockquote", 0, 1)]),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "👍",
            [Entity("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")],
        ),
        ("&lt;&gt;&amp;&quot;&#65;&#x42;&#128512;", '<>&"AB😀', []),
        ("😀<b>x</b>", "😀x", [Entity("bold", 2, 1)]),
        ("<B>upper</B>", "upper", [Entity("bold", 0, 5)]),
        ("<b><i>both</i></b>", "both", [Entity("bold", 0, 4), Entity("italic", 0, 4)]),
        (
            '<a href="https://e.com"><b>bold link</b></a>',
            "bold link",
            [Entity("text_link", 0, 9, url="https://e.com"), Entity("bold", 0, 9)],
        ),
        ("<b></b>empty", "empty", []),
        ("<b>x</>", "x", [Entity("bold", 0, 1)]),
    ],
)
def test_oracle_accepts_valid_html(html: str, text: str, entities: list[Entity]) -> None:
    assert parse_telegram_html(html) == (text, entities)


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x<3 y", 'Unsupported start tag "3" at byte offset 1'),
        ("x<3", "Unclosed start tag at byte offset 1"),
        ("<b>x</ b>", "Unclosed end tag at byte offset 4"),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("AT&T", 'Unescaped "&" at byte offset 2'),
        ("&nbsp;", 'Unescaped "&" at byte offset 0'),
        ("&copy;", 'Unescaped "&" at byte offset 0'),
        ("&lt", 'Unescaped "&" at byte offset 0'),
        ("&#0;", "Invalid character entity at byte offset 0"),
        ("&#xD800;", "Invalid character entity at byte offset 0"),
        ("1 > 0", 'Unescaped ">" at byte offset 2'),
        ("中文<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<strong>x</b>", 'Unmatched end tag at byte offset 9, expected "</strong>", found "</b>"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="https://e.com>x</a>', "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<b x=a/b>y</b>", "Unexpected end of name token at byte offset 5"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a>x</a>", 'Tag "a" needs a valid href'),
        ('<a href="javascript:alert(1)">x</a>', 'Tag "a" needs a valid href'),
        ("<tg-emoji>x</tg-emoji>", 'Tag "tg-emoji" must have a numeric "emoji-id"'),
        ("<code><b>x</b></code>", 'Entity "b" can\'t be nested in "code" at byte offset 6'),
        ('<a href="https://a"><code>x</code></a>', 'Entity "code" can\'t be nested in "a"'),
        ('<a href="https://a"><a href="https://b">x</a></a>', 'Entity "a" can\'t be nested in "a"'),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "Blockquotes can't be nested"),
    ],
)
def test_oracle_rejects_what_telegram_rejects(html: str, reason: str) -> None:
    with pytest.raises(TelegramHTMLError) as caught:
        parse_telegram_html(html)
    assert caught.value.description.startswith(f"Bad Request: can't parse entities: {reason}")


def test_byte_offsets_are_utf8_offsets() -> None:
    with pytest.raises(TelegramHTMLError, match="at byte offset 6"):
        parse_telegram_html("中文<x>")


def test_nesting_telegram_only_drops_can_be_allowed() -> None:
    assert parse_telegram_html("<code><b>x</b></code>", strict_nesting=False)[0] == "x"


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "  <b> </b> ", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "😀" * 2049}, "Bad Request: message is too long"),
        ({"text": "x", "parse_mode": "Markdown3"}, "Bad Request: unsupported parse_mode"),
        ({"text": "x", "link_preview_options": "{not json"}, "Bad Request: can't parse link preview options"),
        ({"text": "a&b", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
    ],
)
def test_send_message_checks(params: dict, description: str) -> None:
    with pytest.raises(TelegramBadRequest) as caught:
        check_send_message(params)
    assert caught.value.description.startswith(description)


def test_send_message_counts_the_text_after_entities_and_trimming() -> None:
    text = "<b>" + "&amp;" * 4096 + "</b>"
    assert check_send_message({"text": text, "parse_mode": "HTML"}) == "&" * 4096
    assert check_send_message(
        {"text": "\n" + "x" * 4096 + "\n", "link_preview_options": '{"is_disabled": true}'}
    )


def test_links_are_made_ascii_and_non_http_links_keep_only_their_text() -> None:
    summary = ((Span("站点", link="http://例子.cn/路径?q=值"), Span(" "), Span("mail", link="mailto:a@b.c")),)
    [payload] = render_telegram(make_digest(Item(1, "t", summary=summary)), options())
    assert '<a href="http://xn--fsqu00a.cn/%E8%B7%AF%E5%BE%84?q=%E5%80%BC">站点</a> mail' in payload["text"]
