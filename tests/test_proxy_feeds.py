"""Feeds through a real HTTP proxy and a real SOCKS5 proxy on loopback: each proxy must carry the
request (its counters prove it) and the feed must still be read; the environment's variables and
NO_PROXY apply when the config sets no proxy; a dead proxy is a failed poll naming it, no password."""

from __future__ import annotations

import logging
import ssl
import subprocess
from datetime import timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from feed_server import Factory, FeedServer, digests, rss
from proxies import HttpProxy, Socks5Proxy

from bot.config import FeedSource
from bot.net.aiohttp_route import AiohttpRoute
from bot.net.proxy import parse_proxy
from bot.sources.factory import build_source
from bot.sources.feed import FeedPoller

PASSWORD = "s3cret-Pa55"
CST = timezone(timedelta(hours=8))


def poller_for(server: FeedServer, proxy: str | None, top_level: str | None = None) -> FeedPoller:
    """A poller built as the app builds it, from a `sources:` entry and the top-level setting."""
    spec = FeedSource(name="site", type="feed", url=server.url, timeout=2.0, proxy=proxy)
    source = build_source(spec, default_tz=CST, max_bytes=1 << 20, max_feed_bytes=1 << 22, proxy=top_level)
    assert isinstance(source, FeedPoller)
    return source


@pytest.mark.parametrize("auth", [False, True])
async def test_a_feed_is_read_through_an_http_proxy(server: FeedServer, auth: bool) -> None:
    server.serve(rss())
    async with HttpProxy(*(("reader", PASSWORD) if auth else ())) as proxy:
        poller = poller_for(server, proxy.url("http"))
        try:
            found = digests(await poller.poll())
        finally:
            await poller.aclose()
    assert len(found) == 2
    assert proxy.connections == 1 and proxy.refused == 0
    assert proxy.targets == [f"GET {server.url}"]  # absolute-form: the proxy fetched it


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
@pytest.mark.parametrize("auth", [False, True])
async def test_a_feed_is_read_through_a_socks5_proxy(server: FeedServer, scheme: str, auth: bool) -> None:
    server.serve(rss())
    host_url = server.url.replace("127.0.0.1", "localhost")
    async with Socks5Proxy(*(("reader", PASSWORD) if auth else ())) as proxy:
        spec = FeedSource(name="site", type="feed", url=host_url, timeout=2.0, proxy=proxy.url(scheme))
        poller = build_source(spec, default_tz=CST, max_bytes=1 << 20, max_feed_bytes=1 << 22)
        assert isinstance(poller, FeedPoller)
        try:
            assert len(digests(await poller.poll())) == 2
        finally:
            await poller.aclose()
    assert proxy.connections == 1 and proxy.refused == 0
    # socks5h hands the name to the proxy to resolve; socks5 resolves it here and sends an address
    assert proxy.remote_names == (1 if scheme == "socks5h" else 0)
    assert proxy.targets[0].startswith("localhost:" if scheme == "socks5h" else "127.0.0.1:")


async def test_the_top_level_setting_applies_and_a_feed_may_go_direct(server: FeedServer) -> None:
    server.serve(rss())
    async with HttpProxy() as proxy:
        through = poller_for(server, None, top_level=proxy.url("http"))
        direct = poller_for(server, "direct", top_level=proxy.url("http"))
        try:
            assert len(digests(await through.poll())) == 2
            assert len(digests(await direct.poll())) == 2
        finally:
            await through.aclose()
            await direct.aclose()
    assert proxy.connections == 1


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
async def test_environment_variables_are_picked_up(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    server.serve(rss())
    async with HttpProxy() as proxy:
        monkeypatch.setenv(variable, proxy.url("http"))
        poller = poller_for(server, None)
        try:
            assert len(digests(await poller.poll())) == 2
        finally:
            await poller.aclose()
    assert proxy.connections == 1


async def test_socks_from_all_proxy_and_no_proxy_is_respected(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.serve(rss())
    async with Socks5Proxy() as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url("socks5"))
        used = poller_for(server, None)
        monkeypatch.setenv("NO_PROXY", "example.org, 127.0.0.1")
        bypassing = poller_for(server, None)
        try:
            assert len(digests(await used.poll())) == 2
            assert len(digests(await bypassing.poll())) == 2
        finally:
            await used.aclose()
            await bypassing.aclose()
    assert proxy.connections == 1


async def test_a_wrong_proxy_password_or_dead_proxy_fails_the_poll_without_the_password(
    server: FeedServer, poller_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    server.serve(rss())
    async with HttpProxy() as http, Socks5Proxy() as socks:
        pass  # stopped: their ports are closed now
    dead = [
        f"http://reader:{PASSWORD}@127.0.0.1:{http.port}",
        f"socks5://reader:{PASSWORD}@127.0.0.1:{socks.port}",
    ]
    async with HttpProxy("reader", PASSWORD) as live_http, Socks5Proxy("reader", PASSWORD) as live_socks:
        wrong = [
            live_http.url("http").replace(PASSWORD, "wrong-" + PASSWORD),
            live_socks.url("socks5").replace(PASSWORD, "wrong-" + PASSWORD),
        ]
        with caplog.at_level(logging.DEBUG):
            for url in (*wrong, *dead):
                poller = poller_factory(route=AiohttpRoute(parse_proxy(url)))
                assert await poller.poll() == []
                assert poller.failures == 1
    assert live_http.refused == 1 and live_socks.refused == 1
    assert server.requests == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 4
    assert all("through the proxy" in line and "reader:***@127.0.0.1" in line for line in errors)
    assert PASSWORD not in caplog.text


def self_signed(folder: Path) -> ssl.SSLContext:
    """A server context for 127.0.0.1 with a fresh self-signed certificate (openssl), which
    `trusting` clients accept."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_an_https_feed_is_tunnelled_with_connect(tmp_path: Path) -> None:
    """An https target goes through CONNECT (the proxy never sees the request), with the password."""

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=rss(), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed(tmp_path))
    await site.start()
    port = runner.addresses[0][1]
    trusting = ssl.create_default_context(cafile=tmp_path / "cert.pem")
    try:
        async with (
            HttpProxy("reader", PASSWORD) as proxy,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)) as session,
        ):
            route = AiohttpRoute(parse_proxy(proxy.url("http")))
            poller = FeedPoller(
                "site", f"https://127.0.0.1:{port}/feed", timeout=5.0, session=session, route=route
            )
            assert len(digests(await poller.poll())) == 2
    finally:
        await runner.cleanup()
    assert proxy.targets == [f"CONNECT 127.0.0.1:{port}"] and proxy.refused == 0
