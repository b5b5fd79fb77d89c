"""sendMessage request bodies, each payload's JSON encoded once for all the chats it goes to.

A broadcast sends one rendered payload (a few KB of HTML) to thousands of chats; only the chat id
differs between their requests. Encoding the whole body per send was a tenth of the send path's
CPU, so the payload's part is encoded once and each body is that prefix plus the target's few bytes.
The result is byte for byte what `json.dumps` of the full parameters gives (tests/test_telegram_body.py).
"""

from __future__ import annotations

import json
from typing import Any

from bot.delivery.outcome import Payload, Target

# sendMessage parameters a rendered payload may carry; anything else is a renderer bug.
PAYLOAD_KEYS = frozenset(
    {"text", "parse_mode", "link_preview_options", "disable_notification", "protect_content"}
)
KEEP = 64  # payloads whose encoding is kept: a broadcast renders to a handful of different bodies


def check_payload(payload: Payload) -> None:
    """Refuse, before any request, a payload the Telegram renderer never makes."""
    unknown = payload.keys() - PAYLOAD_KEYS
    if unknown:
        raise ValueError(f"telegram payload has unsupported keys: {', '.join(sorted(unknown))}")
    if not isinstance(payload.get("text"), str):
        raise ValueError("telegram payload needs a 'text' string")


def chat_id_param(chat_id: str) -> int | str:
    """Numeric ids go out as integers; `@username` (public channels) stays a string."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def encode(value: Any) -> bytes:
    """JSON as request bodies carry it: compact, UTF-8."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class Bodies:
    """The JSON bodies of digest sends. The encoding of the last `KEEP` payload objects is kept,
    recognised by identity: the ledger hands the rows of one payload the same (never changed) dict,
    and holding the dict here keeps its id from being reused while it is cached."""

    def __init__(self, keep: int = KEEP) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self._keep = keep
        self._prefixes: dict[int, tuple[Payload, bytes]] = {}

    def body(self, target: Target, payload: Payload, *, paid: bool = False) -> bytes:
        """`encode` of the payload's keys, then `chat_id`, `message_thread_id` (when the target has
        one) and `allow_paid_broadcast` (when `paid`), in that order."""
        tail = [b',"chat_id":', _chat_json(target.chat_id)]
        if target.thread_id:
            tail += (b',"message_thread_id":', str(int(target.thread_id)).encode())
        if paid:
            tail.append(b',"allow_paid_broadcast":true')
        tail.append(b"}")
        return b"".join((self._prefix(payload), *tail))

    def _prefix(self, payload: Payload) -> bytes:
        """The payload's encoding without its closing brace (it has a text, so it is never `{}`)."""
        cached = self._prefixes.get(id(payload))
        if cached is not None:
            return cached[1]
        check_payload(payload)
        prefix = encode(payload)[:-1]
        if len(self._prefixes) >= self._keep:
            del self._prefixes[next(iter(self._prefixes))]
        self._prefixes[id(payload)] = (payload, prefix)
        return prefix


def _chat_json(chat_id: str) -> bytes:
    param = chat_id_param(chat_id)
    return str(param).encode() if isinstance(param, int) else encode(param)
