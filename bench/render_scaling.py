"""Benchmark of how rendering scales with the size of one pathological post.

Each shape is one digest whose single item carries a huge summary made of one repeated pattern
(the splitter, the escapes and the parser see their worst inputs there), plus "items", many small
ordinary items. It prints the best-of-N time of parse + classify ("parse"), then for every
platform of the render alone and of the whole pipeline a user pays ("full": the sum) at each size,
and the growth ratio t(4n)/t(n): about 4 means linear, 16 quadratic.
Targets: every ratio <= 4.6, and a 512 KiB post under 1 s per platform.
Run: python bench/render_scaling.py [--repeat 3] [--sizes 64,256,1024] [--shapes bold,links]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bot.config import load_settings
from bot.core.classify import classify
from bot.core.parse import parse_digest
from bot.platforms.discord.render import render_discord
from bot.platforms.telegram.render import render_telegram
from bot.render import Renderer
from bot.render.options import RenderOptions
from bot.render.text import render_text

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = load_settings(ROOT / "config.example.yaml").vocabulary()
OPTIONS = RenderOptions(vocabulary=VOCABULARY, language="zh")
PLATFORMS: dict[str, Renderer] = {
    "telegram": render_telegram,
    "discord": render_discord,
    "discord-md": partial(render_discord, embeds=False),
    "text": render_text,
}
FRONT = '---\ntitle: "2025.12.01.08 Scaling"\ndate: 2025-12-01T08:00:00+08:00\n---\n\n'
ITEM_HEAD = "1.  [A huge item - Bench](https://example.com/huge)\n\n    "
UNITS: dict[str, Callable[[int], str]] = {
    "bold": lambda n: f"**b{n}** ",
    "links": lambda n: f"[l{n}](https://example.com/{n}) ",
    "lt-amp": lambda n: "<&>&<" * 3 + " ",
    "marks": lambda n: "a_b*c \\_\\* _ * ",
    "cjk": lambda n: "人工智能正在改变世界，机器人进入工厂" + ("。" if n % 7 == 0 else ""),
    "emoji": lambda n: "👩‍💻🇨🇳👍🏽é",
    "mixed": lambda n: (
        f"**粗体{n}** [link](https://example.com/{n}) `code<&>` *it_al* ~~s~~ 😀 text. "
        + ("\\\n    " if n % 9 == 0 else "")
    ),
}


def post(shape: str, size: int) -> str:
    """A digest of about `size` bytes of UTF-8 in the given shape."""
    if shape == "items":
        return _items_post(size)
    unit = UNITS[shape]
    pieces, used, n = [FRONT, ITEM_HEAD], len(FRONT.encode()) + len(ITEM_HEAD.encode()), 0
    while used < size:
        piece = unit(n)
        pieces.append(piece)
        used += len(piece.encode())
        n += 1
    return "".join(pieces) + "\n"


def _items_post(size: int) -> str:
    pieces, used, n = [FRONT], len(FRONT.encode()), 1
    while used < size:
        piece = (
            f"{n}.  [Item {n} title with <tags> & stuff - Author {n}](https://example.com/{n})\n\n"
            f"    某公司发布了新一代**人形机器人**，在工厂夜班完成搬运任务。Regulators proposed "
            f"**new rules** for frontier model audits; companies have *90 days* to comment.\n\n"
        )
        pieces.append(piece)
        used += len(piece.encode())
        n += 1
    return "".join(pieces)


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """The minimum of `repeat` timings: the machine is shared, the minimum is the least disturbed."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="timings per cell (the minimum is kept)")
    parser.add_argument("--sizes", default="64,256,512,1024", help="post sizes in KiB")
    parser.add_argument("--shapes", default=",".join([*UNITS, "items"]), help="comma-separated shapes")
    parser.add_argument("--platforms", default=",".join(PLATFORMS), help="comma-separated platforms")
    args = parser.parse_args()
    sizes = [int(kib) * 1024 for kib in args.sizes.split(",")]
    ratios = [(small, 4 * small) for small in sizes if 4 * small in sizes]
    columns = "".join(f"{size // 1024:>7}K" for size in sizes)
    growth = "".join(f"  x4@{small // 1024}K" for small, _ in ratios)
    print(f"{'shape':<8} {'platform':<11} {'stage':<7}{columns} (seconds){growth}", flush=True)
    worst = 0.0

    def row(shape: str, platform: str, stage: str, times: dict[int, float]) -> None:
        nonlocal worst
        factors = [times[big] / times[small] for small, big in ratios]
        worst = max([worst, *factors])
        cells = "".join(f"{times[size]:>8.3f}" for size in sizes)
        shown = "".join(f"{factor:>9.2f}" for factor in factors)
        print(f"{shape:<8} {platform:<11} {stage:<7}{cells}          {shown}", flush=True)

    for shape in args.shapes.split(","):
        texts = {size: post(shape, size) for size in sizes}
        digests = {size: classify(parse_digest(text, "bench"), VOCABULARY) for size, text in texts.items()}
        parsing = {
            size: best_of(args.repeat, lambda t=text: classify(parse_digest(t, "bench"), VOCABULARY))
            for size, text in texts.items()
        }
        row(shape, "-", "parse", parsing)
        for platform in args.platforms.split(","):
            render = PLATFORMS[platform]
            times = {
                size: best_of(args.repeat, lambda d=digest, r=render: r(d, OPTIONS))
                for size, digest in digests.items()
            }
            row(shape, platform, "render", times)
            row(shape, platform, "full", {size: parsing[size] + times[size] for size in sizes})
    print(f"worst growth ratio t(4n)/t(n): {worst:.2f}")


if __name__ == "__main__":
    main()
