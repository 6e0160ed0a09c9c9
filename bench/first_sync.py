"""The first sync alone (issue 11): watch_cluster's first list and poll_cluster, against the floor.

    .venv/bin/python -m bench.first_sync --n 5000 [--modes watch poll] [--repeat 1]
        [--database-url postgres://…] [--profile DIR] [--trees . /tmp/before]

One API server (``bench.apiserver``, its own process), the list floor (bench/floor.py, best of
three), then per mode and repeat a fresh store and one child process (so its peak RSS is its
own) that times, in process:

- **watch**: ``watch_cluster`` from its call until every GitOps object is stored (checked after
  each turn of the applier), then stopped; no Celery, no lease, no redis;
- **poll**: one ``poll_cluster`` (it includes the supporting lists, ownership and roll-ups).

With ``FIRST_SYNC_TRACE=1`` each applier turn prints its time and RSS; with
``FIRST_SYNC_THREADS=1`` the watch child prints each thread's CPU seconds of the sync once
all is stored.

Prints one table (mode × seconds, ÷ floor, the CPU of the child and of the API server while
it ran, peak RSS, load). ``--profile DIR`` writes a cProfile of each child's main thread (the
applier, or the whole poll) to DIR. ``--trees`` runs the
children from each of these source trees in turn (e.g. this one and a ``git archive`` of the
commit before a change): before/after against the same API server and floor, back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = "scale"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def bench_env(here: Path) -> dict[str, str]:
    """The environment of a bench's Django processes, their files under ``here``."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "SECRET_KEY": "bench-only-secret-key",
        "DJANGO_DEBUG": "false",
        "TIDEWATCH_VAR_DIR": str(here),
        "TIDEWATCH_CLUSTERS": str(here / "clusters.yaml"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds(stat_path: str, *, children: bool) -> float:
    """utime + stime from a /proc ``stat`` file (and cutime + cstime: reaped children)."""
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()  # after "(comm)"
    ticks = fields[11:15] if children else fields[11:13]
    return sum(int(f) for f in ticks) / os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """CPU seconds of process ``pid`` and its reaped children."""
    return _cpu_seconds(f"/proc/{pid}/stat", children=True)


def _print_thread_cpu(main_before: float, process_before: float) -> None:
    """CPU seconds since the sync started: the applier (MainThread, less its set-up before),
    each other live thread (all started by the sync), and the threads that already ended."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    main = threading.main_thread().native_id
    rows = []
    for tid in os.listdir("/proc/self/task"):
        try:
            seconds = _cpu_seconds(f"/proc/self/task/{tid}/stat", children=False)
        except OSError:
            continue  # ended meanwhile: counted below
        rows.append(
            (seconds - (main_before if int(tid) == main else 0.0), names.get(int(tid), tid))
        )
    ended = _cpu() - process_before - sum(seconds for seconds, _ in rows)
    for seconds, name in [*sorted(rows, reverse=True)[:8], (ended, "(threads that ended)")]:
        print(f"  thread CPU {seconds:6.2f} s  {name}", file=sys.stderr)


def _child(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    if args.database_url:
        call_command("flush", interactive=False, verbosity=0)
    from clusters.models import Cluster, GitOpsObject
    from clusters.registry import sync_clusters

    sync_clusters()
    cluster = Cluster.objects.get(name=CLUSTER)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    load = loadavg()
    cpu_before = _cpu()
    main_cpu_before = time.thread_time()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    extra: dict[str, Any] = {}
    if args.mode == "watch":
        import threading

        from clusters.sync import watch_cluster

        stop = threading.Event()
        done: list[float] = []

        def on_batch() -> None:
            if os.environ.get("FIRST_SYNC_TRACE"):
                rss = int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20
                print(f"{time.perf_counter() - started:.2f} s rss {rss:.0f} MB", file=sys.stderr)
            if not done and GitOpsObject.objects.filter(cluster=cluster).count() >= args.gitops:
                done.append(time.perf_counter())
                if os.environ.get("FIRST_SYNC_THREADS"):
                    _print_thread_cpu(main_cpu_before, cpu_before)
                stop.set()

        outcome = watch_cluster(cluster, stop=stop, max_seconds=3600, on_batch=on_batch)
        finished = done[0] if done else time.perf_counter()
        extra = {"ended": outcome.ended, "written": outcome.written, "lists": outcome.lists}
    else:
        from clusters.poll import poll_cluster

        run = poll_cluster(cluster)
        finished = time.perf_counter()
        extra = {"written": run.objects_written, "errors": run.errors}
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(Path(args.profile) / f"{args.mode}-{args.n}-{os.getpid()}.prof"))
    stored = GitOpsObject.objects.filter(cluster=cluster).count()
    print(
        json.dumps(
            {
                "mode": args.mode,
                "seconds": finished - started,
                "stored": stored,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                # CPU of this process while syncing (not the setup before): on a loaded
                # machine a steadier figure than the wall time.
                "cpu_s": _cpu() - cpu_before,
                "load": load,
                **extra,
            }
        )
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_sync")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--modes", nargs="+", default=["watch", "poll"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--trees", nargs="+", default=[str(ROOT)])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="watch", help=argparse.SUPPRESS)
    parser.add_argument("--gitops", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    sys.path.insert(0, str(ROOT))
    from bench.floor import measure_floor, served_kinds
    from bench.run import ApiServer, write_cluster_files

    here = Path(tempfile.mkdtemp(prefix="tidewatch-first-sync-"))
    env = bench_env(here)
    log = (here / "apiserver.log").open("w")
    api = ApiServer(args.n, 0, env, log)
    rows = []
    try:
        kubeconfig = write_cluster_files(here, api.ready["url"], api.ready["token"], CLUSTER)
        served = served_kinds(str(kubeconfig))
        floor = min(
            (measure_floor(api.ready["url"], api.ready["token"], served) for _ in range(3)),
            key=lambda f: f.seconds,
        )
        print(f"N={args.n}: floor {floor.seconds:.2f} s (load {loadavg()})", file=sys.stderr)
        runs = [(a, m, t) for a in range(args.repeat) for m in args.modes for t in args.trees]
        for attempt, mode, tree in runs:
            slot = f"{mode}{attempt}-{len(rows)}"
            database = args.database_url or f"sqlite:///{here / f'{slot}.sqlite3'}"
            api_cpu = _process_cpu(api.process.pid)
            done = subprocess.run(
                [sys.executable, "-m", "bench.first_sync", "--child", "--mode", mode]
                + ["--n", str(args.n), "--gitops", str(api.ready["gitops"])]
                + (["--profile", args.profile] if args.profile else [])
                + (["--database-url", args.database_url] if args.database_url else []),
                cwd=tree,
                env={**env, "DATABASE_URL": database, "PYTHONPATH": tree},
                stdout=subprocess.PIPE,
                text=True,
                check=True,
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            # The API server's CPU while this child ran: with the child's own, what the two
            # cores had to do (the floor is this server's list, fetched by one client).
            row["api_cpu_s"] = _process_cpu(api.process.pid) - api_cpu
            row["x_floor"] = row["seconds"] / floor.seconds
            row["tree"] = Path(tree).resolve().name
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    finally:
        api.stop()
    print(f"\nN={args.n}, floor {floor.seconds:.2f} s\n")
    print(
        "| mode | tree | load | first sync s | ÷ floor | CPU s | API server CPU s | peak RSS MB "
        "| stored |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['mode']} | {row['tree']} | {row['load']} | {row['seconds']:.2f} "
            f"| {row['x_floor']:.1f}× "
            f"| {row['cpu_s']:.1f} | {row['api_cpu_s']:.1f} | {row['rss_mb']:.0f} "
            f"| {row['stored']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
