"""Command-flood benchmark: how long other chats wait for a reply while one user or one group floods.

    python bench/command_flood.py [--flood 40] [--members 20]

Runs the real PTB Application of the bot against the loopback fake Bot API (tests/fake_telegram.py)
with Telegram's pacing (per chat 4/s here, 20/min per group) and the default command budget:
1. one user sends `--flood` /status at once in a private chat; another user then sends /help;
2. `--members` members of one group each send /status once; another user then sends /help.
Prints the other user's reply latency, how many replies the flooder got and how many of them were
"slow down". Target: the other user is answered within 1 s in both scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_telegram import FakeTelegram, FloodRules
from pydantic import SecretStr

from bot.commands.service import CommandService
from bot.core.clock import SystemClock
from bot.core.model import Category, Vocabulary
from bot.delivery.config import RateLimits
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.adapter import TelegramPlatform
from bot.platforms.telegram.config import TelegramConfig
from bot.platforms.telegram.spec import GROUP_KINDS
from bot.store.db import Store

TOKEN = "7512345678:AAF-benchBENCHbenchBENCHbenchBENCH12"
VOCABULARY = Vocabulary([Category("tech", "技术进展", "Tech"), Category("other", "其他", "Other")])
PACED = RateLimits(global_per_second=30, per_chat_per_second=4, per_group_per_minute=20)


async def answered_in(fake: FakeTelegram, chat_id: int, sender: dict[str, object]) -> float:
    before = len(fake.sent_to(chat_id))
    started = time.perf_counter()
    fake.push_message(chat_id, "/help", sender=sender)
    await fake.wait_for(lambda: len(fake.sent_to(chat_id)) > before, timeout=120)
    return time.perf_counter() - started


async def run(flood: int, members: int) -> bool:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(per_chat_per_second=4.0)) as fake:
        with tempfile.TemporaryDirectory() as folder:
            store = await Store.open(Path(folder) / "bench.sqlite")
            config = TelegramConfig(token=SecretStr(TOKEN), base_url=fake.base_url, rate_limits=PACED)
            platform = TelegramPlatform(
                config,
                CommandService(store, VOCABULARY, renderers=default_renderers()),
                default_language="en",
                limiter=RateLimiter({"telegram": RatePolicy(PACED, GROUP_KINDS)}, SystemClock()),
            )
            await platform.start()
            try:
                flooder = fake.user(1, language="en")
                for _ in range(flood):
                    fake.push_message(1, "/status", sender=flooder)
                private = await answered_in(fake, 2, fake.user(2, language="en"))
                await asyncio.sleep(3)
                replies = [m.text for m in fake.sent_to(1)]
                slow = sum(text.startswith("Too many commands") for text in replies)
                print(
                    f"flood of {flood} /status: other chat answered in {private * 1000:.0f} ms; "
                    f"flooder got {len(replies)} replies, {slow} of them 'slow down'"
                )

                fake.add_chat(-100, "supergroup", title="Busy")
                for member in range(10, 10 + members):
                    fake.push_message(-100, "/status", sender=fake.user(member, language="en"))
                await fake.wait_for(lambda: len(fake.sent_to(-100)) >= 1)
                group = await answered_in(fake, 3, fake.user(3, language="en"))
                print(
                    f"{members} members at once in one group: other chat answered in {group * 1000:.0f} ms; "
                    f"group replies sent so far {len(fake.sent_to(-100))} (20/min pacing)"
                )
            finally:
                await platform.stop()
                await store.close()
    met = private < 1.0 and group < 1.0
    print("target (other chats answered within 1 s):", "met" if met else "MISSED")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=40)
    parser.add_argument("--members", type=int, default=20)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.flood, args.members)) else 1)


if __name__ == "__main__":
    main()
