"""Load on the overview (issue 7): concurrent clients on ``/`` and its HTMX refresh.

    .venv/bin/python bench/load.py [--objects 20000] [--clients 50] [--duration 60]
        [--processes 2] [--refresh-share 0.5] [--keep]

1. Sets up a throwaway Tidewatch (SQLite in a temporary directory), starts a DemoCluster serving
   ``clusters.demo.scale.build_scaled_platform(N)`` in this process, polls it once with the real
   poller, and stops it: the dashboard never talks to a cluster while it serves.
2. Serves the dashboard's WSGI app from ``--processes`` forked processes (a threaded wsgiref
   server each, sharing one listening socket on 127.0.0.1; gunicorn is not a dependency).
3. Runs ``--clients`` client threads for ``--duration`` seconds against 127.0.0.1 only. Each
   client loads ``/`` like a browser tab, then alternates full loads with the HTMX refresh
   ``/?since=<token>`` (``HX-Request: true``; the server answers 204 while nothing changed, or
   the new overview part), keeping the token of its last answer, as htmx does.
4. Prints the figures (latency p50/p95/p99, requests/s, errors, per request kind) as Markdown,
   with the machine and the date. Stops by itself; the forked servers are ended before exit.

Loopback only, bounded in time and count (``--max-requests``), nothing left running.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socketserver
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything else
CLUSTER = "load"
TOKEN_RE = re.compile(r'name="since" value="([^"]+)"')


def configure(directory: Path) -> None:
    """The environment of a production-like instance on a private SQLite file (before Django)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": "load-test-only-secret-key",
            "DJANGO_DEBUG": "false",
            "TIDEWATCH_VAR_DIR": str(directory),
            "DATABASE_URL": f"sqlite:///{directory / 'tidewatch.sqlite3'}",
            "TIDEWATCH_CLUSTERS": str(directory / "clusters.yaml"),
            "TIDEWATCH_ANONYMOUS_READ": "true",
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "false",
            "TIDEWATCH_SECURE_COOKIES": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))


def prepare(directory: Path, n: int) -> dict[str, Any]:
    """Migrate, serve N objects from a demo cluster, poll them once, stop the demo cluster."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from clusters.demo.kubeconfig import write_kubeconfig
    from clusters.demo.scale import BOUNDARIES, build_scaled_platform
    from clusters.demo.server import DemoCluster
    from clusters.models import GitOpsObject, NamespaceRollup
    from clusters.poll import poll_cluster
    from clusters.registry import sync_clusters

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    demo = DemoCluster(objects=build_scaled_platform(n), token="load-token")
    loaded = time.perf_counter()
    url = demo.start(host=HOST, port=0)
    try:
        kubeconfig = write_kubeconfig(directory / "kubeconfig.yaml", url, "load-token")
        (directory / "boundaries.yaml").write_text(BOUNDARIES)
        entry = {
            "name": CLUSTER,
            "kubeconfig": str(kubeconfig),
            "context": "demo",
            "ownership": "boundaries.yaml",
        }
        (directory / "clusters.yaml").write_text(json.dumps({"clusters": [entry]}))
        (cluster,) = sync_clusters()
        polling = time.perf_counter()
        run = poll_cluster(cluster)
        polled = time.perf_counter()
    finally:
        demo.stop()
    if not run.ok:
        raise SystemExit(f"the poll failed: {run.error or run.errors}")
    facts = {
        "objects": GitOpsObject.objects.count(),
        "namespaces": NamespaceRollup.objects.count(),
        "demo_load_s": round(loaded - started, 1),
        "poll_s": round(polled - polling, 1),
    }
    connections.close_all()  # no connection may cross the fork
    return facts


# --- the server ----------------------------------------------------------------------------------


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass


class _ThreadedServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256


def serve(processes: int) -> tuple[int, list[int]]:
    """Fork ``processes`` servers on one listening socket; returns (port, child pids)."""
    from django.core.wsgi import get_wsgi_application

    server = make_server(
        HOST, 0, get_wsgi_application(), server_class=_ThreadedServer, handler_class=_Quiet
    )
    port = server.server_address[1]
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:  # a server process: serve until told to stop
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            try:
                server.serve_forever(poll_interval=0.5)
            finally:
                os._exit(0)
        children.append(pid)
    server.socket.close()  # the children hold it
    return port, children


def stop(children: list[int]) -> None:
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


# --- the clients ---------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"full": [], "refresh": []})
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: {"full": {}, "refresh": {}})
    errors: list[str] = field(default_factory=list)
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int, size: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1
            self.bytes += size

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def client(
    port: int,
    deadline: float,
    stats: Stats,
    refresh_share: float,
    budget: threading.Semaphore,
    seed: int,
) -> None:
    token = ""
    count = seed  # staggers the clients' alternation
    while time.monotonic() < deadline and budget.acquire(blocking=False):
        refresh = bool(token) and (count % 100) < refresh_share * 100
        count += 37  # a fixed stride through 0..99: the share holds per client
        kind = "refresh" if refresh else "full"
        path = f"/?since={token}" if refresh else "/"
        headers = {"HX-Request": "true", "HX-Target": "overview"} if refresh else {}
        started = time.perf_counter()
        try:
            status, body = _get(port, path, headers)
        except (OSError, http.client.HTTPException) as exc:
            stats.error(f"{kind}: {type(exc).__name__}: {exc}")
            continue
        elapsed = time.perf_counter() - started
        if status not in (200, 204):
            stats.error(f"{kind}: HTTP {status}")
        stats.record(kind, elapsed, status, len(body))
        if status == 200:
            found = TOKEN_RE.search(body.decode("utf-8", "replace"))
            token = found.group(1) if found else token


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(args: argparse.Namespace, facts: dict[str, Any], stats: Stats, seconds: float) -> str:
    def row(name: str, values: list[float], statuses: dict[int, int]) -> str:
        ms = [v * 1000 for v in values]
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
        return (
            f"| {name} | {len(values)} | {len(values) / seconds:.1f} | "
            f"{percentile(ms, 50):.0f} | {percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} | "
            f"{max(ms, default=float('nan')):.0f} | {codes} |"
        )

    everything = stats.latencies["full"] + stats.latencies["refresh"]
    merged: dict[int, int] = {}
    for statuses in stats.statuses.values():
        for code, count in statuses.items():
            merged[code] = merged.get(code, 0) + count
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"Load run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs (nproc), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"load average before {facts['loadavg_before']}, after {load}",
        "",
        f"- store: {facts['objects']} GitOps objects, {facts['namespaces']} namespace rows "
        f"(demo cluster loaded in {facts['demo_load_s']} s, first poll {facts['poll_s']} s)",
        f"- server: {args.processes} forked processes x threaded wsgiref, SQLite, DEBUG off",
        f"- clients: {args.clients} threads for {seconds:.0f} s on 127.0.0.1, "
        f"{args.refresh_share:.0%} HTMX refreshes (HX-Request, since=<token>)",
        f"- errors: {len(stats.errors)}" + (f" (first: {stats.errors[0]})" if stats.errors else ""),
        f"- bytes received: {stats.bytes / 1e6:.1f} MB",
        "",
        "| request | count | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses |",
        "|---|---|---|---|---|---|---|---|",
        row("`/` (full page)", stats.latencies["full"], stats.statuses["full"]),
        row("`/?since=` (HTMX refresh)", stats.latencies["refresh"], stats.statuses["refresh"]),
        row("all", everything, merged),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/load.py", description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=20_000, help="GitOps objects (N)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--processes", type=int, default=2, help="server processes")
    parser.add_argument("--refresh-share", type=float, default=0.5)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 500 and 0 < args.duration <= 600 and 1 <= args.processes <= 8):
        parser.error("clients 1-500, duration up to 600 s, processes 1-8")

    directory = Path(tempfile.mkdtemp(prefix="tidewatch-load-"))
    configure(directory)
    children: list[int] = []
    try:
        print(f"preparing {args.objects} objects in {directory} ...", file=sys.stderr)
        facts = prepare(directory, args.objects)
        facts["loadavg_before"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"stored: {facts}", file=sys.stderr)
        port, children = serve(args.processes)
        status, _ = _get(port, "/", {})
        if status != 200:
            raise SystemExit(f"the overview answered {status}")
        stats = Stats()
        budget = threading.Semaphore(args.max_requests)
        deadline = time.monotonic() + args.duration
        started = time.monotonic()
        threads = [
            threading.Thread(
                target=client,
                args=(port, deadline, stats, args.refresh_share, budget, i * 7),
                daemon=True,
            )
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.duration + 120)
        seconds = time.monotonic() - started
        print(report(args, facts, stats, seconds))
    finally:
        stop(children)
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
