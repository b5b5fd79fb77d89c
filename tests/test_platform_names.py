"""Outside bot/platforms/ no module names a chat platform: platforms are data in the registry.

A line that says "telegram" or "discord" elsewhere is a platform rule living outside its package
(or a comment that will go stale when the next platform arrives).
"""

from __future__ import annotations

import re
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
NAMES = re.compile(r"telegram|discord", re.IGNORECASE)


def offenders() -> list[str]:
    """`path:line: text` for every mention outside bot/platforms/."""
    found: list[str] = []
    for path in sorted(BOT.rglob("*.py")):
        relative = path.relative_to(BOT.parent)
        if relative.parts[:2] == ("bot", "platforms"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if NAMES.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_no_module_outside_the_platform_packages_names_a_platform() -> None:
    found = offenders()
    print("\n".join(found))
    assert found == []
