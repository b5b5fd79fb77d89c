"""Headless Chromium (Debian's `chromium` and `chromium-driver` packages) driven by Selenium.

Missing browser packages fail the test with the command that installs them: a browser test that
skips silently would let the dashboard break unnoticed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # git-ignored; CI may keep it
INSTALL = "apt-get install -y chromium chromium-driver"


def browser_paths() -> tuple[str, str]:
    """The Chromium binary and its driver, or a test failure saying how to install them."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        missing = " and ".join(
            name for name, path in (("chromium", binary), ("chromedriver", driver)) if path is None
        )
        pytest.fail(f"{missing} not found: the dashboard browser test needs them; install with `{INSTALL}`")
    return binary, driver


@contextmanager
def headless_chromium() -> Iterator[webdriver.Chrome]:
    """A fresh headless browser (no sandbox: CI runs as root), closed afterwards."""
    binary, driver_path = browser_paths()
    options = Options()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1300"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
