"""Discord adapter units: interaction -> Command translation, error -> outcome mapping, helpers.

Interactions and the command service are small fakes here; tests/test_discord_e2e.py runs the real
discord.py client against the loopback Discord server instead.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest
from discord import ChannelType, Locale
from discord.app_commands import TranslationContext, TranslationContextLocation, locale_str

from bot.commands.budget import CommandBudget
from bot.commands.model import CategoryPicker, ChatRef, Command, PickerOption, Reply
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.delivery.outcome import ChatGone, FormatRejected, RetryAfter, Transient, Uncertain
from bot.platforms.discord import permissions
from bot.platforms.discord.bridge import Bridge, category_args, word_args
from bot.platforms.discord.channels import chat_kind
from bot.platforms.discord.menus import CATEGORY_MENU, MenuBinding
from bot.platforms.discord.render import render_discord
from bot.platforms.discord.replies import (
    category_menu,
    escape,
    mentions,
    message_kwargs,
    send_reply,
)
from bot.platforms.discord.sender import outcome_for, post_name
from bot.platforms.discord.translator import TEXTS, DigestTranslator, ls
from bot.render.options import RenderOptions

VOCABULARY = Vocabulary(
    [
        Category("robotics", "机器人", "Robotics", aliases=("robots",)),
        Category("jobs", "就业市场", "Jobs"),
        Category("open-source", "开源", "Open Source"),
        Category("other", "其他", "Other"),
    ]
)
OWNER = 4242
MANAGER = discord.Permissions(view_channel=True, send_messages=True, manage_channels=True)
MEMBER = discord.Permissions(view_channel=True, send_messages=True)
BOT_OK = permissions.INVITE_PERMISSIONS


# -- fakes --------------------------------------------------------------------------------------


class RecordingService:
    """Stands in for CommandService: records each Command and answers with a canned Reply."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.vocabulary = VOCABULARY
        self.commands: list[Command] = []
        self.reply = reply or Reply("done")

    async def handle(self, command: Command) -> Reply:
        self.commands.append(command)
        return self.reply


class FakeResponse:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.deferred: dict[str, Any] | None = None
        self.edited: dict[str, Any] | None = None

    def is_done(self) -> bool:
        return bool(self.sent) or self.deferred is not None or self.edited is not None

    async def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    async def defer(self, **kwargs: Any) -> None:
        self.deferred = kwargs

    async def edit_message(self, **kwargs: Any) -> None:
        self.edited = kwargs


class FakeFollowup:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def channel(id: int = 100, type: ChannelType = ChannelType.text, name: str = "news") -> SimpleNamespace:
    return SimpleNamespace(id=id, type=type, name=name, mention=f"<#{id}>")


@dataclass
class FakeInteraction:
    """The attributes of discord.Interaction the bridge reads, nothing more."""

    channel: Any = field(default_factory=channel)
    permissions: discord.Permissions = MANAGER
    app_permissions: discord.Permissions = BOT_OK
    user: Any = field(default_factory=lambda: SimpleNamespace(id=7, name="alice"))
    guild: Any = None
    locale: Locale = Locale.american_english
    type: discord.InteractionType = discord.InteractionType.application_command
    data: dict[str, Any] = field(default_factory=dict)
    response: FakeResponse = field(default_factory=FakeResponse)
    followup: FakeFollowup = field(default_factory=FakeFollowup)
    client: Any = None

    @property
    def channel_id(self) -> int | None:
        return self.channel.id if self.channel is not None else None

    def answers(self) -> list[dict[str, Any]]:
        return self.response.sent + self.followup.sent


def option(id: int, type: ChannelType, perms: discord.Permissions, name: str = "other") -> SimpleNamespace:
    """What discord.py resolves a channel option to: id, name, type and the caller's permissions."""
    return SimpleNamespace(id=id, type=type, name=name, permissions=perms, mention=f"<#{id}>")


def bridge(service: RecordingService) -> Bridge:
    roomy = CommandBudget(burst=1000, refill_seconds=1)  # these tests are not about floods
    return Bridge(service, roomy, owners=[OWNER], default_language="zh")  # type: ignore[arg-type]


# -- interaction -> Command ---------------------------------------------------------------------


async def test_subscribe_here_builds_the_command_with_the_channel_and_caller() -> None:
    service = RecordingService(Reply("Subscribed"))
    interaction = FakeInteraction()
    await bridge(service).run(interaction, "subscribe", category_args("robotics, Open Source"))  # type: ignore[arg-type]
    [command] = service.commands
    assert command.name == "subscribe"
    assert command.args == ("robotics", "Open Source")
    assert command.chat == ChatRef("discord", "100", None, "guild_channel", "news")
    assert command.caller.user_id == "7"
    assert command.caller.language == "en-US"  # the raw client language: the service decides
    assert command.caller.can_manage and not command.caller.is_owner
    [answer] = interaction.answers()
    assert answer["content"] == "Subscribed" and not answer["ephemeral"]


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        (Locale.chinese, "zh"),
        (Locale.taiwan_chinese, "zh"),
        (Locale.british_english, "en"),
        (Locale.japanese, "zh"),
        (Locale.french, "zh"),
    ],
)
async def test_caller_carries_the_raw_locale_and_adapter_replies_follow_the_shared_rule(
    locale: Locale, language: str
) -> None:
    service = RecordingService()
    interaction = FakeInteraction(locale=locale)
    await bridge(service).run(interaction, "status")  # type: ignore[arg-type]
    assert service.commands[0].caller.language == locale.value
    assert bridge(service).language(interaction) == language  # type: ignore[arg-type]


async def test_member_without_manage_channels_is_marked_as_such() -> None:
    service = RecordingService(Reply("not allowed", error=True))
    interaction = FakeInteraction(permissions=MEMBER)
    await bridge(service).run(interaction, "subscribe")  # type: ignore[arg-type]
    assert service.commands[0].caller.can_manage is False
    assert interaction.answers()[0]["ephemeral"] is True


async def test_administrator_counts_as_manager() -> None:
    service = RecordingService()
    await bridge(service).run(
        FakeInteraction(permissions=discord.Permissions(administrator=True)), "unsubscribe"
    )  # type: ignore[arg-type]
    assert service.commands[0].caller.can_manage


async def test_channel_option_targets_that_channel_with_the_callers_rights_there() -> None:
    service = RecordingService()
    other = SimpleNamespace(id=200, type=ChannelType.text, permissions_for=lambda _me: BOT_OK)
    interaction = FakeInteraction(permissions=MEMBER, channel=channel(100))
    interaction.guild = SimpleNamespace(me=object(), get_channel_or_thread={200: other}.get)
    target = option(200, ChannelType.text, MANAGER, name="announcements")
    await bridge(service).run(interaction, "subscribe", (), target)  # type: ignore[arg-type]
    [command] = service.commands
    assert command.chat.chat_id == "200" and command.chat.title == "announcements"
    assert command.caller.can_manage


async def test_channel_option_where_the_bot_is_shut_out_names_view_channel() -> None:
    service = RecordingService()
    hidden = SimpleNamespace(
        id=200, type=ChannelType.text, permissions_for=lambda _me: discord.Permissions.none()
    )
    interaction = FakeInteraction(channel=channel(100))
    interaction.guild = SimpleNamespace(me=object(), get_channel_or_thread={200: hidden}.get)
    await bridge(service).run(interaction, "subscribe", (), option(200, ChannelType.text, MANAGER))  # type: ignore[arg-type]
    assert service.commands == []
    assert "View Channel, Send Messages, Embed Links" in interaction.answers()[0]["content"]


async def test_dm_subscribes_the_user_personally() -> None:
    service = RecordingService()
    dm = SimpleNamespace(id=555, type=ChannelType.private, mention="<@7>")
    interaction = FakeInteraction(channel=dm, permissions=discord.Permissions.none())
    await bridge(service).run(interaction, "subscribe")  # type: ignore[arg-type]
    [command] = service.commands
    assert command.chat.kind == "dm" and command.chat.chat_id == "555"
    assert command.chat.title == "DM alice"
    assert command.caller.can_manage


@pytest.mark.parametrize("kind", [ChannelType.voice, ChannelType.category, ChannelType.stage_voice])
async def test_channels_that_cannot_take_digests_are_refused_before_the_service(kind: ChannelType) -> None:
    service = RecordingService()
    interaction = FakeInteraction(channel=channel(300, kind, "lounge"))
    await bridge(service).run(interaction, "subscribe")  # type: ignore[arg-type]
    assert service.commands == []
    [answer] = interaction.answers()
    assert (
        answer["ephemeral"] and "<#300>" in answer["content"] and "can't receive digests" in answer["content"]
    )


async def test_subscribe_names_every_permission_the_bot_lacks() -> None:
    service = RecordingService()
    interaction = FakeInteraction(app_permissions=discord.Permissions(view_channel=True))
    await bridge(service).run(interaction, "subscribe")  # type: ignore[arg-type]
    assert service.commands == []
    [answer] = interaction.answers()
    assert answer["ephemeral"]
    assert "Send Messages, Embed Links" in answer["content"]


async def test_subscribe_in_a_thread_needs_send_messages_in_threads_in_chinese() -> None:
    service = RecordingService()
    thread = channel(400, ChannelType.public_thread, "topic")
    bot = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
    interaction = FakeInteraction(channel=thread, app_permissions=bot, locale=Locale.chinese)
    await bridge(service).run(interaction, "subscribe")  # type: ignore[arg-type]
    assert service.commands == []
    assert "在子区中发送消息" in interaction.answers()[0]["content"]


async def test_bot_permissions_are_not_checked_for_callers_who_cannot_manage() -> None:
    service = RecordingService(Reply("not allowed", error=True))
    interaction = FakeInteraction(permissions=MEMBER, app_permissions=discord.Permissions.none())
    await bridge(service).run(interaction, "subscribe")  # type: ignore[arg-type]
    assert len(service.commands) == 1


async def test_owner_flag_comes_from_discord_admins() -> None:
    service = RecordingService()
    interaction = FakeInteraction(user=SimpleNamespace(id=OWNER, name="root"))
    await bridge(service).run(interaction, "stats")  # type: ignore[arg-type]
    assert service.commands[0].caller.is_owner
    assert interaction.answers()[0]["ephemeral"]


async def test_service_failure_becomes_an_ephemeral_apology() -> None:
    class Broken(RecordingService):
        async def handle(self, command: Command) -> Reply:
            raise RuntimeError("database is locked")

    interaction = FakeInteraction()
    await bridge(Broken()).run(interaction, "status")  # type: ignore[arg-type]
    [answer] = interaction.answers()
    assert answer["ephemeral"] and "went wrong" in answer["content"]


async def test_latest_defers_then_sends_every_rendered_body_as_followups() -> None:
    items = tuple(
        Item(
            n,
            f"Item {n}",
            url=f"https://example.org/{n}",
            summary=((Span("x" * 3000),),),
            categories=("jobs",),
        )
        for n in range(1, 5)
    )
    digest = Digest("d", "Digest title", datetime(2031, 1, 1, tzinfo=UTC), items=items)
    parts = render_discord(digest, RenderOptions(VOCABULARY, language="en"))
    reply = Reply("Latest", parts=tuple(parts))
    interaction = FakeInteraction(permissions=MEMBER)
    await bridge(RecordingService(reply)).run(interaction, "latest", public=False)  # type: ignore[arg-type]
    assert interaction.response.deferred == {"ephemeral": True, "thinking": True}
    sent = interaction.followup.sent
    assert len(sent) >= 2
    assert all(s["ephemeral"] for s in sent)
    assert sum(len(s.get("embeds", [])) for s in sent) == 4


async def test_latest_public_is_visible_to_everyone() -> None:
    interaction = FakeInteraction()
    await bridge(RecordingService(Reply("No digest yet"))).run(interaction, "latest", public=True)  # type: ignore[arg-type]
    assert interaction.response.deferred == {"ephemeral": False, "thinking": True}
    assert interaction.followup.sent[0]["ephemeral"] is False


async def test_picker_reply_carries_a_select_menu_preselected_with_the_filter() -> None:
    picker = CategoryPicker(
        (PickerOption("robotics", "Robotics", True), PickerOption("jobs", "Jobs", False)),
    )
    interaction = FakeInteraction()
    await bridge(RecordingService(Reply("pick", picker=picker))).run(interaction, "categories")  # type: ignore[arg-type]
    [answer] = interaction.answers()
    assert answer["ephemeral"]
    [menu] = answer["view"].children
    assert menu.custom_id == f"{CATEGORY_MENU}100:100:7"  # the chat, where it was opened, by whom
    assert menu.min_values == 0 and menu.max_values == 2
    assert [(o.value, o.default) for o in menu.options] == [("robotics", True), ("jobs", False)]


# -- the category menu --------------------------------------------------------------------------


def submission(
    values: list[str], custom_id: str = f"{CATEGORY_MENU}100:100:7", **extra: Any
) -> FakeInteraction:
    return FakeInteraction(
        type=discord.InteractionType.component,
        data={"custom_id": custom_id, "component_type": 3, "values": values},
        **extra,
    )


async def test_menu_submission_sets_the_filter_and_edits_the_menu_message() -> None:
    service = RecordingService(Reply("Categories saved: Robotics, Jobs."))
    interaction = submission(["robotics", "jobs"])
    assert await bridge(service).menu_submitted(interaction)  # type: ignore[arg-type]
    [command] = service.commands
    assert command.name == "categories" and command.args == ("set", "robotics", "jobs")
    assert command.chat.chat_id == "100"
    assert interaction.response.edited == {"content": "Categories saved: Robotics, Jobs.", "view": None}


async def test_menu_submission_with_nothing_selected_means_every_category() -> None:
    service = RecordingService()
    await bridge(service).menu_submitted(submission([]))  # type: ignore[arg-type]
    assert service.commands[0].args == ("set",)


async def test_menu_submission_by_a_non_manager_is_refused_by_the_service() -> None:
    service = RecordingService(Reply("not allowed", error=True))
    interaction = submission(["jobs"], permissions=MEMBER)
    interaction.guild = SimpleNamespace(get_channel_or_thread=lambda _id: None)
    assert await bridge(service).menu_submitted(interaction)  # type: ignore[arg-type]
    assert service.commands[0].caller.can_manage is False
    assert interaction.response.sent[0]["ephemeral"] is True


@pytest.mark.parametrize(
    ("type", "custom_id"),
    [
        (discord.InteractionType.component, "someone-else:42"),
        (discord.InteractionType.application_command, f"{CATEGORY_MENU}100:100:7"),
    ],
)
async def test_other_components_are_left_alone(type: discord.InteractionType, custom_id: str) -> None:
    service = RecordingService()
    interaction = FakeInteraction(type=type, data={"custom_id": custom_id, "values": []})
    assert not await bridge(service).menu_submitted(interaction)  # type: ignore[arg-type]
    assert service.commands == [] and interaction.answers() == []


def guild_with(*channels: SimpleNamespace) -> SimpleNamespace:
    by_id = {c.id: c for c in channels}
    return SimpleNamespace(get_channel_or_thread=by_id.get)


@pytest.mark.parametrize(
    ("custom_id", "guild"),
    [
        (f"{CATEGORY_MENU}100:100:8", guild_with()),  # opened by someone else
        (f"{CATEGORY_MENU}100:101:7", guild_with()),  # opened in another channel or thread
        (f"{CATEGORY_MENU}555:100:7", guild_with()),  # names a channel outside this server
        (f"{CATEGORY_MENU}555:100:7", None),  # a DM menu naming any chat but the DM itself
    ],
    ids=["other-user", "other-channel", "other-server", "dm-naming-a-channel"],
)
async def test_a_menu_bound_elsewhere_is_refused_and_changes_nothing(custom_id: str, guild: Any) -> None:
    service = RecordingService()
    interaction = submission(["jobs"], custom_id, guild=guild)
    assert await bridge(service).menu_submitted(interaction)  # type: ignore[arg-type]
    assert service.commands == []
    [refusal] = interaction.response.sent
    assert refusal["ephemeral"] is True and "belongs to another member or channel" in refusal["content"]


async def test_a_menu_from_an_older_release_is_expired() -> None:
    service = RecordingService()
    interaction = submission(["jobs"], f"{CATEGORY_MENU}100")
    assert await bridge(service).menu_submitted(interaction)  # type: ignore[arg-type]
    assert service.commands == [] and "expired" in interaction.response.sent[0]["content"]


# -- arguments and autocomplete -----------------------------------------------------------------


def test_category_arguments_split_on_commas_only() -> None:
    assert category_args("robotics, Open Source，就业市场、jobs") == (
        "robotics",
        "Open Source",
        "就业市场",
        "jobs",
    )
    assert category_args(None) == ()
    assert category_args(" , ") == ()
    assert word_args("+robot  -crypto") == ("+robot", "-crypto")
    assert word_args(None) == ()


def test_autocomplete_completes_the_last_piece_by_any_name() -> None:
    b = bridge(RecordingService())
    assert [c.value for c in b.category_choices("", "en-US")] == ["robotics", "jobs", "open-source", "other"]
    assert [(c.name, c.value) for c in b.category_choices("robotics, 就业", "zh-CN")] == [
        ("robotics, 就业市场 (jobs)", "robotics, jobs")
    ]
    assert [c.value for c in b.category_choices("rob", "en-US")] == ["robotics"]
    assert [c.value for c in b.category_choices("robotics ", "en-US")] == [
        "robotics jobs",
        "robotics open-source",
        "robotics other",
    ]
    assert b.category_choices("nothing-like-this", "en-US") == []


def test_autocomplete_never_offers_values_over_100_characters() -> None:
    b = bridge(RecordingService())
    long_prefix = "x" * 95 + ", "
    assert all(len(c.value) <= 100 and len(c.name) <= 100 for c in b.category_choices(long_prefix, "en-US"))


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
