"""Where the config is looked for, and where the packaged defaults keep their files.

Inside a project folder (a clone, or a folder with a config.yaml) everything stays there; outside
one, the packaged defaults put the database and digest folder in the user's data directory, so
`digestbot run` from any folder finds the same database instead of scattering new ones.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot.config import DirectorySource, Settings

APP = "digestbot"
CONFIG_ENV = "DIGESTBOT_CONFIG"
SAMPLES = Path(__file__).with_name("samples")
SEARCH_ORDER = (
    "--config PATH, else $DIGESTBOT_CONFIG, else ./config.yaml, else ./config.example.yaml (a clone of the "
    "repository), else config.yaml in the user's config folder ({config}), else the packaged defaults, "
    "which keep the database and digest folder in the user's data folder ({data})"
)


def user_config_file() -> Path:
    import platformdirs  # ~5 ms: looked for only when no config is in the working folder

    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.yaml"


def user_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def search_order() -> str:
    """The order, with this user's folders filled in (for --help and the docs)."""
    return SEARCH_ORDER.format(config=user_config_file(), data=user_data_dir())


def config_path(explicit: str | None) -> Path | None:
    """The config file the user meant, or None for the packaged defaults (see SEARCH_ORDER)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    for candidate in (Path("config.yaml"), Path("config.example.yaml")):
        if candidate.is_file():
            return candidate
    user_file = user_config_file()
    return user_file if user_file.is_file() else None


def seed_samples(settings: Settings) -> list[Path]:
    """On the packaged defaults' first run, create their digest folders with the bundled sample
    digest in them, so the console quick start has something to show; returns the folders made."""
    made: list[Path] = []
    for source in settings.sources:
        if isinstance(source, DirectorySource) and not source.path.exists():
            source.path.mkdir(parents=True)
            for sample in sorted(SAMPLES.glob("*.md")):
                shutil.copyfile(sample, source.path / sample.name)
            made.append(source.path)
    return made
