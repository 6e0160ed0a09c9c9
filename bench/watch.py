"""Watching in Celery workers (issue 11): what it costs the API server and the worker, per N.

    .venv/bin/python bench/watch.py --sizes 1000 5000 20000 [--window 60] [--changes 20]
        [--lease 30] [--database-url postgres://user@127.0.0.1:5432/bench]

For each N, one API server (``bench.apiserver``, its own process, counting the full lists it
serves), a private redis-server, a fresh SQLite store (or the ``--database-url`` PostgreSQL
database, flushed) and real Celery workers (``celery worker --pool solo --queues watch``, each
its own process); this script plays beat (it queues a watch task whenever the cluster's lease
has no holder, every ``--tick`` seconds):

1. **first sync**: from queuing the watch task until every GitOps object is stored, against
   the list floor (bench/floor.py, best of three); then until the first ownership report is
   saved, and both processes' peak RSS then and at the end: the worker's (VmHWM) and the
   ownership child process's (clusters/store/ownership_child.py, as the worker logs it; 0 with
   TIDEWATCH_OWNERSHIP_CHILD=false, the analysis on a thread of the worker);
2. **steady state**: nothing changes for ``--window`` seconds: full lists the API server
   served (GitOps and supporting kinds, all watched: only resyncs list, every
   TIDEWATCH_RESYNC_SECONDS), extrapolated per hour; the worker's CPU seconds per minute;
3. **changes**: ``--changes`` status changes, one at a time: GitOps rows written and status
   transitions per change, and latency from the API server accepting the change (its
   timestamp) to the transition being in the store: p50 / p95;
4. **constant change** (``--rate`` changes a second for ``--constant-window`` seconds, each
   sent on time whether or not the last one arrived): latency from the API server accepting
   each change to its transition being in the store (seen by polling the store every 20 ms):
   p50 / p95 / max, and the ownership lag the worker logs (from a change stored to the
   ownership analysis that covers it saved); the load average before and after;
5. **SIGKILL**: a second worker stands by; the watching one is SIGKILLed and 20 objects change
   while nobody watches: time until the second worker holds the lease, time until every change
   is stored (recovery), and changes lost.

``--skip steady changes kill`` leaves phases out (the constant-change figures alone:
``--skip steady changes kill``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import ApiServer, write_cluster_files  # noqa: E402

CLUSTER = "scale"
GITOPS_GROUPS_PREFIX = ("fluxcd.io", "argoproj.io")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def child_peak_rss_mb(log_path: Path) -> float:
    """The ownership child process's peak RSS as the worker logged it (0: none logged, the
    analysis ran on a thread of the worker: TIDEWATCH_OWNERSHIP_CHILD=false)."""
    return max((float(mb) for mb in CHILD_RSS.findall(_text(log_path))), default=0.0)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _unix(at: Any) -> float:
    """A stored time as a Unix time: SQLite keeps UTC text, PostgreSQL a timestamptz."""
    if isinstance(at, datetime):
        return at.timestamp()
    return datetime.fromisoformat(at).replace(tzinfo=UTC).timestamp()


class Store:
    """Read-only looks at the store the workers write: the SQLite file, or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith(("postgres://", "postgresql://"))

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        return sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)

    def one(self, sql: str, *params: Any) -> Any:
        if not self.postgres:
            sql = sql.replace("%s", "?")
        connection = self._connect()
        try:
            return connection.execute(sql, params).fetchone()[0]
        finally:
            connection.close()

    def _stamp(self, at: datetime) -> Any:
        # Django keeps SQLite datetimes as UTC text; PostgreSQL compares timestamptz.
        if self.postgres:
            return at
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def objects(self) -> int:
        return self.one("select count(*) from clusters_gitopsobject")

    def transitions(self, field: str | None = "status") -> int:
        if field is None:
            return self.one("select count(*) from clusters_statustransition")
        return self.one("select count(*) from clusters_statustransition where field = %s", field)

    def arrived(self, names: list[list[str]], since: datetime) -> int:
        """How many of the changed objects have a status or sync transition stored since."""
        stamp = self._stamp(since)
        found = 0
        for kind, namespace, name in names:
            found += bool(
                self.one(
                    "select count(*) from clusters_statustransition where kind = %s and "
                    "namespace = %s and name = %s and field in ('status', 'sync') and at >= %s",
                    kind,
                    namespace,
                    name,
                    stamp,
                )
            )
        return found

    def transitions_since(self, since: datetime) -> list[tuple[str, str, str, float]]:
        """(kind, namespace, name, at as a Unix time) of the status/sync transitions since."""
        sql = (
            "select kind, namespace, name, at from clusters_statustransition "
            "where at >= %s and field in ('status', 'sync')"
        )
        if not self.postgres:
            sql = sql.replace("%s", "?")
        connection = self._connect()
        try:
            rows = connection.execute(sql, (self._stamp(since),)).fetchall()
        finally:
            connection.close()
        return [(kind, namespace, name, _unix(at)) for kind, namespace, name, at in rows]

    def rows_changed_since(self, at: datetime) -> int:
        return self.one(
            "select count(*) from clusters_gitopsobject where changed_at >= %s", self._stamp(at)
        )


class Rig:
    """The processes of one N: redis, workers; the API server is ``bench.run.ApiServer``."""

    def __init__(self, here: Path, env: dict[str, str], log: IO[str]) -> None:
        self.here, self.env, self.log = here, env, log
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(here)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"redis://127.0.0.1:{port}/0"
        env["REDIS_URL"] = self.url
        import redis

        self.client = redis.Redis.from_url(self.url)
        if not wait_for(self._pings, 10):
            raise RuntimeError("redis-server did not start")

    def _pings(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:
            return False

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.here / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "--pool", "solo"]
            + ["--queues", "watch", "--hostname", f"{name}@bench", "--loglevel", "INFO"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers[name] = process
        ready = wait_for(
            lambda: " ready." in (self.here / f"{name}.log").read_text(errors="replace"), 120, 0.2
        )
        if not ready:
            raise RuntimeError(f"worker {name} did not start; see {self.here / name}.log")
        return process

    def holder_pid(self) -> int | None:
        value = self.client.get(f"tidewatch:watch:{CLUSTER}")
        return int(value.decode().split(":")[1]) if value else None

    def send_watch(self) -> None:
        from celery import Celery

        app = Celery(broker=self.url)
        app.send_task("clusters.tasks.watch_cluster", args=[CLUSTER], queue="watch")
        app.close()

    def stop(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        self.redis.terminate()
        self.redis.wait(timeout=10)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


DERIVE_LAG = re.compile(r"ownership analysed in ([0-9.]+) s, ([0-9.]+) s after the first change")
# The watcher's ownership child process (clusters/store/ownership_child.py) logs its VmHWM.
CHILD_RSS = re.compile(r"child process peak RSS (\d+) MB")


def constant_change(
    api: ApiServer, store: Store, log_path: Path, rate: float, window: float
) -> dict[str, Any]:
    """``rate`` changes a second for ``window`` seconds, sent on a schedule by one thread while
    this one polls the store for their transitions."""
    import threading

    sent: list[tuple[tuple[str, str, str], float]] = []  # (kind, namespace, name), accepted_at
    lock = threading.Lock()
    done = threading.Event()
    log_from = log_path.stat().st_size
    started_wall = datetime.now(UTC)

    def send() -> None:
        began = time.monotonic()
        for k in range(int(rate * window)):
            due = began + k / rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            reply = api.command(cmd="mutate", count=1, seed=5000 + k)
            with lock:
                sent.extend((tuple(name), reply["accepted_at"]) for name in reply["names"])
        done.set()

    load_before = loadavg()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    latencies: dict[int, float] = {}
    deadline = time.monotonic() + window + 120
    while time.monotonic() < deadline:
        with lock:
            pending = [(i, key, at) for i, (key, at) in enumerate(sent) if i not in latencies]
            finished = done.is_set() and not pending
        if finished:
            break
        if pending:
            seen: dict[tuple[str, str, str], list[float]] = {}
            for kind, namespace, name, stamp in store.transitions_since(started_wall):
                seen.setdefault((kind, namespace, name), []).append(stamp)
            now = time.time()
            for i, key, accepted in pending:
                # A transition written after the change was accepted (the worker's clock is
                # this machine's): the change is in the store.
                if any(stamp >= accepted - 0.001 for stamp in seen.get(key, ())):
                    latencies[i] = now - accepted
        time.sleep(0.02)
    sender.join(timeout=10)
    lags = [
        (float(took), float(lag))
        for took, lag in DERIVE_LAG.findall(
            log_path.read_bytes()[log_from:].decode("utf-8", "replace")
        )
    ]
    values = list(latencies.values())
    return {
        "constant_sent": len(sent),
        "constant_stored": len(values),
        "constant_rate": rate,
        "constant_window_s": window,
        "constant_p50_s": statistics.median(values) if values else float("nan"),
        "constant_p95_s": percentile(values, 0.95) if values else float("nan"),
        "constant_max_s": max(values) if values else float("nan"),
        "derive_count": len(lags),
        "derive_took_max_s": max((t for t, _ in lags), default=float("nan")),
        "derive_lag_p50_s": statistics.median([lag for _, lag in lags]) if lags else float("nan"),
        "derive_lag_max_s": max((lag for _, lag in lags), default=float("nan")),
        "constant_load": f"{load_before} → {loadavg()}",
    }


def gitops_lists(lists: dict[str, int]) -> int:
    return sum(n for key, n in lists.items() if key.split("/")[0].endswith(GITOPS_GROUPS_PREFIX))


def measure(n: int, args: argparse.Namespace, run_dir: Path, log: IO[str]) -> dict[str, Any]:
    from bench.floor import measure_floor, served_kinds

    here = run_dir / f"n{n}"
    here.mkdir(parents=True)
    database = args.database_url or f"sqlite:///{here / 'tidewatch.sqlite3'}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "SECRET_KEY": "bench-only-secret-key",
        "DJANGO_DEBUG": "false",
        "TIDEWATCH_VAR_DIR": str(here),
        "DATABASE_URL": database,
        "TIDEWATCH_CLUSTERS": str(here / "clusters.yaml"),
        "TIDEWATCH_SYNC_MODE": "watch",
        "TIDEWATCH_WATCH_LEASE_SECONDS": str(args.lease),
        # INFO: the worker logs each ownership analysis with its lag (phase 4 reads it).
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
    }
    result: dict[str, Any] = {"n": n}
    api = ApiServer(n, 0, env, log)
    rig = Rig(here, env, log)
    try:
        kubeconfig = write_cluster_files(here, api.ready["url"], api.ready["token"], CLUSTER)
        served = served_kinds(str(kubeconfig))
        floor = min(
            (measure_floor(api.ready["url"], api.ready["token"], served) for _ in range(3)),
            key=lambda f: f.seconds,
        )
        result["floor_s"] = floor.seconds
        setup = "import django; django.setup(); from clusters.registry import sync_clusters; "
        setup += "from django.core.management import call_command; "
        setup += "call_command('migrate', interactive=False, verbosity=0); "
        # One database serves every N: empty it first (the SQLite file is new anyway).
        setup += "call_command('flush', interactive=False, verbosity=0); sync_clusters()"
        subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True)
        store = Store(database)
        gitops = api.ready["gitops"]

        # 1. first sync
        w1 = rig.worker("w1")
        lists_before = api.command(cmd="lists")["lists"]
        started = time.monotonic()
        rig.send_watch()
        if not wait_for(lambda: store.objects() >= gitops, 3600, 0.05):
            raise RuntimeError("the first sync never completed")
        result["first_sync_s"] = time.monotonic() - started
        result["first_sync_x_floor"] = result["first_sync_s"] / floor.seconds
        lists_first = api.command(cmd="lists")["lists"]
        result["first_sync_gitops_lists"] = gitops_lists(lists_first) - gitops_lists(lists_before)
        print(f"N={n}: first sync {result['first_sync_s']:.1f} s", file=sys.stderr)
        # The first ownership report: the analysis (in the child process by default) reads
        # and writes the whole cluster once; both processes' peaks once it is saved.
        if wait_for(lambda: "ownership analysed in" in _text(here / "w1.log"), 1200, 0.2):
            result["first_report_s"] = time.monotonic() - started
        result["first_report_rss_mb"] = proc_peak_rss_mb(w1.pid)
        result["first_report_child_rss_mb"] = child_peak_rss_mb(here / "w1.log")

        # 2. steady state (after the first roll-up rebuild settles)
        time.sleep(5)
        if "steady" not in args.skip:
            cpu0, lists0 = proc_cpu_seconds(w1.pid), api.command(cmd="lists")["lists"]
            time.sleep(args.window)
            cpu1, lists1 = proc_cpu_seconds(w1.pid), api.command(cmd="lists")["lists"]
            per_hour = 3600 / args.window
            gitops_delta = gitops_lists(lists1) - gitops_lists(lists0)
            result["gitops_lists_per_hour"] = gitops_delta * per_hour
            result["all_lists_per_hour"] = (sum(lists1.values()) - sum(lists0.values())) * per_hour
            result["gitops_kinds_listed"] = len(
                [k for k in lists_first if k.split("/")[0].endswith(GITOPS_GROUPS_PREFIX)]
            )
            result["idle_cpu_s_per_min"] = (cpu1 - cpu0) * 60 / args.window

        # 3. changes, one at a time
        if "changes" not in args.skip:
            since = datetime.now(UTC)
            t_status, t_all = store.transitions(), store.transitions(None)
            latencies, changed = [], 0
            for k in range(args.changes):
                at = datetime.now(UTC)
                reply = api.command(cmd="mutate", count=1, seed=100 + k)
                changed += reply["changed"]
                names, total = reply["names"], reply["changed"]
                arrived = lambda a=at, ns=names, c=total: store.arrived(ns, a) >= c  # noqa: E731
                if not wait_for(arrived, 60, 0.01):
                    raise RuntimeError(f"change {k} never reached the store")
                latencies.append(time.time() - reply["accepted_at"])
            time.sleep(1)  # a late duplicate write would show here
            result["changes"] = changed
            result["rows_per_change"] = store.rows_changed_since(since) / changed
            result["status_transitions_per_change"] = (store.transitions() - t_status) / changed
            result["transitions_per_change"] = (store.transitions(None) - t_all) / changed
            result["latency_p50_s"] = statistics.median(latencies)
            result["latency_p95_s"] = percentile(latencies, 0.95)
            result["latency_max_s"] = max(latencies)
            result["latencies_s"] = [round(x, 3) for x in latencies]

        # 4. constant change
        if args.rate > 0:
            result.update(
                constant_change(api, store, here / "w1.log", args.rate, args.constant_window)
            )
        result["peak_rss_mb"] = proc_peak_rss_mb(w1.pid)
        result["child_peak_rss_mb"] = child_peak_rss_mb(here / "w1.log")
        if "kill" in args.skip:
            print(f"N={n}: {json.dumps(result)}", file=sys.stderr)
            return result

        # 5. SIGKILL mid-stream: w2 stands by, this script plays beat every --tick seconds
        w2 = rig.worker("w2")
        at = datetime.now(UTC)
        w1.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        w1.wait()
        reply = api.command(cmd="mutate", count=20, seed=999)
        queued_for_expiry = False
        while rig.holder_pid() != w2.pid:
            if time.monotonic() - killed > 600:
                raise RuntimeError("the second worker never took over")
            if rig.holder_pid() is None and not queued_for_expiry:
                rig.send_watch()
                queued_for_expiry = True
            time.sleep(args.tick if rig.holder_pid() is not None else 0.05)
        result["takeover_s"] = time.monotonic() - killed
        wait_for(lambda: store.arrived(reply["names"], at) >= reply["changed"], 120, 0.05)
        result["recovery_s"] = time.monotonic() - killed
        result["kill_changes"] = reply["changed"]
        result["lost"] = reply["changed"] - store.arrived(reply["names"], at)
        result["objects_after"] = store.objects()
        result["objects_served"] = gitops
        print(f"N={n}: {json.dumps(result)}", file=sys.stderr)
        return result
    finally:
        rig.stop()
        api.stop()


ROWS = [
    ("GitOps objects", lambda r: f"{r['n']:,}"),
    ("list floor (best of 3)", lambda r: f"{r['floor_s']:.2f} s"),
    (
        "first sync (watch task queued → all stored)",
        lambda r: f"{r['first_sync_s']:.2f} s ({r['first_sync_x_floor']:.1f}× floor)",
    ),
    (
        "first ownership report saved (watch task queued → report)",
        lambda r: f"{r['first_report_s']:.1f} s",
    ),
    (
        "peak RSS then: worker / ownership child process",
        lambda r: f"{r['first_report_rss_mb']:.0f} MB / {r['first_report_child_rss_mb']:.0f} MB",
    ),
    (
        "peak RSS at the end: worker / ownership child process",
        lambda r: f"{r['peak_rss_mb']:.0f} MB / {r['child_peak_rss_mb']:.0f} MB",
    ),
    (
        "GitOps full lists / hour, idle (poll at 30 s: kinds × 120)",
        lambda r: f"{r['gitops_lists_per_hour']:.0f} ({r['gitops_kinds_listed'] * 120} polling)",
    ),
    ("all full lists / hour, idle (incl. supporting)", lambda r: f"{r['all_lists_per_hour']:.0f}"),
    ("worker CPU, idle", lambda r: f"{r['idle_cpu_s_per_min']:.2f} s/min"),
    (
        "per change: object rows / status transitions / all transitions",
        lambda r: (
            f"{r['rows_per_change']:.2f} / {r['status_transitions_per_change']:.2f} / "
            f"{r['transitions_per_change']:.2f}"
        ),
    ),
    (
        "change latency API server → store p50 / p95 / max",
        lambda r: (
            f"{r['latency_p50_s'] * 1000:.0f} / {r['latency_p95_s'] * 1000:.0f} / "
            f"{r['latency_max_s'] * 1000:.0f} ms"
        ),
    ),
    (
        "constant change: changes sent / stored (rate × window)",
        lambda r: (
            f"{r['constant_sent']} / {r['constant_stored']} "
            f"({r['constant_rate']:g}/s × {r['constant_window_s']:g} s)"
        ),
    ),
    (
        "constant change: API server → store p50 / p95 / max",
        lambda r: (
            f"{r['constant_p50_s'] * 1000:.0f} / {r['constant_p95_s'] * 1000:.0f} / "
            f"{r['constant_max_s'] * 1000:.0f} ms"
        ),
    ),
    (
        "constant change: ownership analyses / longest / lag p50 / max",
        lambda r: (
            f"{r['derive_count']} / {r['derive_took_max_s']:.2f} s / "
            f"{r['derive_lag_p50_s']:.2f} s / {r['derive_lag_max_s']:.2f} s"
        ),
    ),
    ("constant change: load average before → after", lambda r: r["constant_load"]),
    ("SIGKILL: lease taken over after", lambda r: f"{r['takeover_s']:.1f} s"),
    ("SIGKILL: all changes stored after", lambda r: f"{r['recovery_s']:.1f} s"),
    (
        "SIGKILL: changes lost / objects stored",
        lambda r: (
            f"{r['lost']} of {r['kill_changes']} / {r['objects_after']:,} of "
            f"{r['objects_served']:,}"
        ),
    ),
]


def _cell(cell: Callable[[dict[str, Any]], str], result: dict[str, Any]) -> str:
    try:
        return cell(result)
    except KeyError:
        return "–"  # a phase left out (--skip)


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    head = "| | " + " | ".join(f"N={r['n']:,}" for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for label, cell in ROWS:
        cells = [_cell(cell, r) for r in results]
        if any(c != "–" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        f"\nlease {args.lease} s, beat tick {args.tick} s, steady window {args.window} s, "
        f"{args.changes} changes; constant change {args.rate:g}/s for "
        f"{args.constant_window:g} s; {'PostgreSQL' if args.database_url else 'SQLite'}; "
        f"{os.cpu_count()} cores; load {loadavg()}"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/watch.py")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--lease", type=int, default=30)
    parser.add_argument("--tick", type=float, default=5)
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL instead of a fresh SQLite file (flushed!)"
    )
    parser.add_argument("--rate", type=float, default=4, help="constant change: changes/s")
    parser.add_argument("--constant-window", type=float, default=60)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["steady", "changes", "kill"], help="phases"
    )
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="tidewatch-bench-watch."))
    results = []
    with (run_dir / "bench.log").open("w") as log:
        for n in args.sizes:
            results.append(measure(n, args, run_dir, log))
    (run_dir / "results.json").write_text(json.dumps(results, indent=2))
    print(table(results, args))
    print(f"\n(run directory {run_dir})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
