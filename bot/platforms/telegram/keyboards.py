"""The category picker as an inline keyboard, and the callback data its buttons carry.

Callback data is at most 64 bytes (Telegram's limit): `c:<target>:<action>[:<category id>]`, where
target is empty for the chat the keyboard is in, or a channel id when a channel is managed from a
private chat; category ids are at most 40 ASCII characters, so the longest form still fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.commands.model import CategoryPicker, Confirm
from bot.platforms.telegram.texts import tr

MAX_CALLBACK_BYTES = 64
CHECK = "✅"
_PREFIX = "c"
_ACTIONS = {"t": "toggle", "a": "all", "d": "done"}
_CODES = {name: code for code, name in _ACTIONS.items()}
PER_ROW = 2
_CONFIRM = "k"  # `k:<command>:<token>[:<target>]`: a confirmation button (/announce, /forget)


@dataclass(frozen=True, slots=True)
class ConfirmPress:
    """A decoded confirm button: the command to run as `confirm <token>`, and the chat it is about."""

    command: str
    token: str
    target: str | None = None

    def args(self) -> tuple[str, ...]:
        return ("confirm", self.token)


def confirm_keyboard(confirm: Confirm, target: str | None = None) -> InlineKeyboardMarkup:
    """One button that runs `/<command> confirm <token>` for whoever presses it."""
    data = ":".join([_CONFIRM, confirm.command, confirm.token, *([target] if target else [])])
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"confirm callback data exceeds {MAX_CALLBACK_BYTES} bytes")
    return InlineKeyboardMarkup([[InlineKeyboardButton(confirm.label, callback_data=data)]])


def decode_confirm(data: str | None) -> ConfirmPress | None:
    """The confirm press a button's data describes, or None when it is not one of ours."""
    parts = (data or "").split(":", 3)
    if len(parts) < 3 or parts[0] != _CONFIRM or not parts[1].isalpha() or not parts[2].isdigit():
        return None
    return ConfirmPress(parts[1], parts[2], parts[3] if len(parts) == 4 and parts[3] else None)


@dataclass(frozen=True, slots=True)
class PickerPress:
    """A decoded button press: the categories-command arguments and the chat they are about."""

    target: str | None
    action: str
    category: str | None = None

    def args(self) -> tuple[str, ...]:
        return (self.action, self.category) if self.category else (self.action,)


def encode(press: PickerPress) -> str:
    """Callback data for a button; raises ValueError if it would not fit Telegram's 64 bytes."""
    parts = [_PREFIX, press.target or "", _CODES[press.action]]
    if press.category:
        parts.append(press.category)
    data = ":".join(parts)
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data for category {press.category!r} exceeds {MAX_CALLBACK_BYTES} bytes")
    return data


def decode(data: str | None) -> PickerPress | None:
    """The press a button's data describes, or None for data this bot never produced."""
    if not data:
        return None
    parts = data.split(":", 3)
    if len(parts) < 3 or parts[0] != _PREFIX or parts[2] not in _ACTIONS:
        return None
    action = _ACTIONS[parts[2]]
    category = parts[3] if len(parts) == 4 and parts[3] else None
    if (action == "toggle") != (category is not None):
        return None
    return PickerPress(parts[1] or None, action, category)


def picker_keyboard(picker: CategoryPicker, language: str, target: str | None = None) -> InlineKeyboardMarkup:
    """One toggle button per category (checked when chosen), then "all" and "done"."""
    buttons = [
        InlineKeyboardButton(
            f"{CHECK} {option.label}" if option.selected else option.label,
            callback_data=encode(PickerPress(target, "toggle", option.id)),
        )
        for option in picker.options
    ]
    rows = [buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)]
    everything = tr("all", language)
    rows.append(
        [
            InlineKeyboardButton(
                f"{CHECK} {everything}" if picker.all_selected else everything,
                callback_data=encode(PickerPress(target, "all")),
            ),
            InlineKeyboardButton(tr("done", language), callback_data=encode(PickerPress(target, "done"))),
        ]
    )
    return InlineKeyboardMarkup(rows)
