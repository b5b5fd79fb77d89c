"""The base of every settings model: unknown keys are errors (a typo must not silently do nothing)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Frozen, and refusing keys it does not know."""

    model_config = ConfigDict(extra="forbid", frozen=True)
