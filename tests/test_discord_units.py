"""Discord adapter units: interactions to commands, the category menu, arguments and autocomplete.

Interactions and the command service are small fakes here (discord_interactions.py);
tests/test_discord_e2e.py runs the real discord.py client against the loopback Discord server instead.
Errors, replies, permissions and translations are in test_discord_replies.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord import ChannelType, Locale
from discord_interactions import (
    BOT_OK,
    MANAGER,
    MEMBER,
    OWNER,
    VOCABULARY,
    FakeInteraction,
    RecordingService,
    bridge,
    channel,
    option,
)

from bot.commands.model import CategoryPicker, ChatRef, Command, PickerOption, Reply
from bot.core.model import Digest, Item, Span
from bot.platforms.discord.bridge import category_args, word_args
from bot.platforms.discord.menus import CATEGORY_MENU
from bot.platforms.discord.render import render_discord
from bot.render.options import RenderOptions

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
