"""End to end against the fake Bot API: groups, forum topics and channels (who may manage them, and
what happens when the bot loses them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fake_telegram_types import BOT_USERNAME, ApiError, chat_not_found
from telegram_helpers import Bot, paused

from bot.delivery.outcome import Sent, Target

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")

# -- groups, topics, channels --------------------------------------------------------------------


async def test_group_members_may_read_but_only_admins_change(bot: Bot) -> None:
    group = -2001
    bot.fake.add_chat(group, "supergroup", title="Readers")
    member = bot.fake.user(200, language="en")
    admin = bot.fake.user(201, language="en")
    bot.fake.set_member(group, 200, "member")
    bot.fake.set_member(group, 201, "administrator")

    refused = await bot.say(group, f"/subscribe@{BOT_USERNAME} robotics", sender=member)
    assert refused.text.startswith("Sorry, only this chat's administrators")
    assert refused.params["reply_parameters"]["message_id"] > 0
    assert await bot.store.get_subscription("telegram", str(group)) is None

    ok = await bot.say(group, "/subscribe robotics", sender=admin)
    assert ok.text == "Subscribed: Robotics."
    assert "Status: active" in (await bot.say(group, "/status", sender=member)).text

    picker = await bot.say(group, "/categories", sender=admin)
    answer = await bot.press(picker, "Jobs", sender=member)
    assert answer["show_alert"] is True and "administrators" in answer["text"]
    assert picker.edits == 0

    anonymous = await bot.say(group, "/unsubscribe", sender=None, sender_chat=bot.fake.chats[group])
    assert anonymous.text.startswith("Unsubscribed")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "命令："), ("zh-TW", "命令："), ("en-GB", "Commands:"), (None, "命令：")],
)
async def test_reply_language_follows_the_shared_rule(bot: Bot, language: str | None, expected: str) -> None:
    """The bot's default is zh: a client language it does not speak (fr) or none gets the default."""
    user = bot.fake.user(303, language=language)
    reply = await bot.say(303, "/help", sender=user)
    assert reply.text.startswith(expected)


async def test_other_bots_commands_are_ignored_in_groups(bot: Bot) -> None:
    group = -2002
    bot.fake.add_chat(group, "group", title="Shared")
    someone = bot.fake.user(202, language="en")
    bot.fake.push_message(group, "/weather@other_bot", sender=someone)
    bot.fake.push_message(group, "/weather", sender=someone)
    reply = await bot.say(group, "/help", sender=someone)
    assert reply.text.startswith("Commands:")
    assert len(bot.fake.sent_to(group)) == 1


async def test_subscription_in_a_forum_topic_posts_into_that_topic(bot: Bot) -> None:
    forum = -2003
    bot.fake.add_chat(forum, "supergroup", title="Forum", is_forum=True)
    admin = bot.fake.user(203, language="en")
    bot.fake.set_member(forum, 203, "creator")
    reply = await bot.say(forum, "/subscribe tech", sender=admin, thread_id=77)
    assert reply.thread_id == 77
    sub = await bot.store.get_subscription("telegram", str(forum), "77")
    assert sub is not None and sub.kind == "supergroup"
    assert await bot.store.get_subscription("telegram", str(forum)) is None
    outcome = await bot.platform.sender.send(
        Target("telegram", str(forum), "77", "supergroup"), {"text": "<b>hello</b>", "parse_mode": "HTML"}
    )
    assert isinstance(outcome, Sent)
    assert bot.fake.sent_to(forum)[-1].thread_id == 77


async def test_channel_is_subscribed_and_managed_from_private_chat(bot: Bot) -> None:
    channel = -1001000005001
    bot.fake.add_chat(channel, "channel", title="AI News", username="ai_news")
    bot.fake.set_bot_admin(channel)
    owner = bot.fake.user(300, language="en")
    bot.fake.set_member(channel, 300, "creator")

    reply = await bot.say(300, "/subscribe @ai_news robotics", sender=owner)
    assert reply.text == "Subscribed: Robotics."
    sub = await bot.store.get_subscription("telegram", str(channel))
    assert sub is not None
    assert (sub.kind, sub.title, sub.created_by) == ("channel", "AI News", "300")
    assert await bot.store.get_subscription("telegram", "300") is None

    status = await bot.say(300, f"/status {channel}", sender=owner)
    assert "Categories: Robotics" in status.text
    picker = await bot.say(300, "/categories @ai_news", sender=owner)
    assert picker.buttons()[0]["callback_data"] == f"c:{channel}:t:robotics"
    await bot.press(picker, "Tech", sender=owner)
    sub = await bot.store.get_subscription("telegram", str(channel))
    assert sub is not None and sub.filter.categories == frozenset({"robotics", "tech"})
    assert (await bot.say(300, "/unsubscribe @ai_news", sender=owner)).text.startswith("Unsubscribed")
    assert bot.fake.sent_to(channel) == []


async def test_channel_refusals_are_clear(bot: Bot) -> None:
    user = bot.fake.user(301, language="en")
    bot.fake.add_chat(-1005002, "channel", title="Not mine", username="not_mine")
    bot.fake.set_bot_admin(-1005002)
    bot.fake.add_chat(-1005003, "channel", title="No bot", username="no_bot_here")
    bot.fake.set_member(-1005003, 301, "creator")
    bot.fake.add_chat(-1005004, "channel", title="Read only", username="read_only")
    bot.fake.set_bot_admin(-1005004, can_post_messages=False)
    bot.fake.set_member(-1005004, 301, "administrator")
    bot.fake.add_chat(-2004, "supergroup", title="A group", username="a_group")

    cases = {
        "/subscribe @missing_channel": "was not found",
        "/subscribe @not_mine": "Only administrators of @not_mine",
        "/subscribe @no_bot_here": "I am not an administrator of @no_bot_here",
        "/subscribe @read_only": "right to post messages",
        "/subscribe @a_group": "is not a channel",
        "/status -1009999999999": "was not found",
    }
    for text, expected in cases.items():
        assert expected in (await bot.say(301, text, sender=user)).text, text
    group_admin = bot.fake.user(302, language="en")
    bot.fake.set_member(-2004, 302, "administrator")
    hint = await bot.say(-2004, "/subscribe @ai_news", sender=group_admin)
    assert "private chat" in hint.text


async def subscribed_channel(bot: Bot, channel: int, creator: dict[str, Any]) -> None:
    """A channel subscribed (robotics only) by `creator` while the bot could still verify it."""
    bot.fake.add_chat(channel, "channel", title="Lost", username=f"lost{-channel % 10_000}")
    bot.fake.set_bot_admin(channel)
    bot.fake.set_member(channel, creator["id"], "creator")
    assert (await bot.say(creator["id"], f"/subscribe {channel} robotics", sender=creator)).text.startswith(
        "Subscribed"
    )


@pytest.mark.parametrize(
    ("methods", "error", "refusal"),
    [
        (("getChat", "getChatMember"), chat_not_found, "was not found"),
        (("getChatMember",), lambda: ApiError(400, "Bad Request: member list is inaccessible"), "no longer"),
        (
            ("getChatMember",),
            lambda: ApiError(403, "Forbidden: bot is not a member of the channel chat"),
            "no longer",
        ),
    ],
    ids=["removed", "demoted-400", "demoted-403"],
)
async def test_a_lost_channel_allows_its_creator_only_status_and_unsubscribe(
    bot: Bot, methods: tuple[str, ...], error: Callable[[], ApiError], refusal: str
) -> None:
    channel = -1001000005100
    creator = bot.fake.user(310, language="en")
    await subscribed_channel(bot, channel, creator)
    picker = await bot.say(310, f"/categories {channel}", sender=creator)
    bot.fake.fail_lookups(channel, error, methods)

    for command in (f"/keywords {channel} +ai", f"/schedule {channel} at 08:00", f"/categories {channel}"):
        assert refusal in (await bot.say(310, command, sender=creator)).text, command
    answer = await bot.press(picker, "Tech", sender=creator)
    assert answer["show_alert"] is True and refusal in answer["text"]
    sub = await bot.store.get_subscription("telegram", str(channel))
    assert sub is not None and sub.filter.categories == {"robotics"} and sub.filter.include == ()
    assert sub.schedule == "instant"

    stranger = bot.fake.user(311, language="en")
    assert refusal in (await bot.say(311, f"/status {channel}", sender=stranger)).text
    assert "Status: active" in (await bot.say(310, f"/status {channel}", sender=creator)).text
    assert (await bot.say(310, f"/unsubscribe {channel}", sender=creator)).text.startswith("Unsubscribed")


async def test_a_demoted_creator_is_refused_even_status_when_telegram_says_so(bot: Bot) -> None:
    channel = -1001000005101
    creator = bot.fake.user(312, language="en")
    await subscribed_channel(bot, channel, creator)
    bot.fake.set_member(channel, 312, "member")
    for command in (f"/status {channel}", f"/unsubscribe {channel}", f"/keywords {channel} +ai"):
        assert "Only administrators" in (await bot.say(312, command, sender=creator)).text, command
    sub = await bot.store.get_subscription("telegram", str(channel))
    assert sub is not None and sub.status == "active" and sub.filter.include == ()


async def test_removed_bot_pauses_and_resubscribe_resumes(bot: Bot) -> None:
    group = -2005
    bot.fake.add_chat(group, "supergroup", title="Leavers")
    admin = bot.fake.user(204, language="en")
    bot.fake.set_member(group, 204, "administrator")
    await bot.say(group, "/subscribe jobs", sender=admin)
    await bot.say(group, "/keywords +hiring", sender=admin)

    bot.fake.push_my_chat_member(group, "member", "kicked", by=admin, until_date=0)
    sub = await paused(bot.store, str(group))
    assert sub.paused_reason == "bot was removed from the chat"

    bot.fake.push_my_chat_member(group, "left", "member", by=admin)
    resumed = await bot.say(group, "/subscribe", sender=admin)
    assert resumed.text.startswith("Subscription resumed")
    sub = await bot.store.get_subscription("telegram", str(group))
    assert sub is not None and sub.status == "active"
    assert sub.filter.categories == frozenset({"jobs"}) and sub.filter.include == ("hiring",)


async def test_group_migration_moves_the_subscription(bot: Bot) -> None:
    old, new = -2006, -1002006
    bot.fake.add_chat(old, "group", title="Small")
    admin = bot.fake.user(205, language="en")
    bot.fake.set_member(old, 205, "creator")
    await bot.say(old, "/subscribe", sender=admin)
    bot.fake.push_migration(old, new, sender=admin)
    bot.fake.set_member(new, 205, "creator")
    reply = await bot.say(new, "/status", sender=admin)
    assert "Status: active" in reply.text
    assert await bot.store.get_subscription("telegram", str(old)) is None
