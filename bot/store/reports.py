"""Reports for people: owner statistics (`digestbot stats`, /stats) and a chat's /status summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.store.connection import Connection
from bot.store.database import Database
from bot.store.digests import decode_digest
from bot.store.fanout import FanOutRepo
from bot.store.times import from_db, to_db


class ReportOps(Database):
    """Read-only summaries of the whole database or of one subscription."""

    async def stats(self, now: datetime) -> dict[str, Any]:
        """Owner statistics: subscriptions by platform/kind/status, 24 h deliveries, the last fan-out,
        and the database's size on disk."""
        async with self.transaction(write=False) as tx:
            conn = tx.conn
            subscriptions = await _subscription_counts(conn)
            deliveries = await _delivery_counts_since(conn, now - timedelta(days=1))
            open_rows = await _open_count(conn)
            last = await _last_digest(conn)
            if last is not None:
                last = {**last, **await _fanout(conn, last["seq"], last["stored_at"])}
            size = await _server_size(conn) if conn.dialect == "postgres" else self.file_size()
        return {
            "subscriptions": subscriptions,
            "deliveries_24h": deliveries,
            "open": open_rows,
            "last_digest": last,
            "database_bytes": size,
        }

    async def fanout_progress(self, digest_seq: int) -> tuple[int, int, int]:
        """A digest's fan-out as (total, sent, still to send), for the progress log: its rows, plus
        one for each subscription its expansion has not reached yet (pending, in effect)."""
        async with self.transaction(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT count(*), coalesce(sum(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END), 0)"
                " FROM deliveries WHERE digest_seq = ? AND unit = ?",
                (digest_seq, f"d{digest_seq}"),
            )
            unexpanded = await tx.fanout.unexpanded(digest_seq)
        total, sent, remaining = next(iter(rows))
        return int(total) + unexpanded, int(sent), int(remaining) + unexpanded

    async def delivery_summary(self, subscription_id: int) -> dict[str, Any]:
        """For /status: last_sent_at, pending (unsent rows), last_error and last_error_at."""
        async with self.transaction(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT max(sent_at),"
                " sum(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END)"
                " FROM deliveries WHERE subscription_id = ?",
                (subscription_id,),
            )
            last_sent, pending = next(iter(rows))
            errors = await tx.conn.fetchall(
                "SELECT last_error, updated_at FROM deliveries WHERE subscription_id = ? AND state = 'failed'"
                " ORDER BY updated_at DESC LIMIT 1",
                (subscription_id,),
            )
        error = next(iter(errors)) if errors else None
        if error is not None and last_sent is not None and error["updated_at"] < last_sent:
            error = None  # an old failure that later deliveries have made irrelevant
        return {
            "last_sent_at": from_db(last_sent),
            "pending": int(pending or 0),
            "last_error": error["last_error"] if error else None,
            "last_error_at": from_db(error["updated_at"]) if error else None,
        }


async def _server_size(conn: Connection) -> int:
    """The PostgreSQL database's size on the server's disk (its files are not the bot's to stat)."""
    rows = await conn.fetchall("SELECT pg_database_size(current_database())")
    return int(next(iter(rows))[0])


async def _subscription_counts(conn: Connection) -> dict[str, dict[str, dict[str, int]]]:
    """platform -> kind -> status -> number of subscriptions."""
    rows = await conn.fetchall(
        "SELECT platform, kind, status, count(*) FROM subscriptions GROUP BY platform, kind, status"
        " ORDER BY platform, kind, status"
    )
    result: dict[str, dict[str, dict[str, int]]] = {}
    for platform, kind, status, count in rows:
        result.setdefault(platform, {}).setdefault(kind, {})[status] = count
    return result


async def _delivery_counts_since(conn: Connection, since: datetime) -> dict[str, int]:
    """Outcomes since `since` by state (open rows are counted apart), from the finished-rows index."""
    rows = await conn.fetchall(
        "SELECT state, count(*) FROM deliveries WHERE updated_at >= ? AND state NOT IN ('pending', 'sending')"
        " GROUP BY state ORDER BY state",
        (to_db(since),),
    )
    return {state: count for state, count in rows}


async def _open_count(conn: Connection) -> int:
    """From the kept counts (a few rows per digest): counting the rows read a whole index of the
    ledger, since the planner preferred any index holding `state` to the partial deliveries_open."""
    rows = await conn.fetchall(
        "SELECT coalesce(sum(count), 0) FROM delivery_counts WHERE state IN ('pending', 'sending')"
    )
    return int(next(iter(rows))[0])


async def _last_digest(conn: Connection) -> dict[str, Any] | None:
    rows = await conn.fetchall(
        "SELECT seq, digest_id, source, stored_at, planned_at, model FROM digests"
        " WHERE status = 'ok' AND revision_of IS NULL ORDER BY seq DESC LIMIT 1"
    )
    if not rows:
        return None
    row = next(iter(rows))
    return {
        "seq": row["seq"],
        "id": row["digest_id"],
        "title": decode_digest(row["model"]).title,
        "source": row["source"],
        "stored_at": from_db(row["stored_at"]),
        "planned_at": from_db(row["planned_at"]),
    }


async def _fanout(conn: Connection, digest_seq: int, stored_at: datetime) -> dict[str, Any]:
    """Progress of one digest's instant fan-out: rows by state, plus `unexpanded` (subscriptions its
    expansion has not written rows for yet) while there are any; `fanout_seconds` is the time from
    storing the digest to its last send, once every row is written and none is open any more."""
    rows = await conn.fetchall(
        "SELECT state, count(*), max(sent_at) FROM deliveries WHERE digest_seq = ? AND unit = ?"
        " GROUP BY state",
        (digest_seq, f"d{digest_seq}"),
    )
    states: dict[str, int] = {state: count for state, count, _ in rows}
    expanding = await conn.fetchall(
        "SELECT 1 FROM digests WHERE seq = ? AND plan_state = 'pending'", (digest_seq,)
    )
    if expanding:
        states["unexpanded"] = await FanOutRepo(conn).unexpanded(digest_seq)
    last_sent = from_db(max((sent for _, _, sent in rows if sent), default=None))
    done = not expanding and not states.get("pending") and not states.get("sending")
    seconds = round((last_sent - stored_at).total_seconds(), 3) if done and last_sent else None
    return {"deliveries": states, "fanout_seconds": seconds}
