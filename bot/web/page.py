"""The dashboard page: server-rendered HTML, an inline SVG chart and a few lines of vanilla JS.

Everything taken from the database (digest titles, chat titles, reasons) is user input and goes
through `html.escape`; the script reads only JSON numbers and sets `textContent`, never HTML.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from bot.store.dashboard import RATE_WINDOW, Overview, Progress

CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 720, 160, 2

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
progress { width: 100%; height: 1.6em; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #ddd; padding: .3em .5em; text-align: left; vertical-align: top; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
svg rect { fill: #3b7dd8; } svg text { font-size: 10px; fill: #555; }
.muted { color: #777; }
"""

SCRIPT = """
(function () {
  const bar = document.getElementById("progress");
  const field = (name) => document.getElementById(name);
  const eta = (s) => s === null ? "-" : s < 60 ? Math.round(s) + " s" : Math.round(s / 60) + " min";
  async function poll() {
    try {
      const answer = await fetch("api/progress", {credentials: "same-origin", cache: "no-store"});
      if (!answer.ok) { field("status").textContent = "HTTP " + answer.status; return; }
      const p = await answer.json();
      if (p.digest === null) { return; }
      bar.max = Math.max(p.total, 1);
      bar.value = p.done;
      bar.dataset.done = String(p.done);
      field("title").textContent = p.title;
      field("done").textContent = p.done;
      field("total").textContent = p.total;
      field("sent").textContent = p.sent;
      field("rate").textContent = p.rate.toFixed(1);
      field("eta").textContent = eta(p.eta_seconds);
      field("status").textContent = p.open ? "sending" : "done";
    } catch (error) {
      field("status").textContent = "offline";
    }
  }
  poll();
  setInterval(poll, 1000);
})();
"""


def progress_json(progress: Progress | None, now: datetime) -> dict[str, Any]:
    """The progress bar's numbers: rows done / total, sent, rate (sends per second over the last
    RATE_WINDOW seconds, or since the digest was stored when that is shorter) and the ETA."""
    if progress is None:
        return {"digest": None}
    elapsed = RATE_WINDOW
    if progress.stored_at is not None:
        elapsed = min(RATE_WINDOW, max((now - progress.stored_at).total_seconds(), 1.0))
    rate = progress.recent_sent / elapsed
    return {
        "digest": progress.digest_seq,
        "title": progress.title,
        "total": progress.total,
        "done": progress.done,
        "open": progress.open,
        "sent": progress.states.get("sent", 0),
        "states": progress.states,
        "unexpanded": progress.unexpanded,
        "rate": round(rate, 2),
        "eta_seconds": round(progress.open / rate, 1) if progress.open and rate > 0 else None,
    }


def render_page(overview: Overview, progress: Progress | None, now: datetime, nonce: str) -> str:
    """The whole page; `nonce` marks its one script for the Content-Security-Policy header."""
    current = progress_json(progress, now)
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>digestbot</title><style>{STYLE}</style></head><body>",
            "<h1>digestbot</h1>",
            _progress_section(current),
            "<h2>Messages sent per hour, last 48 hours (UTC)</h2>",
            _chart(overview.hours),
            "<h2>Recent digests</h2>",
            _digests_table(overview.digests),
            f"<h2>Paused chats ({overview.paused_total})</h2>",
            _paused_table(overview),
            f'<p class="muted">Rendered {escape(now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))} UTC.</p>',
            f'<script nonce="{escape(nonce)}">{SCRIPT}</script>',
            "</body></html>",
        ]
    )


def _progress_section(current: dict[str, Any]) -> str:
    if current["digest"] is None:
        title, done, total, sent, rate, eta, status = "no broadcast yet", 0, 0, 0, 0.0, "-", "idle"
    else:
        title, done, total, sent = current["title"], current["done"], current["total"], current["sent"]
        rate, status = current["rate"], "sending" if current["open"] else "done"
        eta = "-" if current["eta_seconds"] is None else f"{current['eta_seconds']:.0f} s"
    return (
        f'<h2>Current broadcast: <span id="title">{escape(str(title))}</span></h2>'
        f'<progress id="progress" value="{done}" max="{max(total, 1)}" data-done="{done}"></progress>'
        f'<p><span id="done">{done}</span> / <span id="total">{total}</span> messages done'
        f' (<span id="sent">{sent}</span> sent), <span id="rate">{rate:.1f}</span> per second,'
        f' ETA <span id="eta">{escape(eta)}</span> - <span id="status">{status}</span></p>'
    )


def _chart(hours: list[tuple[datetime, int]]) -> str:
    """One bar per hour, scaled to the busiest; each bar's tooltip gives the hour and the count."""
    peak = max((count for _, count in hours), default=0) or 1
    width = CHART_WIDTH / max(len(hours), 1)
    parts = [
        f'<svg id="chart" width="{CHART_WIDTH}" height="{CHART_HEIGHT + 14}" role="img"'
        f' aria-label="messages sent per hour">'
    ]
    for index, (hour, count) in enumerate(hours):
        height = round(CHART_HEIGHT * count / peak, 1)
        x = round(index * width, 1)
        label = f"{hour.strftime('%m-%d %H:00')}: {count}"
        parts.append(
            f'<rect x="{x}" y="{CHART_HEIGHT - height}" width="{round(width - BAR_GAP, 1)}"'
            f' height="{height}"><title>{escape(label)}</title></rect>'
        )
        if hour.hour % 6 == 0:
            parts.append(f'<text x="{x}" y="{CHART_HEIGHT + 12}">{hour.strftime("%H:00")}</text>')
    parts.append(f'<text x="0" y="10">max {peak}/h</text></svg>')
    return "".join(parts)


def _digests_table(digests: list[Progress]) -> str:
    if not digests:
        return '<p class="muted">No digest yet.</p>'
    rows = ["<table><tr><th>digest</th><th>stored</th><th class=num>messages</th><th>outcomes</th></tr>"]
    for digest in digests:
        stored = digest.stored_at.strftime("%Y-%m-%d %H:%M") if digest.stored_at else ""
        shown = sorted(digest.states.items())
        if digest.unexpanded:
            shown.append(("unexpanded", digest.unexpanded))
        outcomes = ", ".join(f"{state} {count}" for state, count in shown)
        rows.append(
            f"<tr><td>{escape(digest.title)}</td><td>{escape(stored)}</td>"
            f"<td class=num>{digest.total}</td><td>{escape(outcomes) or '-'}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _paused_table(overview: Overview) -> str:
    if not overview.paused:
        return '<p class="muted">None.</p>'
    rows = ["<table><tr><th>platform</th><th>chat</th><th>reason</th><th>since</th></tr>"]
    for chat in overview.paused:
        since = chat.paused_at.strftime("%Y-%m-%d %H:%M") if chat.paused_at else ""
        name = f"{chat.title} ({chat.chat_id})" if chat.title else chat.chat_id
        rows.append(
            f"<tr><td>{escape(chat.platform)}</td><td>{escape(name)}</td>"
            f"<td>{escape(chat.reason)}</td><td>{escape(since)}</td></tr>"
        )
    rows.append("</table>")
    if overview.paused_total > len(overview.paused):
        rows.append(f'<p class="muted">The newest {len(overview.paused)} of {overview.paused_total}.</p>')
    return "".join(rows)
