"""Renderers: pure functions from a selected, classified digest to exact platform payloads.

Only the generic machinery lives here (document layout, splitter, limits, the plain-text renderer);
each platform package holds its own format's renderer, and its spec builds it with the operator's
choices bound (see bot.platforms.spec).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.model import Digest
from bot.render.options import RenderOptions
from bot.render.text import render_text

Renderer = Callable[[Digest, RenderOptions], list[Any]]

__all__ = ["RenderOptions", "Renderer", "render_text"]
