"""Discord adapter units: HTTP errors to delivery outcomes, replies, permissions, channels, translations."""

from __future__ import annotations

import re
import socket
from types import SimpleNamespace

import aiohttp
import discord
import pytest
from discord import ChannelType, Locale
from discord.app_commands import TranslationContext, TranslationContextLocation, locale_str
from discord_interactions import (
    BOT_OK,
    FakeInteraction,
)

from bot.commands.model import CategoryPicker, PickerOption, Reply
from bot.delivery.outcome import ChatGone, FormatRejected, RetryAfter, Transient, Uncertain
from bot.platforms.discord import permissions
from bot.platforms.discord.channels import chat_kind
from bot.platforms.discord.menus import MenuBinding
from bot.platforms.discord.replies import (
    category_menu,
    escape,
    mentions,
    message_kwargs,
    send_reply,
)
from bot.platforms.discord.sender import outcome_for, post_name
from bot.platforms.discord.translator import TEXTS, DigestTranslator, ls

# -- errors -> outcomes -------------------------------------------------------------------------


def http_error(
    cls: type[discord.HTTPException],
    status: int,
    code: int,
    message: str = "",
    headers: dict[str, str] | None = None,
) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="reason", headers=headers or {})
    return cls(response, {"code": code, "message": message})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (http_error(discord.Forbidden, 403, 50001, "Missing Access"), ChatGone("Missing Access (50001)")),
        (
            http_error(discord.Forbidden, 403, 50013, "Missing Permissions"),
            ChatGone("Missing Permissions (50013)"),
        ),
        (http_error(discord.NotFound, 404, 10003, "Unknown Channel"), ChatGone("Unknown Channel (10003)")),
        (http_error(discord.HTTPException, 400, 50083, "archived"), ChatGone("Thread is archived (50083)")),
    ],
)
def test_chat_gone_errors(error: Exception, expected: ChatGone) -> None:
    assert outcome_for(error) == expected


def test_other_forbidden_codes_are_still_chat_gone() -> None:
    outcome = outcome_for(http_error(discord.Forbidden, 403, 20001, "Bots cannot use this endpoint"))
    assert isinstance(outcome, ChatGone) and "20001" in outcome.reason


def test_invalid_form_body_is_format_rejected_with_discords_reason() -> None:
    error = http_error(discord.HTTPException, 400, 50035, "Invalid Form Body")
    outcome = outcome_for(error)
    assert (
        isinstance(outcome, FormatRejected)
        and "50035" in outcome.reason
        and "Invalid Form Body" in outcome.reason
    )


@pytest.mark.parametrize(
    "error",
    [
        http_error(discord.DiscordServerError, 503, 0, "Service Unavailable"),
        http_error(discord.HTTPException, 401, 0, "401: Unauthorized"),
        aiohttp.ConnectionTimeoutError("connect timeout"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_server_errors_and_failures_to_connect_are_transient(error: Exception) -> None:
    assert isinstance(outcome_for(error), Transient)


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),
        aiohttp.SocketTimeoutError("read timeout"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientConnectionError("connection reset"),
        ConnectionResetError(104, "Connection reset by peer"),
        aiohttp.ClientPayloadError("response payload is not completed"),
    ],
)
def test_failures_after_the_request_was_sent_are_uncertain(error: Exception) -> None:
    """The message may exist: resending could post it twice (issue 14)."""
    outcome = outcome_for(error)
    assert isinstance(outcome, Uncertain) and type(error).__name__ in outcome.reason


async def test_a_refused_connection_is_transient() -> None:
    """A real aiohttp connection error (nothing listens on the port): the request never left."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.post(f"http://127.0.0.1:{port}/api/v10/channels/1/messages")
    assert isinstance(outcome_for(caught.value), Transient)


def test_rate_limits_that_surface_become_retry_after() -> None:
    assert outcome_for(discord.RateLimited(42.5)) == RetryAfter(42.5)
    cloudflare = http_error(discord.HTTPException, 429, 0, "", headers={"Retry-After": "12"})
    assert outcome_for(cloudflare) == RetryAfter(12.0)
    assert outcome_for(http_error(discord.HTTPException, 429, 0)) == RetryAfter(5.0)
    assert outcome_for(
        http_error(discord.HTTPException, 429, 0, headers={"Retry-After": "soon"})
    ) == RetryAfter(5.0)


def test_forum_post_names_come_from_the_header_or_the_first_embed() -> None:
    assert post_name({"content": "**2031.04.02 AI 要闻**\nmore"}) == "2031.04.02 AI 要闻"
    assert post_name({"embeds": [{"title": "1. Robots"}]}) == "1. Robots"
    assert post_name({"content": "  ", "embeds": [{}]}) == "Digest"
    long = post_name({"content": "x" * 300})
    assert len(long) == 100 and long.endswith("…")


# -- replies ------------------------------------------------------------------------------------


def test_reply_text_is_escaped_and_fits_one_message() -> None:
    assert escape("*not bold* _nor_ `code` <@123>") == "\\*not bold\\* \\_nor\\_ \\`code\\` <@123>"
    assert len(escape("*" * 3000)) <= 2000


def test_message_kwargs_rebuild_the_body() -> None:
    body = {
        "content": "header",
        "embeds": [
            {
                "title": "1. T",
                "url": "https://example.org",
                "description": "d",
                "color": 5,
                "footer": {"text": "f"},
            }
        ],
        "allowed_mentions": {"parse": []},
        "flags": 4,
    }
    kwargs = message_kwargs(body)
    assert kwargs["content"] == "header" and kwargs["suppress_embeds"] is True
    assert kwargs["embeds"][0].to_dict() | {"flags": 0} == body["embeds"][0] | {"flags": 0}
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert mentions({"parse": ["users"]}).to_dict()["parse"] == ["users"]
    assert mentions("garbage").to_dict() == {"parse": []}


def test_category_menu_holds_at_most_25_options_and_a_short_custom_id() -> None:
    options = tuple(PickerOption(f"c{i}", f"Category {i}" + "x" * 120, i % 2 == 0) for i in range(40))
    largest = 2**64 - 1  # snowflakes are unsigned 64-bit
    view = category_menu(CategoryPicker(options), MenuBinding(largest, largest, largest), "en")
    [menu] = view.children
    assert len(menu.options) == 25 and menu.max_values == 25
    assert len(menu.custom_id) <= 100
    assert all(len(o.label) <= 100 for o in menu.options)


async def test_error_replies_are_always_ephemeral() -> None:
    interaction = FakeInteraction()
    await send_reply(interaction, Reply("bad", error=True), chat_id="1", language="en", ephemeral=False)  # type: ignore[arg-type]
    assert interaction.answers()[0]["ephemeral"] is True


# -- permissions, channels, translations --------------------------------------------------------


def test_invite_url_asks_for_exactly_the_delivery_permissions() -> None:
    url = permissions.invite_url(123)
    assert "scope=bot+applications.commands" in url
    granted = int(re.search(r"permissions=(\d+)", url).group(1))  # type: ignore[union-attr]
    assert granted == (1 << 10) | (1 << 11) | (1 << 38) | (
        1 << 14
    )  # View, Send, Send in Threads, Embed Links


def test_required_permissions_per_channel_type() -> None:
    nothing = discord.Permissions.none()
    assert permissions.missing(nothing, ChannelType.text) == ["view_channel", "send_messages", "embed_links"]
    assert permissions.missing(nothing, ChannelType.public_thread) == [
        "view_channel",
        "send_messages_in_threads",
        "embed_links",
    ]
    assert "send_messages_in_threads" in permissions.missing(nothing, ChannelType.forum)
    assert permissions.missing(discord.Permissions(administrator=True), ChannelType.forum) == []
    assert permissions.missing(BOT_OK, ChannelType.news) == []


def test_chat_kinds() -> None:
    assert chat_kind(ChannelType.text) == chat_kind(ChannelType.news) == "guild_channel"
    assert chat_kind(ChannelType.public_thread) == chat_kind(ChannelType.private_thread) == "guild_channel"
    assert chat_kind(ChannelType.forum) == "forum"
    assert chat_kind(ChannelType.private) == "dm"
    assert chat_kind(ChannelType.voice) is None
    assert chat_kind(ChannelType.group) is None


async def test_translator_gives_chinese_and_english_and_nothing_else() -> None:
    translator = DigestTranslator()
    context = TranslationContext(TranslationContextLocation.other, None)
    assert await translator.translate(ls("subscribe"), Locale.chinese, context) == "订阅"
    assert await translator.translate(ls("subscribe"), Locale.american_english, context) == "subscribe"
    assert await translator.translate(ls("subscribe"), Locale.japanese, context) is None
    assert await translator.translate(locale_str("unknown"), Locale.chinese, context) is None


def test_every_localised_name_and_description_is_valid_for_discord() -> None:
    name_rule = re.compile(r"^[-_\w]{1,32}$")
    for key, (english, chinese) in TEXTS.items():
        if key.endswith(".description"):
            assert 1 <= len(english) <= 100 and 1 <= len(chinese) <= 100, key
        elif not key.startswith("choice."):
            assert name_rule.match(english) and english == english.lower(), key
            assert name_rule.match(chinese) and chinese == chinese.lower(), key
