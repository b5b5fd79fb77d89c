"""What sources hand the store: digests recorded (de-duplicated by scope) and read back for sending."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.core.model import Digest
from bot.store.database import Database
from bot.store.dialect import json_ids
from bot.store.digests import RecordResult, decode_digest

if TYPE_CHECKING:
    from bot.sources.base import Incoming

log = logging.getLogger(__name__)


class DigestOps(Database):
    """The store's digest operations; each is one committed transaction."""

    _scopes: Mapping[str, str] = MappingProxyType({})

    async def use_sources(self, scopes: Mapping[str, str]) -> None:
        """Each configured source's scope (Settings.source_scopes): digests of one scope with equal
        ids are one digest. Stored rows follow the config (see DigestRepo.rescope); a source not
        listed is its own scope."""
        async with self.transaction() as tx:
            moved = await tx.digests.rescope(scopes)
        self._scopes = dict(scopes)
        for source, count in moved.items():
            log.info("%d stored digests of source %s now belong to scope %s", count, source, scopes[source])

    async def record_incoming(self, incoming: Incoming) -> RecordResult:
        """Store one source result: new | duplicate | changed or republished (kept, not resent) |
        error (logged once)."""
        scope = self._scopes.get(incoming.source, incoming.source)
        async with self.transaction() as tx:
            return await tx.digests.record(incoming, scope, self.clock.now())

    async def source_known(self, source: str) -> bool:
        """Whether anything of this source was ever stored (a new feed's first poll is history)."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall("SELECT 1 FROM digests WHERE source = ? LIMIT 1", (source,))
        return bool(rows)

    async def latest_seq(self) -> int | None:
        """The newest ok digest (a changed digest's new version included): what /latest shows.
        Rows are never rewritten, so it keys caches of renderings."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT seq FROM digests WHERE status = 'ok' ORDER BY seq DESC LIMIT 1"
            )
        return next(iter(rows))[0] if rows else None

    async def load_digests(self, seqs: Collection[int]) -> dict[int, Digest]:
        """Stored ok digests by seq (missing or broken seqs are simply absent), decoded in a worker
        thread after the lock is released: a large digest holds up neither the event loop nor
        anyone waiting for the database."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall(
                f"SELECT seq, model FROM digests WHERE status = 'ok' AND seq IN {json_ids(tx.conn.dialect)}",
                (json.dumps(list(seqs)),),
            )
        models = {row["seq"]: row["model"] for row in rows}
        return await asyncio.to_thread(_decode_all, models)


def _decode_all(models: dict[int, str]) -> dict[int, Digest]:
    return {seq: decode_digest(model) for seq, model in models.items()}
