"""The base of every settings model: unknown keys are errors (a typo must not silently do nothing)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Frozen, and refusing keys it does not know.

    A list key defaults with `Field(default=[])` (pydantic copies a default for each instance), not
    `Field(default_factory=list)`: pydantic reads a factory's signature, and a builtin's is parsed
    with the tokenize module's patterns, ~5 ms to compile in every process that loads the config.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
