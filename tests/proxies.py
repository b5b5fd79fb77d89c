"""Real proxies on 127.0.0.1 for the proxy tests: an HTTP proxy (absolute-form requests, upgrades
and CONNECT, optional Basic auth) and a SOCKS5 proxy (no auth, or username/password, RFC 1929).

Each counts the client connections it carried and records every target, so a test can prove the
traffic went through it. Started with `async with`, stopped (every tunnel closed) on exit.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlsplit

PROXY_AUTH_REQUIRED = (
    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then half-close the other side."""
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter], b: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    """Both directions until both ends are done, then close both."""
    try:
        await asyncio.gather(_pipe(a[0], b[1]), _pipe(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()


@dataclass
class _Server:
    """What both proxies share: a listening socket, counters, and the tasks of live connections."""

    username: str | None = None
    password: str | None = None
    connections: int = 0
    targets: list[str] = field(default_factory=list)
    refused: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    port: int = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Each connection runs in its own task (asyncio's), kept so that exit can end the tunnels."""
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def url(self, scheme: str, *, auth: bool = True) -> str:
        userinfo = f"{self.username}:{self.password}@" if auth and self.username else ""
        return f"{scheme}://{userinfo}127.0.0.1:{self.port}"


class HttpProxy(_Server):
    """A forward proxy: `GET http://host/path` is sent on as `GET /path` (one request per connection,
    `Connection: close`, except upgrades, which are spliced), `CONNECT host:port` opens a tunnel."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
        method, target, version = request_line.split(" ", 2)
        headers = [tuple(line.split(":", 1)) for line in lines]
        if not self._authorised(headers):
            self.refused += 1
            writer.write(PROXY_AUTH_REQUIRED)
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            self.targets.append(f"CONNECT {target}")
            upstream = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _splice((reader, writer), upstream)
            return
        parts = urlsplit(target)
        self.targets.append(f"{method} {target}")
        upstream = await asyncio.open_connection(parts.hostname, parts.port or 80)
        upgrade = any(name.strip().lower() == "upgrade" for name, *_ in headers)
        kept = [
            f"{name}:{value[0]}"
            for name, *value in headers
            if name.strip().lower() not in ("proxy-authorization", "proxy-connection")
            and (upgrade or name.strip().lower() != "connection")
        ]
        if not upgrade:
            kept.append("Connection: close")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        upstream[1].write("\r\n".join([f"{method} {path} {version}", *kept, "", ""]).encode("latin-1"))
        await _splice((reader, writer), upstream)

    def _authorised(self, headers: list[tuple[str, ...]]) -> bool:
        if self.username is None:
            return True
        wanted = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return any(
            name.strip().lower() == "proxy-authorization" and value.strip() == f"Basic {wanted}"
            for name, value in headers
        )


class Socks5Proxy(_Server):
    """SOCKS5 CONNECT to IPv4, IPv6 or a domain name (socks5h), with or without username/password."""

    remote_names: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await self._handshake(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            writer.close()
            return
        if upstream is not None:
            await _splice((reader, writer), upstream)

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        wanted = 2 if self.username is not None else 0
        if version != 5 or wanted not in methods:
            writer.write(b"\x05\xff")
            writer.close()
            return None
        writer.write(bytes([5, wanted]))
        if wanted == 2:
            _, size = await reader.readexactly(2)
            user = (await reader.readexactly(size)).decode()
            size = (await reader.readexactly(1))[0]
            password = (await reader.readexactly(size)).decode()
            ok = (user, password) == (self.username, self.password)
            writer.write(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                self.refused += 1
                writer.close()
                return None
        _, command, _, kind = await reader.readexactly(4)
        if kind == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif kind == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            self.remote_names += 1
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        self.targets.append(f"{host}:{port}")
        if command != 1:
            writer.write(b"\x05\x07\x00\x01" + bytes(6))
            writer.close()
            return None
        upstream = await asyncio.open_connection(host, port)
        writer.write(b"\x05\x00\x00\x01" + bytes(4) + b"\x00\x00")
        await writer.drain()
        return upstream
