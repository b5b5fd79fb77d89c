"""The platform registry's invariants: the chat kinds each platform declares are the only ones it produces.

The store no longer validates chat kinds (which kinds exist is each platform's rule), so these tests
are what keeps a platform from storing a kind its own spec does not know, which the rate limiter
(group kinds) and config broadcasts (broadcast_kind) rely on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import discord
import pytest
from telegram import Chat
from telegram.constants import ChatType
from telegram.error import ChatMigrated

from bot.config import parse_settings
from bot.delivery.outcome import Migrated
from bot.platforms import console_spec, registry
from bot.platforms import discord as discord_platform
from bot.platforms import telegram as telegram_platform
from bot.platforms.console import CONSOLE_CHAT
from bot.platforms.discord.channels import chat_kind
from bot.platforms.discord.spec import DM, FORUM, GUILD_CHANNEL
from bot.platforms.spec import PlatformSpec
from bot.platforms.telegram.errors import outcome_for
from bot.platforms.telegram.handlers import SUPERGROUP
from bot.platforms.telegram.translate import chat_ref

ROOT = Path(__file__).resolve().parent.parent
# Private chats, groups, channels and snowflakes as an operator would write them in `broadcasts:`.
CHAT_IDS = ("42", "-42", "-1001234567890", "@news", "1234567890123456789", "local")
SPECS = pytest.mark.parametrize("spec", registry.PLATFORMS, ids=registry.names())


def test_names_are_unique() -> None:
    assert len(set(registry.names())) == len(registry.PLATFORMS)


def test_get_finds_every_platform_and_refuses_an_unknown_one() -> None:
    assert [registry.get(name) for name in registry.names()] == list(registry.PLATFORMS)
    with pytest.raises(KeyError):
        registry.get("fax")


@SPECS
def test_a_broadcasts_guessed_kind_is_one_of_the_platforms_kinds(spec: PlatformSpec) -> None:
    assert {spec.broadcast_kind(chat_id) for chat_id in CHAT_IDS} <= spec.chat_kinds


@SPECS
def test_group_kinds_are_chat_kinds(spec: PlatformSpec) -> None:
    assert spec.group_kinds <= spec.chat_kinds


@SPECS
def test_the_config_model_needs_no_settings_and_is_disabled_without_a_token(spec: PlatformSpec) -> None:
    config = parse_settings({}, "empty", Path("/")).platform_config(spec)
    assert isinstance(config, spec.config_model)
    assert config == spec.config_model()
    assert not config.enabled
    assert config.secrets() == []


def test_the_console_is_the_only_fallback_and_runs_when_nothing_is_configured() -> None:
    assert [spec for spec in registry.PLATFORMS if spec.fallback] == [console_spec.SPEC]
    assert parse_settings({}, "empty", Path("/")).enabled_platforms() == [console_spec.SPEC]


def test_the_console_chat_has_a_console_kind() -> None:
    assert CONSOLE_CHAT.kind in console_spec.SPEC.chat_kinds


def test_every_chat_type_telegram_sends_us_is_a_telegram_kind() -> None:
    """`sender` is the type of an inline query's own chat, never a chat that receives messages."""
    chats = [Chat(id=-100, type=chat_type) for chat_type in ChatType if chat_type is not ChatType.SENDER]
    assert {chat_ref(chat).kind for chat in chats} == telegram_platform.SPEC.chat_kinds


def test_a_migrated_telegram_chat_keeps_a_telegram_kind() -> None:
    outcome = outcome_for(ChatMigrated(-1001234567890))
    assert isinstance(outcome, Migrated)
    assert outcome.new_kind in telegram_platform.SPEC.chat_kinds
    assert SUPERGROUP in telegram_platform.SPEC.chat_kinds


def test_every_discord_channel_we_can_post_to_has_a_discord_kind() -> None:
    kinds = {chat_kind(channel_type) for channel_type in discord.ChannelType}
    assert kinds - {None} <= discord_platform.SPEC.chat_kinds
    assert {DM, FORUM, GUILD_CHANNEL} <= discord_platform.SPEC.chat_kinds


def test_the_registry_and_config_import_no_platform_library() -> None:
    """Only a platform's `build` imports its client library, so a bot with Telegram disabled never
    loads python-telegram-bot (nor discord.py): checked in a fresh interpreter."""
    code = (
        "import sys, bot.platforms.registry, bot.config\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'discord')))\n"
    )
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        timeout=60,
    )
    assert result.stdout.strip() == "[]", result.stdout
