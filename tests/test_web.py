"""The HTTP server of a running app: /healthz states, /metrics content, token checks, escaping."""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path

import pytest
from app_helpers import ROOT, SAMPLE
from prometheus_client.parser import text_string_to_metric_families
from waiting import ledger_settled, wait_for
from web_helpers import HTTP_TOKEN, get, web_app, web_settings

from bot.config import ConfigError, parse_settings
from bot.web.metrics import Metrics

BROKEN = ROOT / "tests" / "fixtures" / "digests" / "bad" / "invalid_yaml.md"
BEARER = {"Authorization": f"Bearer {HTTP_TOKEN}"}
PLATFORM_TOKEN = "7512345678:AAF-healthHEALTHhealthHEALTHhea12"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels (parsed by prometheus_client)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_is_ok_while_everything_runs_and_says_why_not(tmp_path: Path) -> None:
    async with web_app(web_settings(tmp_path)) as (app, url):
        ok = await get(url + "healthz")
        assert (ok.status, ok.text) == (200, "ok\n")
        app.stop_requested.set()
        stopping = await get(url + "healthz")
        assert (stopping.status, stopping.text) == (503, "shutting down\n")
        app.stop_requested.clear()
        app.core_tasks[-1].cancel()  # the scheduler dies
        await wait_for(lambda: app.core_tasks[-1].done(), message="the scheduler task ended")
        dead = await get(url + "healthz")
        assert dead.status == 503 and dead.text == "scheduler: stopped\n"
        assert HTTP_TOKEN not in dead.text


async def test_healthz_names_a_failing_database(tmp_path: Path) -> None:
    """A real SQLite refusal (query_only stops every write, even root's) until a write works again."""
    async with web_app(web_settings(tmp_path)) as (app, url):
        assert app.store is not None
        console = app.platforms[0]
        await app.store._conn.execute("PRAGMA query_only = ON")
        reply = await console.handle_line("/subscribe")  # type: ignore[attr-defined]
        assert reply is not None and app.store.health.failing
        answer = await get(url + "healthz")
        assert (answer.status, answer.text) == (503, "database unavailable\n")
        await app.store._conn.execute("PRAGMA query_only = OFF")
        await console.handle_line("/subscribe")  # type: ignore[attr-defined]
        assert (await get(url + "healthz")).status == 200


async def test_metrics_count_deliveries_digests_and_sample_gauges(tmp_path: Path) -> None:
    async with web_app(web_settings(tmp_path)) as (app, url):
        console = app.platforms[0]
        await console.handle_line("/subscribe")  # type: ignore[attr-defined]
        shutil.copy(BROKEN, tmp_path / "posts" / "broken.md")
        shutil.copy(SAMPLE, tmp_path / "posts" / SAMPLE.name)
        assert app.store is not None
        await wait_for(lambda: ledger_settled(Path(app.store.path)), message="the digest delivered")
        await wait_for(lambda: app.metrics.rejected._value.get() == 1, message="the broken post counted")
        answer = await get(url + "metrics", headers=BEARER)
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
        found = samples(answer.text)
        sent = found[("digestbot_deliveries_total", (("outcome", "sent"), ("platform", "console")))]
        assert sent >= 1
        assert found[("digestbot_send_seconds_count", (("platform", "console"),))] == sent
        assert found[("digestbot_digests_ingested_total", ())] == 1
        assert found[("digestbot_digests_rejected_total", ())] == 1
        assert found[("digestbot_queue_depth", (("state", "pending"),))] == 0
        assert found[("digestbot_queue_depth", (("state", "sending"),))] == 0
        assert found[("digestbot_paused_chats", ())] == 0
        assert found[("digestbot_database_bytes", ())] > 0


async def test_two_apps_in_one_process_keep_their_own_metrics() -> None:
    first, second = Metrics(), Metrics()
    first.send_finished("console", "sent", 0.2)
    assert first.deliveries.labels("console", "sent")._value.get() == 1
    assert second.deliveries.labels("console", "sent")._value.get() == 0


async def test_tokens_guard_the_dashboard_and_metrics(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with web_app(web_settings(tmp_path)) as (_, url):
        for path in ("", "api/progress", "metrics"):
            missing = await get(url + path)
            assert missing.status == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
            wrong = await get(url + path, headers={"Authorization": "Bearer not-the-token-at-all"})
            assert wrong.status == 401
        assert (await get(url, params={"token": "guess-guess-guess"})).status == 401
        assert (await get(url, headers=BEARER)).status == 200
        login = await get(url, params={"token": HTTP_TOKEN})
        assert login.status == 303 and login.headers["Location"] == "./"
        cookie = login.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and HTTP_TOKEN not in cookie
        progress = await get(url + "api/progress", cookies=login.cookies)
        assert progress.status == 200 and progress.text == '{"digest": null}'
        forged = await get(url + "api/progress", cookies={"digestbot_session": "0" * 64})
        assert forged.status == 401
    assert HTTP_TOKEN not in caplog.text
    assert "http server on http://127.0.0.1:" in caplog.text


async def test_without_a_token_the_dashboard_is_off_and_metrics_open(tmp_path: Path) -> None:
    async with web_app(web_settings(tmp_path, token="")) as (_, url):
        page = await get(url)
        assert page.status == 403 and "http.token" in page.text
        assert (await get(url + "api/progress")).status == 401
        assert (await get(url + "metrics")).status == 200


async def test_digest_titles_are_escaped_on_the_page(tmp_path: Path) -> None:
    title = '2025.11.22.08 <script>alert("x")</script> & <b>news</b>'
    text = SAMPLE.read_text(encoding="utf-8")
    original = next(line for line in text.splitlines() if line.startswith("title:"))
    hostile = text.replace(original, f"title: '{title}'", 1)
    async with web_app(web_settings(tmp_path)) as (app, url):
        (tmp_path / "posts" / "hostile.md").write_text(hostile, encoding="utf-8")
        await wait_for(lambda: app.metrics.ingested._value.get() == 1, message="the digest stored")
        page = await get(url, headers=BEARER)
    assert page.status == 200
    assert "script-src 'nonce-" in page.headers["Content-Security-Policy"]
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;news&lt;/b&gt;" in page.text


@pytest.mark.parametrize(
    ("http", "problem"),
    [
        ({"token": "short"}, "http.token: the token must be at least 16 characters (or empty: no dashboard)"),
        ({"port": 70000}, "http.port: Input should be less than or equal to 65535"),
        ({"listen": ""}, "http.listen: String should have at least 1 character"),
        ({"tls": True}, "http.tls: unknown key"),
    ],
)
def test_bad_http_settings_name_the_key(tmp_path: Path, http: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"http": http}, "test", tmp_path)
    assert caught.value.problems == [problem]


def test_the_http_token_is_a_secret(tmp_path: Path) -> None:
    assert HTTP_TOKEN in web_settings(tmp_path).secrets()
    assert parse_settings({}, "test", tmp_path).http is None  # absent = no server


async def test_a_port_in_use_is_a_clear_start_error(tmp_path: Path) -> None:
    async with web_app(web_settings(tmp_path)) as (app, _):
        assert app.web is not None
        taken = web_settings(tmp_path / "other", http={"port": app.web.port})
        with pytest.raises(RuntimeError, match=r"^http: cannot listen on 127\.0\.0\.1:\d+: "):
            async with web_app(taken):
                pass


async def test_healthz_says_which_platform_is_still_starting(tmp_path: Path) -> None:
    """A Bot API server that cannot be reached yet: the bot runs, retrying it, and /healthz says so."""
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    telegram = {"token": PLATFORM_TOKEN, "base_url": f"http://127.0.0.1:{closed}/bot"}
    async with web_app(web_settings(tmp_path, telegram=telegram)) as (_, url):
        answer = await get(url + "healthz")
    assert (answer.status, answer.text) == (503, "telegram: still starting\n")
    assert PLATFORM_TOKEN not in answer.text


async def test_listening_beyond_loopback_without_a_token_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.web.server")
    open_to_all = web_settings(tmp_path, http={"listen": "0.0.0.0", "port": 0, "token": ""})
    async with web_app(open_to_all):
        pass
    assert any("without a token: /metrics is open to the network" in r.message for r in caplog.records)
    caplog.clear()
    async with web_app(web_settings(tmp_path / "loopback", token="")):
        pass
    assert not any("without a token" in r.message for r in caplog.records)
