"""The bytes of a digest send: request bodies from a cached payload encoding, message ids read
from the front of an answer, and parsed payloads shared between claims. Each shortcut must give
exactly what the long way (json.dumps of the full parameters, json.loads of the whole answer) gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import plan

from bot.delivery.outcome import Target
from bot.platforms.telegram.body import Bodies, encode
from bot.platforms.telegram.bot_api import quick_message_id
from bot.platforms.telegram.sender import send_params
from bot.store import ledger
from bot.store.db import Store

PREVIEWS = st.fixed_dictionaries(
    {}, optional={"is_disabled": st.booleans(), "url": st.text(), "prefer_small_media": st.booleans()}
)
PAYLOADS = st.fixed_dictionaries(
    {"text": st.text()},
    optional={
        "parse_mode": st.sampled_from(["HTML", "MarkdownV2"]),
        "link_preview_options": PREVIEWS,
        "disable_notification": st.booleans(),
        "protect_content": st.booleans(),
    },
)
CHAT_IDS = st.one_of(
    st.integers(-(10**15), 10**15).map(str), st.from_regex(r"@[A-Za-z][A-Za-z0-9_]{3,30}", fullmatch=True)
)
TARGETS = st.builds(
    Target,
    platform=st.just("telegram"),
    chat_id=CHAT_IDS,
    thread_id=st.one_of(st.none(), st.integers(1, 10**9).map(str)),
    kind=st.just("supergroup"),
)


def full_body(target: Target, payload: dict[str, Any], paid: bool) -> bytes:
    """The long way: every parameter in one dict, encoded whole."""
    params = send_params(target, payload)
    if paid:
        params["allow_paid_broadcast"] = True
    return encode(params)


@settings(max_examples=300, deadline=None)
@given(payload=PAYLOADS, targets=st.lists(TARGETS, min_size=1, max_size=4), paid=st.booleans())
def test_a_cached_body_equals_the_whole_payload_encoded(
    payload: dict[str, Any], targets: list[Target], paid: bool
) -> None:
    bodies = Bodies()
    for target in targets:  # the first builds the cached prefix, the others reuse it
        body = bodies.body(target, payload, paid=paid)
        assert body == full_body(target, payload, paid)
        assert json.loads(body) == json.loads(full_body(target, payload, paid))


def test_the_encoding_is_kept_for_the_same_payload_object_only() -> None:
    bodies = Bodies(keep=2)
    target = Target("telegram", "42", None, "private")
    first, twin = {"text": "a"}, {"text": "a"}
    assert bodies.body(target, first) == bodies.body(target, twin) == b'{"text":"a","chat_id":42}'
    for n in range(5):  # older entries make room: the cache stays at `keep`
        text = f"n{n}"
        assert bodies.body(target, {"text": text}) == encode({"text": text, "chat_id": 42})
    assert len(bodies._prefixes) == 2


@pytest.mark.parametrize(
    "payload",
    [{"text": "hi", "reply_markup": {}}, {"parse_mode": "HTML"}, {"text": 5}],
    ids=["unknown-key", "no-text", "text-not-a-string"],
)
def test_a_payload_the_renderer_never_makes_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="telegram payload"):
        Bodies().body(Target("telegram", "1", None, "private"), payload)


MESSAGE = {
    "message_id": 4711,
    "from": {"id": 1, "is_bot": True, "first_name": "Digest"},
    "chat": {"id": 42, "type": "private"},
    "date": 1_700_000_000,
    "text": '发送 "ok" \\"result\\" message_id',
    "entities": [{"type": "bold", "offset": 0, "length": 2}],
}


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps({"ok": True, "result": MESSAGE}, separators=(",", ":")).encode(),  # as Telegram
        json.dumps({"ok": True, "result": MESSAGE}).encode(),  # as aiohttp's json_response
        json.dumps({"ok": True, "result": MESSAGE}, ensure_ascii=False).encode() + b"\n",
        b'{"ok":true,"result":{"message_id":0}}',
    ],
    ids=["compact", "spaced", "utf8-newline", "id-zero"],
)
def test_the_usual_success_is_read_from_its_front(answer: bytes) -> None:
    message_id = quick_message_id(answer)
    assert message_id is not None
    assert message_id == json.loads(answer)["result"]["message_id"]


@pytest.mark.parametrize(
    "answer",
    [
        b'{"ok":true,"result":{"message_id":5},"ok":false}',  # JSON keeps the last: not ok
        b'{"ok":true,"result":{"message_id":5,"message_id":"x"}}',  # the last id is no int
        b'{"ok":true,"result":{"message_id":5},"result":{}}',
        b'{"ok":true,"result":{"message_id":5,"reply_to_message":{"message_id":3}}}',  # slow path
        b'{"ok":true,"result":{"message_id":05}}',  # not JSON
        b'{"ok":true,"result":{"message_id":5.0}}',
        b'{"ok":true,"result":{"message_id":-5}}',
        b'{"ok":true,"result":{"message_id":"5"}}',
        b'{"ok":true,"result":{"message_id":5}',  # cut short
        b' {"ok":true,"result":{"message_id":5}}',
        b'{"result":{"message_id":5},"ok":true}',
        b'{"ok":false,"error_code":400,"description":"Bad Request"}',
        b"",
    ],
)
def test_anything_else_gets_the_full_parse(answer: bytes) -> None:
    assert quick_message_id(answer) is None


KEYS = st.sampled_from(["ok", "result", "message_id", "date", "x"])
PAIRS = st.lists(st.tuples(KEYS, st.one_of(st.integers(), st.booleans(), st.text(max_size=3))), max_size=3)


def json_object(pairs: list[tuple[str, Any]], separators: tuple[str, str]) -> str:
    """A JSON object written pair by pair, so a key may repeat (as a dict cannot)."""
    comma, colon = separators
    return "{" + comma.join(f"{json.dumps(k)}{colon}{v}" for k, v in pairs) + "}"


@settings(max_examples=500, deadline=None)
@given(
    message_id=st.integers(0, 2**53),
    text=st.text(),
    compact=st.booleans(),
    inner=PAIRS,
    outer=PAIRS,
)
def test_a_quick_id_is_always_the_id_a_full_parse_finds(
    message_id: int,
    text: str,
    compact: bool,
    inner: list[tuple[str, Any]],
    outer: list[tuple[str, Any]],
) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    dump = lambda value: json.dumps(value, separators=separators)  # noqa: E731
    result = json_object(
        [("message_id", dump(message_id)), ("text", dump(text))] + [(k, dump(v)) for k, v in inner],
        separators,
    )
    answer = json_object([("ok", "true"), ("result", result)] + [(k, dump(v)) for k, v in outer], separators)
    quick = quick_message_id(answer.encode())
    full = json.loads(answer)
    if quick is not None:
        assert full["ok"] is True and quick == full["result"]["message_id"] == message_id
    elif not inner and not outer:  # the usual success takes the quick way, unless its text is a
        # key's very name or has braces (then it cannot be told from a repeated key or a cut answer)
        assert text in ("ok", "result", "message_id") or "{" in text or "}" in text


async def test_rows_of_one_payload_share_its_parsed_body_across_claims(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "bot.db") as store:
        await plan(store, ["1", "2"], parts=1)
        now = store.clock.now()
        first = await store.claim_due(now, 1, ["telegram"])
        second = await store.claim_due(now, 1, ["telegram"], {first[0].id})
    assert first[0].payload == second[0].payload
    assert first[0].payload is second[0].payload  # so the sender's encoding of it is reused


def test_a_payload_id_with_another_body_is_parsed_again() -> None:
    old = ledger._parsed(-7, '{"text":"old"}')
    assert ledger._parsed(-7, '{"text":"old"}') is old
    assert ledger._parsed(-7, '{"text":"new"}') == {"text": "new"}
    assert len(ledger._PARSED) <= ledger.PARSED_KEEP
