"""Which proxy, if any, a connection to a URL goes through: the config's, else the environment's.

One rule for every client (platforms and feeds), so an operator behind a firewall sets it once:
a `proxy:` setting (top level, overridden per platform or per feed) wins; without one, the standard
variables apply (`https_proxy`/`HTTPS_PROXY` for https and wss targets, `http_proxy`/`HTTP_PROXY`
for http and ws, then `all_proxy`/`ALL_PROXY`; lower case first, as curl reads them). `NO_PROXY`
is honoured for both. `direct` as a setting means no proxy, whatever the environment says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

SCHEMES = ("http", "https", "socks5", "socks5h")
DIRECT = "direct"
# Per target scheme, the variables looked at, in order.
_ENV_NAMES = {
    "https": ("https_proxy", "HTTPS_PROXY"),
    "wss": ("https_proxy", "HTTPS_PROXY"),
    "http": ("http_proxy", "HTTP_PROXY"),
    "ws": ("http_proxy", "HTTP_PROXY"),
}
_ALL = ("all_proxy", "ALL_PROXY")
_NO = ("no_proxy", "NO_PROXY")
MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class Proxy:
    """A parsed proxy URL; `url` keeps the credentials, `shown` is fit for logs and errors."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def socks(self) -> bool:
        return self.scheme.startswith("socks")

    @property
    def remote_dns(self) -> bool:
        """socks5h: the proxy resolves host names (needed where local DNS is filtered)."""
        return self.scheme == "socks5h"

    @property
    def address(self) -> str:
        """scheme://host:port, without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The full URL, credentials included (percent-encoded): only for the client library."""
        if self.username is None:
            return self.address
        auth = quote(self.username, safe="")
        if self.password is not None:
            auth += ":" + quote(self.password, safe="")
        return self.address.replace("://", f"://{auth}@", 1)

    @property
    def shown(self) -> str:
        """The URL as logs show it: user name kept, password never."""
        if self.username is None:
            return self.address
        return self.address.replace("://", f"://{quote(self.username, safe='')}:***@", 1)

    def secrets(self) -> list[str]:
        """The password as written, percent-encoded, and as a bytes repr shows it (httpcore logs
        the SOCKS credentials that way at DEBUG), for log redaction."""
        if not self.password:
            return []
        as_bytes = repr(self.password.encode("utf-8"))[2:-1]
        return sorted({self.password, quote(self.password, safe=""), as_bytes})


def parse_proxy(value: str) -> Proxy:
    """A proxy URL (`http://`, `https://`, `socks5://`, `socks5h://`, with optional user:password
    and a port); ValueError says what is wrong, without repeating the password."""
    if len(value) > MAX_URL:
        raise ValueError(f"a proxy URL is at most {MAX_URL} characters")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise ValueError("not a valid URL (check the host and the port)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        wanted = ", ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"the proxy URL must start with one of {wanted} (or be {DIRECT!r})")
    if not parts.hostname:
        raise ValueError("the proxy URL has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("a proxy URL is scheme://[user:password@]host:port, without a path")
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme, 1080)
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    if scheme.startswith("socks") and not all(_socks_credential(v) for v in (username, password)):
        raise ValueError("a SOCKS5 user name and password must be ASCII, at most 255 characters each")
    return Proxy(scheme, parts.hostname, port, username, password)


def _socks_credential(value: str | None) -> bool:
    """RFC 1929 gives each a length byte; the SOCKS client library sends them as ASCII."""
    return value is None or (value.isascii() and len(value) <= 255)


def check_setting(value: str | None) -> str | None:
    """A config value: a proxy URL or `direct`; unset or empty (`${PROXY:-}`) is None, so the
    environment decides. For pydantic validators."""
    if value is None or not value.strip():
        return None
    if value.strip().lower() == DIRECT:
        return DIRECT
    parse_proxy(value)
    return value.strip()


def choose(override: str | None, default: str | None) -> str | None:
    """A per-platform or per-feed setting wins over the top-level one (`direct` included)."""
    return override if override is not None else default


def setting_secrets(value: str | None) -> list[str]:
    """The password of a configured proxy, for `Settings.secrets()`."""
    return [] if value in (None, DIRECT) else parse_proxy(value).secrets()


def env_proxies(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every proxy variable that is set (name -> value), for validation at start-up."""
    env = os.environ if environ is None else environ
    names = {n for names in _ENV_NAMES.values() for n in names} | set(_ALL)
    return {name: env[name] for name in sorted(names) if env.get(name, "").strip()}


def env_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per proxy variable that is not a usable proxy URL, naming the variable."""
    problems = []
    for name, value in env_proxies(environ).items():
        try:
            parse_proxy(value)
        except ValueError as exc:
            problems.append(f"{name} (environment): {exc}")
    return problems


def env_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """The passwords in the proxy variables, redacted from logs like configured secrets."""
    found: list[str] = []
    for value in env_proxies(environ).values():
        try:
            found += parse_proxy(value).secrets()
        except ValueError:
            continue
    return found


def bypassed(target: str, environ: Mapping[str, str] | None = None) -> bool:
    """`NO_PROXY` lists the target's host: `*`, the host or a parent domain (`example.com` and
    `.example.com` both cover `api.example.com`), optionally with a port that must match too."""
    env = os.environ if environ is None else environ
    no_proxy = next((env[n] for n in _NO if env.get(n)), "")
    parts = urlsplit(target)
    host = (parts.hostname or "").lower()
    if not no_proxy or not host:
        return False
    port = parts.port or {"https": 443, "wss": 443, "http": 80, "ws": 80}.get(parts.scheme.lower())
    for entry in no_proxy.lower().split(","):
        entry = entry.strip()
        if entry == "*":
            return True
        name, _, wanted_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
        name = name.strip("[]").lstrip(".")
        if name and (host == name or host.endswith("." + name)) and wanted_port in ("", str(port)):
            return True
    return False


def _has_port(entry: str) -> bool:
    """`host:port` or `[v6]:port`, not a bare IPv6 address."""
    head, colon, tail = entry.rpartition(":")
    return bool(colon) and tail.isdigit() and (head.endswith("]") or ":" not in head)


def resolve(setting: str | None, target: str, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy to reach `target` through, or None for a direct connection.

    `setting` is the config's (already checked by `check_setting`); an invalid variable raises
    ValueError naming it (config loading reports it first, see `env_problems`).
    """
    if setting == DIRECT or bypassed(target, environ):
        return None
    if setting is not None:
        return parse_proxy(setting)
    env = os.environ if environ is None else environ
    scheme = urlsplit(target).scheme.lower()
    for name in (*_ENV_NAMES.get(scheme, ()), *_ALL):
        value = env.get(name, "").strip()
        if value:
            try:
                return parse_proxy(value)
            except ValueError as exc:
                raise ValueError(f"{name} (environment): {exc}") from None
    return None
