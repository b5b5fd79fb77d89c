"""Start-up cost of the command line, held as what it imports (a fact) rather than how long it takes
(a figure for `python bench/startup.py`): `preview` renders without any platform library, network
client, database or event loop, and `--version` without even the config's modules."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import get_args

from app_helpers import ROOT, SAMPLE
from cli_helpers import cli_environment
from pydantic import BaseModel

from bot.config import Settings
from bot.subscription_lines import SubscriptionLine

PLATFORM_AND_RUNTIME = {
    "telegram",
    "discord",
    "aiohttp",
    "httpx",
    "feedparser",
    "prometheus_client",
    "selenium",
    "aiosqlite",
    "sqlite3",
    "asyncio",
}
CONFIG_MODULES = {"pydantic", "yaml", "markdown_it", "bot.config", "bot.platforms.registry"}
# What `preview` does without (measured in README "Start-up"): the delivery outcomes (eight dataclasses,
# ~5 ms; platforms name them only in type hints) and the user folders' lookup (~5 ms; not needed when
# the working folder has a config, as the checkout these tests run in does).
PREVIEW_NEVER = {"bot.delivery.outcome", "platformdirs"}


def imported_by(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`python -X importtime -m bot ARGS`: its result and every module (and package) it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_environment(),
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return result, names | {name.split(".")[0] for name in names}


# What each platform's spec imports when first called rather than with the registry (markdown_it is
# not among them: the digest parser reads markdown with it).
RENDERING = {
    "telegram": {"bot.platforms.telegram.render", "bot.platforms.telegram.readable"},
    "discord": {
        "bot.platforms.discord.render",
        "bot.platforms.discord.readable",
        "bot.platforms.discord.parts",
    },
}


def test_preview_imports_no_platform_library_network_client_database_or_event_loop() -> None:
    """Only the asked-for platform's renderer is imported: the others stay behind their specs."""
    result, modules = imported_by("preview", str(SAMPLE), "--platform", "discord", "--json")
    assert result.returncode == 0 and json.loads(result.stdout), result.stderr[-2000:]
    assert {"bot.core.classify", "bot.platforms.discord.render"} <= modules  # it sees the rendering's
    assert not modules & PLATFORM_AND_RUNTIME, sorted(modules & PLATFORM_AND_RUNTIME)
    assert not modules & RENDERING["telegram"], sorted(modules & RENDERING["telegram"])
    assert not modules & PREVIEW_NEVER, sorted(modules & PREVIEW_NEVER)


def test_preview_as_text_imports_no_chat_platform_renderer() -> None:
    """`--platform text` (bench/startup.py's case) renders without Telegram's or Discord's modules."""
    result, modules = imported_by("preview", str(SAMPLE), "--platform", "text")
    assert result.returncode == 0 and "message 1/" in result.stdout, result.stderr[-2000:]
    assert "bot.render.text" in modules
    unwanted = (RENDERING["telegram"] | RENDERING["discord"] | PLATFORM_AND_RUNTIME | PREVIEW_NEVER) & modules
    assert not unwanted, sorted(unwanted)


def test_preview_for_telegram_shows_it_with_telegram_modules_only() -> None:
    result, modules = imported_by("preview", str(SAMPLE), "--platform", "telegram")
    assert result.returncode == 0 and "message 1/" in result.stdout, result.stderr[-2000:]
    assert RENDERING["telegram"] <= modules
    assert not modules & (RENDERING["discord"] | PLATFORM_AND_RUNTIME), sorted(modules & RENDERING["discord"])


def test_version_imports_neither_the_config_nor_the_renderers() -> None:
    result, modules = imported_by("--version")
    assert result.returncode == 0 and result.stdout.startswith("digestbot ")
    assert "bot.cli" in modules and not modules & (CONFIG_MODULES | PLATFORM_AND_RUNTIME)


COUNT_COLLECTIONS = """
import gc, sys
started = []
gc.callbacks.append(lambda phase, info: started.append(info) if phase == "start" else None)
from bot.cli import main
code = main(sys.argv[1:])
print(f"{code} {len(started)}", file=sys.stderr)
"""


def test_preview_holds_the_collector_off_while_it_starts() -> None:
    """Start-up (the registry, the config's models, the renderer) makes long-lived objects and no
    garbage: with the collector free to run, a preview of the sample started 72 collections."""
    result = subprocess.run(
        [sys.executable, "-c", COUNT_COLLECTIONS, "preview", str(SAMPLE), "--platform", "telegram"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_environment(),
    )
    code, collections = result.stderr.split()[-2:]
    assert code == "0" and "message 1/" in result.stdout, result.stderr[-2000:]
    assert int(collections) < 20


def models_within(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in get_args(annotation) for model in models_within(argument)]


def test_no_config_model_defaults_a_key_with_a_builtin_factory() -> None:
    """pydantic reads a default factory's signature, and a builtin's (`list`) is parsed with the
    tokenize module's patterns: ~5 ms to compile whenever a process loads the config."""
    pending: list[type[BaseModel]] = [Settings, SubscriptionLine]
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        seen.add(model)
        for name, field in model.model_fields.items():
            factory_module = getattr(field.default_factory, "__module__", None)
            assert factory_module != "builtins", f"{model.__name__}.{name}"
            pending += [inner for inner in models_within(field.annotation) if inner not in seen]
    assert len(seen) > 10  # every platform's section and what they nest
