"""``nstyle serve``: the local web page and its JSON API; the web stack and Ray are imported only when it runs."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

from ..errors import UsageError
from ..exitcodes import OK


def default_data_dir() -> Path:
    """Where `nstyle serve` keeps its jobs and gallery: $XDG_DATA_HOME/nstyle/web (~/.local/share/nstyle/web)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "nstyle" / "web"


def add(sub) -> None:
    s = sub.add_parser("serve", help="a local web page to stylise images and compare backbones",
                       description="Start the web application: a page to stylise images (watch the painting emerge, "
                                   "stop it, keep a gallery) and compare backbones, and its JSON API (docs/WEB.md). "
                                   "Listens on localhost only unless --host says otherwise.")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine "
                                                       "only; the page has no login, so think before 0.0.0.0)")
    s.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    s.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests that name the server NAME (a host name or address, as in the "
                        "browser's address bar); repeat for several. It always answers for localhost, 127.0.0.1, "
                        "[::1] and --host (with --host 0.0.0.0: this machine's name) and refuses other names, "
                        "so that web pages cannot reach it by a name of their own (DNS rebinding)")
    s.add_argument("--data", metavar="DIR", default=None,
                   help=f"folder for jobs and the gallery (default: {default_data_dir()})")
    s.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run the page's jobs as Ray tasks (one at a time, live progress kept): alone, on "
                        "RAY_ADDRESS's cluster or a local Ray instance; with an address, on that cluster "
                        "(needs pip install 'nstyle[ray]')")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    import ipaddress

    try:
        import uvicorn

        from ..web import create_app
    except ImportError as err:
        raise UsageError(f"nstyle serve needs the web extra ({err.name} is missing): "
                         "pip install 'nstyle[web]'") from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    from ..web.guard import host_name, listed, served_hosts

    bad = [name for name in args.allow_host if not host_name(name)]
    if bad:
        raise UsageError(f"--allow-host {bad[0][:60]!r}: give a host name or address, e.g. mylaptop.lan or "
                         "192.168.1.5")
    from ..io.paths import folder_for_results

    # A folder made here is removed again if the server cannot start (a taken port, no Ray) with nothing in it.
    with folder_for_results(args.data or default_data_dir(), "give another --data folder") as data:
        sock = listening_socket(args.host, args.port)
        try:
            executor = None
            if args.ray is not None:  # the batch command's runner: same tasks, same weights-once-per-node fetch
                from ..jobs.executors import make_executor

                executor = make_executor(ray=args.ray)
            hosts = served_hosts(args.host, args.allow_host)
            app = create_app(data, executor=executor, allowed_hosts=hosts)
            try:
                local = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
            except ValueError:
                local = False
            if not local:
                print(f"nstyle: warning: listening on {args.host}: anyone who can reach it can run jobs (no login); "
                      f"it answers for {listed(hosts)} (--allow-host adds a name)", file=sys.stderr)
            shown = f"[{args.host}]" if ":" in args.host else args.host
            print(f"nstyle serve: http://{shown}:{args.port}/  (jobs and gallery in {data}; Ctrl-C stops)", flush=True)
            config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            sock.close()
    return OK


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound now: a taken port is one line and exit 2 before the banner, not a banner
    and then uvicorn's own error. Bound as uvicorn binds (IPv6 for an address with a colon, SO_REUSEADDR)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a just-stopped server's port is free again
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is in use; stop what is using it or give another "
                             "--port") from None
        raise UsageError(f"cannot listen on {host}:{port} ({err.strerror or err}); give another --host "
                         "or --port") from None
    return sock
