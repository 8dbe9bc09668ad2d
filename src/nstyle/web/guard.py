"""Who may talk to the server, so that it is safe to leave running on a laptop while browsing.

Two checks before any route, both a one-line JSON ``{"detail": ...}``:

* the ``Host`` header must name the server (400 otherwise): a DNS-rebinding page, whose own name now points at
  127.0.0.1, reaches the port but sends its own name, so it cannot read the gallery;
* a request that changes something (POST, PUT, PATCH, DELETE) must come from the server's own page when a
  browser says where it comes from (403 otherwise): ``Origin`` (or, without it, ``Referer``) must be this
  server's own origin, and ``Sec-Fetch-Site`` must not be ``cross-site``. Requests that send neither (curl,
  scripts) are not from a web page and pass.

Starlette's TrustedHostMiddleware does the first check but answers in plain text and has no second one; one
small middleware does both in the API's own error format.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

#: The names every server answers for: this machine, as a browser on it would name it.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
#: Addresses that mean "every interface": the server cannot know which of the machine's names is used.
WILDCARDS = ("0.0.0.0", "::")
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HOST = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::(?P<port>[0-9]{1,5}))?$")
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_name(value: str) -> str:
    """The name in a Host value (``NAME``, ``NAME:PORT``, ``[V6]:PORT``), lower case, brackets and a trailing dot
    dropped; "" for anything else (a user part, a path, spaces), so a malformed Host never matches."""
    if not value:
        return ""
    m = _HOST.match(value.strip())
    if not m:
        return ""
    return (m["v6"] or m["name"]).lower().rstrip(".")


def served_hosts(host: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The Host names a server listening on ``host`` answers for: the localhost names, ``host`` itself, and
    ``extra`` (``--allow-host``). For a wildcard address (0.0.0.0, ::) that is the machine's own name
    (``socket.gethostname()``, also as ``NAME.local``) instead of ``host``: its addresses are not guessed
    (a DNS lookup, and a laptop's address changes with the network), so reaching it by address takes
    ``--allow-host ADDRESS``."""
    names = list(LOCAL_HOSTS)
    if host.strip("[]") in WILDCARDS:
        machine = socket.gethostname().lower()
        if machine:
            names += [machine, f"{machine.split('.')[0]}.local"]
    else:
        names.append(host)
    names += list(extra)
    return tuple(dict.fromkeys(host_name(n) or n.lower() for n in names))


def listed(names: Sequence[str]) -> str:
    """Host names as a person types them: IPv6 addresses in brackets."""
    return ", ".join(f"[{n}]" if ":" in n else n for n in names)


class Guard:
    """ASGI middleware: the Host check for every request, the origin check for every change."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] = LOCAL_HOSTS) -> None:
        self.app = app
        self.allowed = tuple(dict.fromkeys(host_name(h) or h.lower() for h in allowed_hosts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self.problem(scope, Headers(scope=scope))
            if problem:
                await JSONResponse({"detail": problem[1]}, status_code=problem[0],
                                   headers={"Cache-Control": "no-store"})(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def problem(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        """(status, one-line message) for a request to refuse, else None."""
        host = headers.get("host", "")
        if host_name(host) not in self.allowed:
            said = f"host {host[:60]!r}" if host else "no Host header"
            return 400, (f"{said}: this server answers only for {listed(self.allowed)}; open the page by one of "
                         f"those names, or start nstyle serve with --allow-host NAME")
        if scope["method"] not in CHANGES:
            return None
        own = f"{scope.get('scheme', 'http')}://{host.strip()}"
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return 403, (f"refused a change sent by another web site (Sec-Fetch-Site: cross-site); "
                         f"use the page at {own}/")
        sender = headers.get("origin", headers.get("referer"))
        if sender is not None:
            theirs = _origin(sender)
            if theirs is None or theirs != _origin(own):
                said = "Origin" if "origin" in headers else "Referer"
                return 403, (f"refused a change sent from {sender[:60]!r} ({said}): only the page at {own}/ "
                             f"may change jobs here")
        return None


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL or an Origin, default ports filled in; None for "null" or a malformed one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.scheme.lower(), parts.hostname.lower().rstrip("."), port
