"""Role mentions per category, announcement channels and forum tags end to end against the
loopback Discord, in zh and en, with bad arguments answered clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from discord_features_helpers import allow_bot, deliver, posts_in
from discord_world import World, build_world
from fake_discord_model import FORUM, MANAGE_MESSAGES, MANAGE_WEBHOOKS, NEWS, REQUIRE_TAG

# -- role mentions ------------------------------------------------------------------------------------


async def test_a_part_with_a_category_mentions_its_role_and_only_that_role(world: World) -> None:
    robots = world.fake.add_role(world.guild, "robot-fans", 0)
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics, tech"})
    answer = await world.command(world.admin, world.news, "mention", {"category": "robots", "role": robots})
    assert "Robotics items now mention @robot-fans" in answer.text() and not answer.ephemeral()
    assert "is not mentionable" in answer.text()  # the fake's roles are not, and the bot may not ping them

    await deliver(world)
    [post] = posts_in(world, world.news)
    assert post.body["content"].startswith(f"<@&{robots.id}>\n")
    assert post.body["allowed_mentions"] == {"parse": [], "roles": [robots.id]}
    assert "digestbot_categories" not in post.body

    status = await world.command(world.member, world.news, None, group="status")
    assert f"Role mentions: Robotics → <@&{robots.id}>" in status.text()


async def test_a_part_without_the_category_mentions_nobody(world: World) -> None:
    jobs = world.fake.add_role(world.guild, "job-hunters", 0)
    await world.command(world.admin, world.news, "subscribe", {"categories": "tech"})
    await world.command(world.admin, world.news, "mention", {"category": "jobs", "role": jobs})
    await deliver(world)
    [post] = posts_in(world, world.news)
    assert "<@&" not in post.body.get("content", "") and post.body["allowed_mentions"] == {"parse": []}


async def test_mention_off_and_bad_arguments_in_both_languages(world: World) -> None:
    robots = world.fake.add_role(world.guild, "robot-fans", 0)
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics"}, locale="zh-CN")
    chinese = await world.command(
        world.admin, world.news, "mention", {"category": "机器人", "role": robots}, locale="zh-CN"
    )
    assert "含有“机器人”条目的摘要消息现在会在开头提及 @robot-fans" in chinese.text()
    unknown = await world.command(world.admin, world.news, "mention", {"category": "cats", "role": robots})
    assert (
        unknown.ephemeral()
        and "未知分类“cats”" in unknown.text()
        and "robotics, jobs, tech, other" in unknown.text()
    )
    everyone = world.guild.roles[world.guild.id]
    refused = await world.command(
        world.admin, world.news, "mention", {"category": "robotics", "role": everyone}
    )
    assert refused.ephemeral() and "@everyone" in refused.text()
    member = await world.command(
        world.member, world.news, "mention", {"category": "robotics", "role": robots}
    )
    assert member.ephemeral() and "管理频道" in member.text()
    off = await world.command(world.admin, world.news, "mention", {"category": "robotics"})
    assert "不再提及任何角色" in off.text()
    await deliver(world)
    [post] = posts_in(world, world.news)
    assert post.body["allowed_mentions"] == {"parse": []}


async def test_mention_in_english_and_outside_a_subscription(world: World) -> None:
    robots = world.fake.add_role(world.guild, "robot-fans", 0)
    unsubscribed = await world.command(
        world.admin, world.news, "mention", {"category": "robotics", "role": robots}
    )
    assert unsubscribed.ephemeral() and "no subscription yet" in unsubscribed.text()
    await world.command(world.admin, world.news, "subscribe")
    off = await world.command(world.admin, world.news, "mention", {"category": "jobs"})
    assert "Jobs items no longer mention a role" in off.text()


# -- announcement channels ----------------------------------------------------------------------------


async def test_digest_messages_in_an_announcement_channel_are_published(world: World) -> None:
    news = world.fake.add_channel(world.guild, "announcements", NEWS)
    await world.fake.dispatch("CHANNEL_CREATE", news.payload())
    await world.command(world.admin, news, "subscribe")
    await deliver(world)
    posts = posts_in(world, news)
    assert posts and all(p.published for p in posts)
    assert not any(p.published for p in posts_in(world, world.news))  # a text channel is never published


async def test_a_failed_publish_is_logged_once_and_the_message_stays(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    news = world.fake.add_channel(world.guild, "announcements", NEWS)
    await world.fake.dispatch("CHANNEL_CREATE", news.payload())
    await world.command(world.admin, news, "subscribe")
    world.fake.crosspost_limit = 0  # Discord's 10 publishes an hour, used up
    await deliver(world, 1)
    await deliver(world, 2)
    posts = posts_in(world, news)
    assert len(posts) == 2 and not any(p.published for p in posts)
    warnings = [r.getMessage() for r in caplog.records if "cannot publish" in r.getMessage()]
    assert len(warnings) == 1 and news.id in warnings[0]

    world.fake.crosspost_limit = 10  # works again: published, and a later failure is logged anew
    await deliver(world, 3)
    assert posts_in(world, news)[-1].published


async def test_webhook_messages_are_published_with_manage_messages(world: World) -> None:
    news = world.fake.add_channel(world.guild, "announcements", NEWS)
    await world.fake.dispatch("CHANNEL_CREATE", news.payload())
    await allow_bot(world, news, MANAGE_MESSAGES | MANAGE_WEBHOOKS)
    await world.command(world.admin, news, "subscribe")
    await world.command(world.admin, news, "webhook", {"state": "on"})
    await deliver(world)
    [post] = posts_in(world, news)
    assert post.webhook_id is not None and post.published


# -- forum tags ---------------------------------------------------------------------------------------


async def test_a_forum_post_gets_the_tag_named_like_its_first_category(world: World) -> None:
    forum = world.fake.add_channel(world.guild, "digest-forum", FORUM)
    tag = world.fake.add_tag(forum, "Robotics")
    world.fake.add_tag(forum, "Jobs")
    forum.flags = REQUIRE_TAG
    await world.fake.dispatch("CHANNEL_CREATE", forum.payload())
    answer = await world.command(
        world.admin, world.news, "subscribe", {"categories": "robotics", "channel": forum}
    )
    assert not answer.ephemeral()
    robots = world.fake.add_role(world.guild, "robot-fans", 0)
    options = {"category": "robotics", "role": robots, "channel": forum}  # commands can't run in a forum
    await world.command(world.admin, world.news, "mention", options)
    await deliver(world)
    [post] = [p for p in world.fake.posted if world.fake.channels[p.channel_id].parent_id == forum.id]
    assert world.fake.channels[post.channel_id].applied_tags == [tag]
    assert post.body["content"].startswith(f"<@&{robots.id}>") and post.thread_name == "2031.04.01.08 AI 要闻"


async def test_the_configured_forum_tag_wins(tmp_path: Path) -> None:
    async for world in build_world(tmp_path, forum_tag="news"):
        forum = world.fake.add_channel(world.guild, "digest-forum", FORUM)
        world.fake.add_tag(forum, "Robotics")
        news_tag = world.fake.add_tag(forum, "News")
        forum.flags = REQUIRE_TAG
        await world.fake.dispatch("CHANNEL_CREATE", forum.payload())
        await world.command(world.admin, forum, "subscribe", {"categories": "jobs"})
        await deliver(world)
        [post] = [p for p in world.fake.posted if world.fake.channels[p.channel_id].parent_id == forum.id]
        assert world.fake.channels[post.channel_id].applied_tags == [news_tag]


async def test_a_forum_that_requires_a_tag_none_matches_is_refused_at_subscribe(world: World) -> None:
    forum = world.fake.add_channel(world.guild, "digest-forum", FORUM)
    world.fake.add_tag(forum, "Memes")
    world.fake.add_tag(forum, "Robotics", moderated=True)  # the bot may not apply a moderated tag
    forum.flags = REQUIRE_TAG
    await world.fake.dispatch("CHANNEL_CREATE", forum.payload())
    english = await world.command(world.admin, forum, "subscribe", {"categories": "robotics"})
    assert (
        english.ephemeral() and "requires a tag on every post" in english.text() and "Memes" in english.text()
    )
    chinese = await world.command(world.admin, forum, "subscribe", {"categories": "robotics"}, locale="zh-CN")
    assert "要求每个帖子都带标签" in chinese.text()
    assert await world.subscription(forum) is None


async def test_a_forum_tag_removed_after_subscribe_pauses_instead_of_retrying(world: World) -> None:
    forum = world.fake.add_channel(world.guild, "digest-forum", FORUM)
    world.fake.add_tag(forum, "Robotics")
    forum.flags = REQUIRE_TAG
    await world.fake.dispatch("CHANNEL_CREATE", forum.payload())
    await world.command(world.admin, forum, "subscribe", {"categories": "robotics"})
    forum.tags = []
    await world.fake.announce_channel_update(forum)
    await deliver(world)
    sub = await world.subscription(forum)
    assert sub.status == "paused" and "A tag is required" in (sub.paused_reason or "")
