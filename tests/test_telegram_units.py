"""Unit tests of the Telegram adapter's pure parts: commands, chats, outcomes, keyboards, menus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fake_telegram_types import RESTRICTED_RIGHTS
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import ChatMemberUpdated, LinkPreviewOptions, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.commands.model import CategoryPicker, PickerOption
from bot.commands.table import COMMANDS, Access, command_names
from bot.core.model import Category, Vocabulary
from bot.delivery.outcome import ChatGone, FormatRejected, Migrated, Target, Transient
from bot.delivery.outcome import RetryAfter as RetryLater
from bot.platforms.telegram import keyboards, menus, texts
from bot.platforms.telegram.errors import outcome_for
from bot.platforms.telegram.replies import split_text
from bot.platforms.telegram.sender import send_kwargs
from bot.platforms.telegram.translate import (
    caller_id,
    chat_ref,
    gone_reason,
    is_anonymous_admin,
    is_channel_ref,
    parse_command,
    topic_id,
)

BOT = "digest_test_bot"
# PTB 22 warns about its own RetryAfter attribute type whenever one is built; not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")


def message(chat: dict[str, Any], **extra: Any) -> Message:
    data = {"message_id": 7, "date": 0, "chat": chat, "text": "/status", **extra}
    return Message.de_json(data, None)


USER = {"id": 42, "is_bot": False, "first_name": "Ann", "language_code": "zh-hans"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Ann"}
GROUP = {"id": -1001, "type": "supergroup", "title": "AI readers"}
FORUM = {"id": -1002, "type": "supergroup", "title": "Forum", "is_forum": True}


# -- commands ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", ("start", (), False)),
        ("/Subscribe robotics  jobs", ("subscribe", ("robotics", "jobs"), False)),
        ("/subscribe@digest_test_bot 机器人", ("subscribe", ("机器人",), True)),
        ("/status@Digest_Test_Bot", ("status", (), True)),
        ("/keywords +a\n-b", ("keywords", ("+a", "-b"), False)),
    ],
)
def test_parse_command(text: str, expected: tuple[str, tuple[str, ...], bool]) -> None:
    parsed = parse_command(text, BOT)
    assert parsed is not None
    assert (parsed.name, parsed.args, parsed.addressed) == expected


@pytest.mark.parametrize(
    "text", [None, "", "hello /start", "/start@other_bot", "/", "/with-dash", "/" + "x" * 33, "/start@"]
)
def test_not_a_command_for_us(text: str | None) -> None:
    assert parse_command(text, BOT) is None


@pytest.mark.parametrize(
    ("arg", "expected"),
    [("@ai_news", True), ("-1001234567890", True), ("robotics", False), ("-5", False), ("@ab", False)],
)
def test_channel_refs(arg: str, expected: bool) -> None:
    assert is_channel_ref(arg) is expected


def test_topic_only_for_real_forum_topics() -> None:
    assert topic_id(message(FORUM, message_thread_id=9, is_topic_message=True)) == 9
    assert topic_id(message(GROUP, message_thread_id=5)) is None  # a reply thread, not a topic
    assert topic_id(message(GROUP)) is None


def test_chat_ref_kinds_titles_and_topics() -> None:
    ref = chat_ref(message(FORUM).chat, 9)
    assert (ref.platform, ref.chat_id, ref.thread_id, ref.kind, ref.title) == (
        "telegram",
        "-1002",
        "9",
        "supergroup",
        "Forum",
    )
    private = chat_ref(message(PRIVATE).chat)
    assert (private.kind, private.title, private.thread_id) == ("private", "Ann", None)


def test_anonymous_admin_and_caller_ids() -> None:
    anonymous = message(
        GROUP, sender_chat=GROUP, **{"from": {"id": 1087968824, "is_bot": True, "first_name": "G"}}
    )
    assert is_anonymous_admin(anonymous)
    assert caller_id(anonymous) == "-1001"
    channel = {"id": -1009, "type": "channel", "title": "Linked"}
    linked = message(GROUP, sender_chat=channel)
    assert not is_anonymous_admin(linked)
    assert caller_id(message(GROUP, **{"from": USER})) == "42"


def change(chat: dict[str, Any], new: dict[str, Any]) -> ChatMemberUpdated:
    bot_user = {"id": 5, "is_bot": True, "first_name": "Digest"}
    data = {
        "chat": chat,
        "from": USER,
        "date": 0,
        "old_chat_member": {"user": bot_user, "status": "member"},
        "new_chat_member": {"user": bot_user, **new},
    }
    return ChatMemberUpdated.de_json(data, None)


ADMIN = {
    "status": "administrator",
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
}
CHANNEL = {"id": -1003, "type": "channel", "title": "News"}


@pytest.mark.parametrize(
    ("chat", "new", "expected"),
    [
        (PRIVATE, {"status": "kicked", "until_date": 0}, "bot was blocked by the user"),
        (GROUP, {"status": "kicked", "until_date": 0}, "bot was removed from the chat"),
        (GROUP, {"status": "left"}, "bot left the chat"),
        (GROUP, {"status": "member"}, None),
        (PRIVATE, {"status": "member"}, None),
        (CHANNEL, {**ADMIN, "can_post_messages": True}, None),
        (CHANNEL, {**ADMIN, "can_post_messages": False}, "bot may no longer post in the channel"),
        (CHANNEL, {"status": "member"}, "bot may no longer post in the channel"),
    ],
)
def test_gone_reason(chat: dict[str, Any], new: dict[str, Any], expected: str | None) -> None:
    assert gone_reason(change(chat, new)) == expected


def test_gone_reason_for_a_muted_bot() -> None:
    rights = dict.fromkeys(RESTRICTED_RIGHTS, True)
    muted = {"status": "restricted", "is_member": True, "until_date": 0, **rights, "can_send_messages": False}
    assert gone_reason(change(GROUP, muted)) == "bot may not send messages in the chat"
    assert gone_reason(change(GROUP, {**muted, "can_send_messages": True})) is None


# -- outcomes ------------------------------------------------------------------------------------


BLOCKED = "Forbidden: bot was blocked by the user"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (lambda: Forbidden(BLOCKED), ChatGone(BLOCKED)),
        (lambda: Forbidden("Forbidden: bot was kicked from the group chat"), ChatGone),
        (lambda: BadRequest("Bad Request: chat not found"), ChatGone("Chat not found")),
        (lambda: BadRequest("Bad Request: not enough rights to send text messages to the chat"), ChatGone),
        (lambda: BadRequest("Bad Request: need administrator rights in the channel chat"), ChatGone),
        (lambda: BadRequest("Bad Request: TOPIC_CLOSED"), ChatGone),
        (lambda: BadRequest("Bad Request: message thread not found"), ChatGone),
        (lambda: BadRequest("Bad Request: can't parse entities: unsupported start tag"), FormatRejected),
        (lambda: BadRequest("Bad Request: message is too long"), FormatRejected),
        (lambda: BadRequest("Bad Request: something new"), FormatRejected),
        (lambda: ChatMigrated(-100777), Migrated("-100777", "supergroup")),
        (lambda: RetryAfter(7), RetryLater(7.0)),
        (lambda: RetryAfter(timedelta(seconds=2.5)), RetryLater(2.5)),
        (lambda: TimedOut(), Transient),
        (lambda: NetworkError("Internal Server Error"), Transient),
        (lambda: InvalidToken("Unauthorized"), Transient),
        (lambda: Conflict("terminated by other getUpdates request"), Transient),
    ],
)
def test_outcome_for(error: Callable[[], TelegramError], expected: object) -> None:
    outcome = outcome_for(error())
    if isinstance(expected, type):
        assert isinstance(outcome, expected)
    else:
        assert outcome == expected


def test_send_kwargs_builds_ptb_parameters() -> None:
    payload = {"text": "<b>x</b>", "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
    kwargs = send_kwargs(Target("telegram", "-100123", "9", "supergroup"), payload)
    assert kwargs["chat_id"] == -100123
    assert kwargs["message_thread_id"] == 9
    assert kwargs["link_preview_options"] == LinkPreviewOptions(is_disabled=True)
    assert "message_thread_id" not in send_kwargs(Target("telegram", "@news", None, "channel"), {"text": "x"})
    assert send_kwargs(Target("telegram", "@news", None, "channel"), {"text": "x"})["chat_id"] == "@news"


@pytest.mark.parametrize(
    ("payload", "message"),
    [({"text": "x", "embeds": []}, "unsupported keys: embeds"), ({"parse_mode": "HTML"}, "needs a 'text'")],
)
def test_send_kwargs_rejects_payloads_the_renderer_should_never_make(
    payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        send_kwargs(Target("telegram", "1", None, "private"), payload)


# -- keyboards -----------------------------------------------------------------------------------

VOCABULARY = Vocabulary(
    [
        Category("robotics", "机器人", "Robotics"),
        Category("jobs", "就业市场", "Jobs"),
        Category("x" * 40, "长", "Long"),
        Category("other", "其他", "Other"),
    ]
)


def picker(selected: set[str], labels: str = "zh", done: bool = False) -> CategoryPicker:
    return CategoryPicker(
        tuple(PickerOption(c.id, c.display(labels), c.id in selected) for c in VOCABULARY), done=done
    )


def test_callback_data_round_trips_and_fits_64_bytes() -> None:
    for press in (
        keyboards.PickerPress(None, "toggle", "robotics"),
        keyboards.PickerPress("-1001234567890123", "toggle", "x" * 40),
        keyboards.PickerPress(None, "all"),
        keyboards.PickerPress("-100123", "done"),
    ):
        data = keyboards.encode(press)
        assert len(data.encode()) <= 64
        assert keyboards.decode(data) == press


@pytest.mark.parametrize("data", [None, "", "c", "c::t", "c::x:robotics", "z::t:robotics", "c::a:extra"])
def test_foreign_callback_data_is_ignored(data: str | None) -> None:
    assert keyboards.decode(data) is None


def test_over_long_callback_data_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="exceeds 64 bytes"):
        keyboards.encode(keyboards.PickerPress("-1001234567890123", "toggle", "y" * 60))


def test_picker_keyboard_marks_selected_and_all() -> None:
    markup = keyboards.picker_keyboard(picker({"jobs"}), "zh")
    buttons = [b for row in markup.inline_keyboard for b in row]
    labels = [b.text for b in buttons]
    assert labels == ["机器人", "✅ 就业市场", "长", "其他", "全部", "完成"]
    assert all(len(b.callback_data.encode()) <= 64 for b in buttons)  # type: ignore[union-attr]
    everything = keyboards.picker_keyboard(picker(set(), labels="en"), "en", target="-100123")
    last_row = [b.text for b in everything.inline_keyboard[-1]]
    assert last_row == ["✅ All", "Done"]
    assert everything.inline_keyboard[0][0].callback_data == "c:-100123:t:robotics"


# -- menus and reply splitting -------------------------------------------------------------------


def test_menus_cover_every_command_in_both_languages() -> None:
    assert set(menus.GROUP_ADMINS) - set(menus.GROUP_MEMBERS) == set(command_names(Access.MANAGERS))
    assert set(menus.OWNERS) == {spec.name for spec in COMMANDS}
    plan = menus.menu_plan("zh")
    assert len(plan) == 9
    assert {code for _, _, code, _ in plan} == {None, "zh", "en"}
    for _, names, _, language in plan:
        for command in menus.commands(names, language):
            assert 1 <= len(command.description) <= 256
    group_members = next(names for scope, names, _, _ in plan if scope.type == "all_group_chats")
    assert set(group_members) == {"latest", "status", "help", "id", "search"}


def test_split_text_respects_utf16_limit() -> None:
    assert split_text("short") == ["short"]
    assert split_text("") == ["…"]
    lines = "\n".join(["😀" * 30] * 10)
    parts = split_text(lines, limit=100)
    assert all(len(p.encode("utf-16-le")) // 2 <= 100 for p in parts)
    assert "\n".join(parts) == lines
    long_line = "a" * 250
    assert split_text(long_line, limit=100) == ["a" * 100, "a" * 100, "a" * 50]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["/", "/subscribe ", "/status@digest_test_bot ", ""]))
def test_any_text_parses_or_is_ignored(text: str, prefix: str) -> None:
    parsed = parse_command(prefix + text, BOT)
    if parsed is not None:
        assert parsed.name.isascii() and 1 <= len(parsed.name) <= 32
        assert all(arg and not any(c.isspace() for c in arg) for arg in parsed.args)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_callback_data_decodes_or_is_ignored(data: str) -> None:
    press = keyboards.decode(data)
    if press is not None:
        assert press.action in ("toggle", "all", "done")


def test_adapter_messages_exist_in_both_languages() -> None:
    for key, variants in texts.MESSAGES.items():
        assert set(variants) == {"zh", "en"}, key
        for language in ("zh", "en"):
            assert texts.tr(key, language, channel="@x")
