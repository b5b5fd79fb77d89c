"""Benchmark of the digest core: parse + classify + render, per platform.

Prints digests per second and microseconds per item for the bundled sample digest and for a
generated 200-item digest. Target: the whole pipeline for the sample under 5 ms.
Run: python bench/core.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import load_settings
from bot.core.classify import classify
from bot.core.parse import parse_digest
from bot.platforms import registry
from bot.render.options import RenderOptions

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = load_settings(ROOT / "config.example.yaml").vocabulary()
OPTIONS = RenderOptions(vocabulary=VOCABULARY, timezone=ZoneInfo("Asia/Shanghai"), language="zh")
SUMMARIES = [
    "某公司发布了新一代**人形机器人**，在工厂夜班完成搬运任务，单台每小时抓取约 120 次。",
    "Regulators proposed **new rules** for frontier model audits; companies have *90 days* to comment.",
    "研究团队开源了一个 `70B` 参数的模型，在多个基准上**超过闭源对手**，并公布了训练数据配方。",
    "Layoffs hit entry-level roles while **AI hiring** grew 30% year over year, a survey found.",
]


def generated(items: int) -> str:
    """A digest in the bundled format with `items` numbered entries of mixed languages."""
    lines = [
        "---",
        'title: "2025.12.01.08 Benchmark digest"',
        "date: 2025-12-01T08:00:00+08:00",
        'categories: ["机器人", "就业市场", "政策与治理"]',
        "---",
        "",
    ]
    for n in range(1, items + 1):
        summary = " ".join(SUMMARIES[(n + k) % len(SUMMARIES)] for k in range(3))
        lines += [f"{n}.  [Item {n} title with <tags> & stuff - Author {n}](https://example.com/{n})", ""]
        lines += [f"    {summary}", ""]
    return "\n".join(lines)


def measure(label: str, work: Callable[[], object], items: int, seconds: float) -> None:
    work()
    runs, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        work()
        runs += 1
    per_run = elapsed / runs
    print(
        f"{label:<34} {1 / per_run:>9.1f} digests/s  {per_run * 1e3:>8.3f} ms/digest"
        f"  {per_run * 1e6 / items:>8.1f} µs/item"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    inputs = {
        "sample": (ROOT / "digests" / "2025.11.20.20.md").read_text(encoding="utf-8"),
        "generated-200": generated(200),
    }
    for name, text in inputs.items():
        digest = classify(parse_digest(text, name), VOCABULARY)
        count = len(digest.items)
        print(f"== {name}: {count} items, {len(text.encode())} bytes")
        measure(f"{name} parse", lambda t=text, n=name: parse_digest(t, n), count, args.seconds)
        measure(
            f"{name} parse+classify",
            lambda t=text, n=name: classify(parse_digest(t, n), VOCABULARY),
            count,
            args.seconds,
        )
        for spec in registry.PLATFORMS:
            platform, render = spec.render_format, spec.make_renderer(spec.config_model())
            measure(
                f"{name} full pipeline -> {platform}",
                lambda t=text, n=name, r=render: r(classify(parse_digest(t, n), VOCABULARY), OPTIONS),
                count,
                args.seconds,
            )


if __name__ == "__main__":
    main()
