"""The Django side of the benchmark, one child process per measurement so each reports its own
peak RSS (``ru_maxrss`` is a high-water mark: a process that polled twice would report the
larger poll for both).

    python -m bench.worker poll  --cluster scale [--migrate] [--profile FILE]
    python -m bench.worker pages --cluster scale [--repeat 20]

Settings come from the environment (DATABASE_URL, TIDEWATCH_CLUSTERS, SECRET_KEY ...), set by
bench/run.py. Prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import re
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from types import ModuleType
from typing import Any

# Which functions clusters.poll calls make up each stage of a poll. They are wrapped in the
# poll module's namespace only, in this process: production code is not changed.
STAGES: dict[str, tuple[str, ...]] = {
    "collect": ("collect_cluster",),
    "store": (
        "store_namespaces",
        "store_kind",
        "store_workloads",
        "store_monitors",
        "store_events",
    ),
    "ownership": ("refresh_ownership", "check_last_writers"),
    "rollups": ("rebuild_rollups",),
}
WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE"})
TOKEN_RE = re.compile(r'name="since" value="([0-9A-Za-z_-]+)"')


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class QueryCounter:
    """A ``connection.execute_wrapper``: counts statements (an executemany is one) without
    DEBUG's query log, and on PostgreSQL the rows INSERT/UPDATE/DELETE touched (SQLite's
    rowcount is not set yet for ``INSERT … RETURNING``: see ``rows_changed``)."""

    def __init__(self) -> None:
        self.statements = 0
        self.rows_written = 0
        self.seconds = 0.0
        self.by_verb: Counter[str] = Counter()

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
            self.statements += 1
            self.by_verb[verb] += 1
            if verb in WRITE_VERBS:
                count = getattr(context["cursor"], "rowcount", -1)
                if isinstance(count, int) and count > 0:
                    self.rows_written += count


def rows_changed(connection: Any) -> int | None:
    """SQLite's own count of rows inserted, updated or deleted on this connection (or None)."""
    if connection.vendor != "sqlite":
        return None
    connection.ensure_connection()
    return int(connection.connection.total_changes)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()


def _rss_now_mb() -> float:
    """Resident set size right now (ru_maxrss only ever grows)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _instrument(
    module: ModuleType, counter: QueryCounter, trace_memory: bool
) -> dict[str, dict[str, float]]:
    """Wrap each stage's functions in ``module``'s globals; returns the live totals.

    Per stage: seconds, SQL statements, the process's peak RSS when the stage ended (which
    stage drove the high-water mark) and the RSS then (what stays alive into the next stage);
    with ``trace_memory``, tracemalloc's peak of Python allocations during the stage.
    """
    import tracemalloc

    totals = {stage: {"seconds": 0.0, "statements": 0} for stage in STAGES}
    for stage, names in STAGES.items():
        for name in names:
            original = getattr(module, name)

            def timed(*args: Any, _f: Any = original, _s: str = stage, **kwargs: Any) -> Any:
                started, statements = time.perf_counter(), counter.statements
                if trace_memory:
                    tracemalloc.reset_peak()
                try:
                    return _f(*args, **kwargs)
                finally:
                    totals[_s]["seconds"] += time.perf_counter() - started
                    totals[_s]["statements"] += counter.statements - statements
                    totals[_s]["peak_rss_after_mb"] = _rss_mb()
                    totals[_s]["rss_after_mb"] = _rss_now_mb()
                    if trace_memory:
                        current, peak = tracemalloc.get_traced_memory()
                        totals[_s]["traced_peak_mb"] = max(
                            totals[_s].get("traced_peak_mb", 0.0), peak / 2**20
                        )
                        totals[_s]["traced_after_mb"] = current / 2**20

            setattr(module, name, wraps(original)(timed))
    return totals


def poll(args: argparse.Namespace) -> dict[str, Any]:
    _setup()
    from django.core.management import call_command
    from django.db import connection

    if args.migrate:
        call_command("migrate", interactive=False, verbosity=0)
    if args.flush:
        call_command("flush", interactive=False, verbosity=0)

    import clusters.poll as poll_module
    from clusters.models import Cluster, StatusTransition
    from clusters.registry import sync_clusters

    sync_clusters()
    cluster = Cluster.objects.get(name=args.cluster)
    transitions_before = StatusTransition.objects.filter(cluster=cluster).count()
    counter = QueryCounter()
    stages = _instrument(poll_module, counter, args.trace_memory)
    if args.trace_memory:
        import tracemalloc

        tracemalloc.start(1)
    rss_before = _rss_mb()
    profiler = cProfile.Profile() if args.profile else None

    changes_before = rows_changed(connection)
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        run = poll_module.poll_cluster(cluster)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.dump_stats(args.profile)

    changes_after = rows_changed(connection)
    if changes_before is not None and changes_after is not None:
        counter.rows_written = changes_after - changes_before
    transitions = StatusTransition.objects.filter(cluster=cluster).count() - transitions_before
    return {
        "table_rows": _table_rows(),
        "ok": run.ok,
        "errors": run.errors,
        "error": run.error,
        "seconds": seconds,
        "objects_written": run.objects_written,
        "objects_deleted": run.objects_deleted,
        "transitions": transitions,
        "listed": sum(c.get("listed", 0) for c in run.counts.values()),
        "statements": counter.statements,
        "statements_by_verb": dict(counter.by_verb),
        "rows_written": counter.rows_written,
        "sql_seconds": counter.seconds,
        "stages": stages,
        "rss_before_mb": rss_before,
        "rss_peak_mb": _rss_mb(),
    }


def _table_rows() -> dict[str, int]:
    """Rows per table after the poll (untimed): where a poll's writes end up."""
    from django.apps import apps

    return {
        model.__name__: model.objects.count()
        for model in apps.get_app_config("clusters").get_models()
    }


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: of 20 samples, p95 is the 19th smallest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def pages(args: argparse.Namespace) -> dict[str, Any]:
    _setup()
    from django.db import connection
    from django.test import Client

    from clusters.models import Cluster, GitOpsObject, NamespaceRollup

    cluster = Cluster.objects.get(name=args.cluster)
    # A typical tenant namespace, the one every Argo CD Application lives in, and a red object
    # (its page shows the most: failing condition, history, events).
    team = (
        NamespaceRollup.objects.filter(cluster=cluster, namespace__startswith="team-")
        .order_by("namespace")
        .values_list("namespace", flat=True)
        .first()
    )
    red = (
        GitOpsObject.objects.filter(cluster=cluster, status="Degraded", kind="HelmRelease")
        .order_by("namespace", "name")
        .first()
    ) or GitOpsObject.objects.filter(cluster=cluster).order_by("status_rank").first()
    assert red is not None
    name = args.cluster
    client = Client()

    def fixed(url: str) -> Callable[[], str]:
        return lambda: url

    def current_token() -> str:
        # Read from the page itself (its since input), not from dashboard internals: the token
        # includes the minute, so it is taken (untimed) right before each idle refresh.
        page = client.get("/", secure=True).content.decode()
        found = TOKEN_RE.search(page)
        return found.group(1) if found else "none"

    # The idle refresh: an HTMX request carrying the current change token gets 204.
    urls: dict[str, tuple[Callable[[], str], dict[str, str]]] = {
        "overview": (fixed("/"), {}),
        "overview_htmx_unchanged": (
            lambda: f"/?since={current_token()}",
            {"HTTP_HX_REQUEST": "true"},
        ),
        "namespace": (fixed(f"/n/{name}/{team}"), {}),
        "namespace_argocd": (fixed(f"/n/{name}/argocd"), {}),
        "object": (fixed(f"/o/{name}/{red.kind}/{red.namespace}/{red.name}"), {}),
        "search": (fixed(f"/search?q={args.search}"), {}),
    }
    results: dict[str, Any] = {}
    for label, (make_url, headers) in urls.items():
        url = make_url()
        # secure=True: production serves HTTPS (SECURE_SSL_REDIRECT sends plain HTTP a 301).
        response = client.get(url, secure=True, **headers)  # warm-up, not counted
        times, statements = [], []
        for _ in range(args.repeat):
            url = make_url()
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                started = time.perf_counter()
                response = client.get(url, secure=True, **headers)
                times.append(time.perf_counter() - started)
            statements.append(counter.statements)
        results[label] = {
            "url": url,
            "status": response.status_code,
            "median_ms": statistics.median(times) * 1000,
            "p95_ms": _percentile(times, 0.95) * 1000,
            "queries": max(statements),
            "bytes": len(response.content),
        }
    return {"pages": results, "rss_peak_mb": _rss_mb()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("poll")
    p.add_argument("--cluster", default="scale")
    p.add_argument("--migrate", action="store_true", help="migrate first (untimed)")
    p.add_argument("--flush", action="store_true", help="empty the database first (untimed)")
    p.add_argument("--profile", default="", help="write a cProfile of the poll to this file")
    p.add_argument("--trace-memory", action="store_true", help="tracemalloc peak per stage (slow)")
    g = sub.add_parser("pages")
    g.add_argument("--cluster", default="scale")
    g.add_argument("--repeat", type=int, default=20)
    g.add_argument("--search", default="app-01")
    args = parser.parse_args(argv)
    result = poll(args) if args.command == "poll" else pages(args)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
