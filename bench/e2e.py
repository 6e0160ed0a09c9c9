"""End to end (issue 11): API server accepts a status change → 50 open pages in Chromium show it.

    .venv/bin/python bench/e2e.py [--n 1000] [--pages 50] [--changes 8] [--targets 4]
        [--poll-ms 1000] [--pipeline demo|split] [--database-url postgres://…] [--keep]

The whole pipeline as ``make demo`` runs it, in its own process: ``manage.py demo --scale N
--no-timeline`` (the demo cluster serving a generated platform of N GitOps objects, the
in-process watcher of clusters/watcher.py — list + watch through the kubernetes client — and
Django's threaded web server), on a fresh SQLite file. With ``--pipeline split``, the deployed
shape instead, each its own process: ``bench.apiserver`` (the same demo cluster server), redis,
a Celery worker running the watch task, gunicorn serving the dashboard; SQLite or
``--database-url``. This script:

1. waits until the watcher has stored every GitOps object, then picks ``--targets`` healthy
   objects (Kustomization, HelmRelease, Application, …) each alone among healthy objects of a
   namespace of its own, so a failure of one changes its object, namespace, search and
   overview rows and nothing else;
2. opens ``--pages`` tabs in one headless Chromium (/usr/bin/chromium, Playwright): overview
   pages, and per target its object page, namespace page and a search for its name, mixed;
3. ``--changes`` times: PATCHes one target's status at the demo cluster over HTTP (Flux kinds
   through the status subresource, an Application on the object, as their controllers do):
   it fails, the next change of it heals it. Latency is from the moment the PATCH returned (the
   API server has accepted the change) to the first DOM mutation after which a page shows the
   new status (a MutationObserver installed through the DevTools protocol stamps
   ``performance.timeOrigin + performance.now()``); the store's own arrival (the transition row)
   is timed as well;
4. counts, per change, the pages that re-rendered (htmx:afterSwap) although nothing they show
   changed (the other targets' pages; should be 0), until ``--settle`` seconds after the last
   page showed the change. Changes are placed so that no minute
   boundary falls inside a change's window (relative times legitimately redraw every minute);
5. prints one Markdown table: p50 / p95 / max per page type and overall; and per change how
   often the store version moved and how many polls cost the server a fingerprint or a render,
   with every poll's time by what the server did (204 idle, 204 after a fingerprint, 200).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.watch import free_port, percentile, wait_for  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
HOST = "127.0.0.1"
SWEEP_MS = 250  # between two asks "has every page shown it?" (not the resolution: see below)
MINUTE_GUARD_S = 16  # + --settle: a change starts at least this long before a minute boundary
TOKEN = "demo-token"  # clusters/management/commands/demo.py
# Kinds whose status is flipped, and how their controllers write it.
FLUX_READY = {
    "Kustomization": ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
    "HelmRelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
}
ARGO = ("argoproj.io", "v1alpha1", "applications")

# A page "shows" a target when its element carries the expected data-status; the predicate
# gets (selector, expected) and is part of the evaluated source (the CSP forbids eval).
OBSERVER = """([selector, shows]) => {
  window.__e2e = {selector, expect: null, differ: null, seenAt: null, swaps: [], polls: []};
  const read = () => document.querySelector(window.__e2e.selector)?.dataset.status;
  window.__e2eRead = read;
  const check = () => {
    const e = window.__e2e;
    if (e.seenAt !== null || (e.expect === null && e.differ === null)) return;
    const now = read();
    if ((e.expect !== null && now === e.expect) || (e.differ !== null && now !== undefined
        && now !== e.differ))
      e.seenAt = performance.timeOrigin + performance.now();
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, attributes: true});
  document.body.addEventListener("htmx:afterSwap",
    () => window.__e2e.swaps.push(performance.timeOrigin + performance.now()));
  // Where a page's time goes: each poll's start and the arrival of its answer (before the
  // swap), to split a latency into waiting for a poll, the server and the browser.
  document.body.addEventListener("htmx:beforeRequest",
    () => window.__e2e.polls.push([performance.timeOrigin + performance.now(), null, 0, false]));
  document.body.addEventListener("htmx:beforeOnLoad", (event) => {
    const open = window.__e2e.polls.filter((p) => p[1] === null);
    if (open.length) {
      open[open.length - 1][1] = performance.timeOrigin + performance.now();
      open[open.length - 1][2] = event.detail.xhr.status;
      // A 204 with a new token: the version had moved, the server computed a fingerprint.
      open[open.length - 1][3] = !!event.detail.xhr.getResponseHeader("X-Tidewatch-Since");
    }
  });
  return read() === shows;
}"""


# The poll whose answer arrived last before the page showed the change: [start, answer, the
# count of 204 answers after the change before it].
DELIVERED = """() => {
  const e = window.__e2e;
  const done = e.polls.filter((p) => p[1] !== null && p[1] <= e.seenAt);
  if (!done.length) return null;
  const last = done[done.length - 1];
  return [last[0], last[1], done.filter((p) => p[2] === 204).length];
}"""
PHASES = (
    "waiting for the poll that brought it",
    "server (request → answer)",
    "browser (answer → shown)",
    "204 answers before it",
)


class Demo:
    """``manage.py demo`` in a process of its own, as ``make demo`` runs it."""

    def __init__(self, n: int, directory: Path, poll_ms: int) -> None:
        self.port = free_port()
        self.database = f"sqlite:///{directory / 'tidewatch.sqlite3'}"
        self.token = TOKEN
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": "e2e-bench-only-secret-key",
            "DJANGO_DEBUG": "false",
            "TIDEWATCH_VAR_DIR": str(directory),
            "DATABASE_URL": self.database,
            "TIDEWATCH_ANONYMOUS_READ": "true",
            "TIDEWATCH_LIVE_POLL_MS": str(poll_ms),
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "false",
            "TIDEWATCH_SECURE_COOKIES": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        self.log = (directory / "demo.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--scale", str(n), "--no-timeline"]
            + ["--host", HOST, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        kubeconfig = directory / "demo-kubeconfig.yaml"
        if not wait_for(lambda: self._serving(kubeconfig), 600, 0.2):
            self.stop()
            raise SystemExit(f"manage.py demo did not start; see {directory / 'demo.log'}")
        config = yaml.safe_load(kubeconfig.read_text())
        api = urlsplit(config["clusters"][0]["cluster"]["server"])
        self.api_host, self.api_port = api.hostname or HOST, api.port or 80
        self.base = f"http://{HOST}:{self.port}"

    def _serving(self, kubeconfig: Path) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"manage.py demo exited ({self.process.returncode})")
        if not kubeconfig.is_file():
            return False
        try:
            connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return True
        except OSError:
            return False

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        connection = http.client.HTTPConnection(self.api_host, self.api_port, timeout=30)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/merge-patch+json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, json.loads(payload or b"{}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class Split(Demo):
    """The deployed shape instead: the API server (``bench.apiserver``), redis, a Celery worker
    running the watch task (``--queues watch``, as deploy/kubernetes/worker.yaml) and gunicorn
    serving the dashboard (as deploy/kubernetes/web.yaml, WhiteNoise for static files), each a
    process of its own, on SQLite or ``--database-url``."""

    def __init__(
        self, n: int, directory: Path, poll_ms: int, database: str, web_workers: int
    ) -> None:
        from bench.run import ApiServer, write_cluster_files
        from bench.watch import Rig

        self.port = free_port()
        self.database = database or f"sqlite:///{directory / 'tidewatch.sqlite3'}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": "e2e-bench-only-secret-key",
            "DJANGO_DEBUG": "false",
            "TIDEWATCH_VAR_DIR": str(directory),
            "DATABASE_URL": self.database,
            "TIDEWATCH_CLUSTERS": str(directory / "clusters.yaml"),
            "TIDEWATCH_SYNC_MODE": "watch",
            "TIDEWATCH_ANONYMOUS_READ": "true",
            "TIDEWATCH_LIVE_POLL_MS": str(poll_ms),
            "TIDEWATCH_COLLECTED_STATIC": "true",
            "TIDEWATCH_STATIC_ROOT": str(directory / "static"),
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "false",
            "TIDEWATCH_SECURE_COOKIES": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        self.text_log = (directory / "split.log").open("w")
        self.log = (directory / "gunicorn.log").open("wb")
        self.apiserver = self.rig = self.process = None
        try:
            self.apiserver = ApiServer(n, 0, env, self.text_log)
            url, self.token = self.apiserver.ready["url"], self.apiserver.ready["token"]
            kubeconfig = write_cluster_files(directory, url, self.token, "demo")
            self.rig = Rig(directory, env, self.text_log)  # sets REDIS_URL in env
            setup = (
                "import django; django.setup(); from clusters.registry import sync_clusters; "
                "from django.core.management import call_command as c; "
                "c('migrate', interactive=False, verbosity=0); "
                "c('flush', interactive=False, verbosity=0); "
                "c('collectstatic', interactive=False, verbosity=0); sync_clusters()"
            )
            subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True)
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "dashboard.wsgi:application"]
                + ["--bind", f"{HOST}:{self.port}", "--workers", str(web_workers)],
                cwd=ROOT,
                env=env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if not wait_for(lambda: self._serving(kubeconfig), 120, 0.2):
                raise SystemExit(f"gunicorn did not start; see {directory / 'gunicorn.log'}")
            self.rig.worker("w1")
            from celery import Celery

            app = Celery(broker=self.rig.url)  # what beat queues for a watched cluster
            app.send_task("clusters.tasks.watch_cluster", args=["demo"], queue="watch")
            app.close()
        except BaseException:
            self.stop()
            raise
        api = urlsplit(url)
        self.api_host, self.api_port = api.hostname or HOST, api.port or 80
        self.base = f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            super().stop()
        if self.rig is not None:
            self.rig.stop()
        if self.apiserver is not None:
            self.apiserver.stop()
        self.text_log.close()


def store_rows(database: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from the store (``%s`` placeholders): the SQLite file, or PostgreSQL."""
    if database.startswith(("postgres://", "postgresql://")):
        import psycopg

        with psycopg.connect(database, autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()
    connection = sqlite3.connect(database.removeprefix("sqlite:///"), timeout=30)
    try:
        return connection.execute(sql.replace("%s", "?"), params).fetchall()
    finally:
        connection.close()


def store_version(database: str) -> int:
    """The store version (clusters/store/version.py) now."""
    rows = store_rows(database, "select value from clusters_storeversion where id = 1")
    return int(rows[0][0]) if rows else 0


def as_timestamp(value: Any) -> float:
    """A DateTimeField as read raw: text on SQLite (UTC), a datetime on PostgreSQL."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    return value.timestamp()


def gitops_count(n: int) -> int:
    """What the demo serves for --scale N (the same generator, the same default seed)."""
    from bench.apiserver import GITOPS_GROUPS
    from clusters.demo.scale import build_scaled_platform

    return sum(
        1 for o in build_scaled_platform(n) if o["apiVersion"].split("/")[0] in GITOPS_GROUPS
    )


def overview_rows(base: str) -> set[str]:
    """The namespaces the overview shows as Healthy (it shows TIDEWATCH_PAGE_ROWS rows at most,
    worst first: at scale, many healthy rows are not on it)."""
    connection = http.client.HTTPConnection(HOST, urlsplit(base).port, timeout=120)
    try:
        connection.request("GET", "/")
        page = connection.getresponse().read().decode()
    finally:
        connection.close()
    return set(re.findall(r'<tr [^>]*data-namespace="([^"]+)" data-status="Healthy"', page))


def pick_targets(database: str, count: int, shown_rows: set[str] | None) -> list[dict[str, str]]:
    """Healthy objects that are the only object of their namespace's overview row that can
    turn it red: every other object there is healthy too (so the row flips with it), in rows
    the overview shows."""
    rows = store_rows(
        database,
        "select o.kind, o.namespace, o.name, o.status, o.target_namespaces from "
        "clusters_gitopsobject o where o.status = 'Healthy' and o.kind in "
        "('Kustomization', 'HelmRelease', 'Application') order by o.kind, o.namespace, o.name",
    )
    healthy_rows = {
        namespace
        for (namespace,) in store_rows(
            database, "select namespace from clusters_namespacerollup where status = 'Healthy'"
        )
    }
    chosen: list[dict[str, str]] = []
    used: set[str] = set()
    by_kind: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_kind.setdefault(row[0], []).append(row)
    kinds = sorted(by_kind)
    index = 0
    while len(chosen) < count and any(by_kind.values()):
        kind = kinds[index % len(kinds)]
        index += 1
        while by_kind[kind]:
            _, namespace, name, status, targets = by_kind[kind].pop(0)
            # The overview row an object counts in: its own namespace for Flux, the
            # destination namespace(s) for an Application.
            if isinstance(targets, str):
                targets = json.loads(targets or "[]")
            shown = (targets or []) if kind == "Application" else [namespace]
            row = (shown or [namespace])[0]
            if shown_rows is not None and row not in shown_rows:
                continue
            if row in used or namespace in used or row not in healthy_rows:
                continue
            candidate = {"kind": kind, "namespace": namespace, "name": name, "row": row}
            # No target's search may list another target (search matches words anywhere in
            # name, namespace or kind): each search page then shows one changing object.
            if any(finds(a, b) or finds(b, a) for a in chosen for b in [candidate]):
                continue
            used.update({row, namespace})
            chosen.append(candidate)
            break
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} targets found in healthy namespaces")
    return chosen


def ident(target: dict[str, str]) -> str:
    return f"{target['kind']}/{target['namespace']}/{target['name']}"


def search_words(target: dict[str, str]) -> list[str]:
    return [target["namespace"], target["name"]]


def finds(searched: dict[str, str], other: dict[str, str]) -> bool:
    """Whether the search page for ``searched`` would list ``other`` too."""
    haystack = [other["name"].lower(), other["namespace"].lower(), other["kind"].lower()]
    return all(any(w.lower() in h for h in haystack) for w in search_words(searched))


def pages_for(target: dict[str, str]) -> list[tuple[str, str, str]]:
    """(type, path, selector of the element whose data-status shows the target)."""
    shown = ident(target)
    return [
        (
            "object",
            f"/o/demo/{target['kind']}/{target['namespace']}/{target['name']}",
            ".obj-head",
        ),
        ("namespace", f"/n/demo/{target['namespace']}", f'[data-object="{shown}"]'),
        (
            "search",
            f"/search?q={quote(' '.join(search_words(target)))}",
            f'#results [data-object="{shown}"]',
        ),
    ]


def status_path(target: dict[str, str]) -> str:
    if target["kind"] in FLUX_READY:
        group, version, plural = FLUX_READY[target["kind"]]
        suffix = "/status"
    else:
        group, version, plural = ARGO
        suffix = ""  # Argo CD's Application has no status subresource
    return (
        f"/apis/{group}/{version}/namespaces/{target['namespace']}/{plural}/"
        f"{target['name']}{suffix}"
    )


def failing_patch(target: dict[str, str], original: dict[str, Any], k: int) -> dict[str, Any]:
    if target["kind"] in FLUX_READY:
        conditions = [c for c in original.get("conditions") or [] if c.get("type") != "Ready"]
        ready = {
            "type": "Ready",
            "status": "False",
            "reason": "HealthCheckFailed",
            "message": f"e2e bench change {k}: health check failed",
            "lastTransitionTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return {"status": {"conditions": [ready, *conditions]}}
    return {"status": {"health": {"status": "Degraded", "message": f"e2e bench change {k}"}}}


def healing_patch(target: dict[str, str], original: dict[str, Any]) -> dict[str, Any]:
    if target["kind"] in FLUX_READY:
        return {"status": {"conditions": original.get("conditions") or []}}
    return {"status": {"health": original.get("health") or {"status": "Healthy"}}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/e2e.py", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="GitOps objects (demo --scale)")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument(
        "--browsers", type=int, default=1, help="Chromium processes the pages are spread over"
    )
    parser.add_argument("--changes", type=int, default=8)
    parser.add_argument("--targets", type=int, default=4)
    parser.add_argument(
        "--overview-share",
        type=float,
        default=0.2,
        help="share of overview pages; 0 at scale, where the overview's first page (100 rows, "
        "worst first) holds no healthy row to flip",
    )
    parser.add_argument("--poll-ms", type=int, default=1000, help="TIDEWATCH_LIVE_POLL_MS")
    parser.add_argument(
        "--settle",
        type=float,
        default=4.0,
        help="seconds after the last page showed a change during which other pages' renders "
        "are counted (longer than a roll-up rebuild at large N, or its late renders count)",
    )
    parser.add_argument(
        "--pipeline",
        choices=["demo", "split"],
        default="demo",
        help="demo: `manage.py demo`, one process; split: API server, Celery worker, gunicorn",
    )
    parser.add_argument("--database-url", default="", help="split only: PostgreSQL (flushed!)")
    parser.add_argument("--web-workers", type=int, default=2, help="split only: gunicorn workers")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is required")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    # A SIGTERM (timeout, Ctrl-C's cousin) still stops every process this script started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    directory = Path(tempfile.mkdtemp(prefix="tidewatch-e2e."))
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started_at = datetime.now(UTC)
    expected = gitops_count(args.n)
    if args.pipeline == "split":
        demo: Demo = Split(args.n, directory, args.poll_ms, args.database_url, args.web_workers)
    else:
        demo = Demo(args.n, directory, args.poll_ms)
    try:
        began = time.monotonic()
        count = "select count(*) from clusters_gitopsobject"
        rollups = "select count(*) from clusters_namespacerollup"

        def synced() -> bool:
            try:
                return (
                    store_rows(demo.database, count)[0][0] >= expected
                    and store_rows(demo.database, rollups)[0][0] > 0
                )
            except Exception:  # not migrated yet (SQLite or PostgreSQL)
                return False

        if not wait_for(synced, 1200, 0.2):
            raise SystemExit("the watcher never stored every object")
        first_sync = time.monotonic() - began
        print(f"{expected} objects stored {first_sync:.1f} s after start", file=sys.stderr)
        # The roll-ups follow the objects within derive_seconds; wait until a row is healthy.
        wait_for(
            lambda: bool(
                store_rows(
                    demo.database,
                    "select 1 from clusters_namespacerollup where status = 'Healthy' limit 1",
                )
            ),
            120,
            0.2,
        )
        # Without overview pages the targets need not be on the overview's first page.
        shown = overview_rows(demo.base) if args.overview_share > 0 else None
        targets = pick_targets(demo.database, args.targets, shown)
        result = measure(args, demo, targets)
        print_table(args, expected, first_sync, targets, result, started_at, load_before)
        return 0
    finally:
        demo.stop()
        if args.keep:
            print(f"(kept {directory})", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


def plan_pages(args: argparse.Namespace, targets: list[dict[str, str]]) -> list[dict[str, Any]]:
    """``--pages`` tabs: a share of overviews, the rest the targets' pages round-robin."""
    overviews = round(args.pages * args.overview_share)
    plan = [
        {"type": "overview", "path": "/", "target": None, "selector": None}
        for _ in range(overviews)
    ]
    per_target = [
        (t, kind, path, selector) for t in targets for kind, path, selector in pages_for(t)
    ]
    for i in range(args.pages - overviews):
        target, kind, path, selector = per_target[i % len(per_target)]
        plan.append({"type": kind, "path": path, "target": target, "selector": selector})
    return plan


def measure(args: argparse.Namespace, demo: Demo, targets: list[dict[str, str]]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    plan = plan_pages(args, targets)
    originals = {}
    for target in targets:
        status, body = demo.api("GET", status_path(target))
        if status != 200:
            raise SystemExit(f"GET {status_path(target)}: HTTP {status}")
        originals[ident(target)] = body.get("status") or {}
    latencies: dict[str, list[float]] = {}
    store_latencies: list[float] = []
    phases: dict[str, list[float]] = {name: [] for name in PHASES}
    wasted: list[int] = []  # per change: unchanged pages that re-rendered
    moves: list[int] = []  # per change: how often the store version moved
    fetches: list[int] = []  # per change: polls that cost a fingerprint or a render
    renders: list[int] = []  # per change: polls answered 200
    poll_ms: dict[str, list[float]] = {"idle": [], "fingerprint": [], "render": []}
    unchanged: list[int] = []  # per change: pages showing nothing that changed
    with sync_playwright() as playwright:
        # --browsers: the open pages spread over that many Chromium processes, as 50 pages
        # open in a team are in several people's browsers; one browser puts every same-site
        # tab's swaps on one renderer's main thread, which then sets the pace.
        browsers = [
            playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(max(1, args.browsers))
        ]
        contexts = [b.new_context(viewport={"width": 1280, "height": 800}) for b in browsers]
        for index, entry in enumerate(plan):
            page = contexts[index % len(contexts)].new_page()
            page.goto(demo.base + entry["path"], timeout=120_000)
            if entry["type"] == "overview":
                # An overview shows every target's row; it watches the row of the target
                # being changed (set per change below). Every row must be there and healthy.
                for target in targets:
                    row = f'tr[data-namespace="{target["row"]}"]'
                    if not page.evaluate(OBSERVER, [row, "Healthy"]):
                        raise SystemExit(f"the overview does not show {row} as Healthy")
            elif not page.evaluate(OBSERVER, [entry["selector"], "Healthy"]):
                raise SystemExit(f"{entry['path']} does not show {entry['selector']} as Healthy")
            entry["page"] = page
        print(f"{len(plan)} pages open", file=sys.stderr)
        plan[0]["page"].wait_for_timeout(3000)  # every page has polled once
        failing = [False] * len(targets)
        window = args.settle  # after the last page: late swaps would show
        for k in range(args.changes):
            target = targets[k % len(targets)]
            fail = not failing[k % len(targets)]
            # No minute boundary inside this change's window: the change token carries the
            # minute (relative times), so every page re-renders once just after one; and those
            # 50 renders take a few seconds on a loaded server.
            if 60 - time.time() % 60 < MINUTE_GUARD_S + window:
                plan[0]["page"].wait_for_timeout((60 - time.time() % 60 + 10) * 1000)
            related, others = [], []
            for entry in plan:
                page = entry["page"]
                if entry["type"] == "overview":
                    selector = f'tr[data-namespace="{target["row"]}"]'
                    page.evaluate("([s]) => { window.__e2e.selector = s; }", [selector])
                if entry["type"] == "overview" or entry["target"] is target:
                    differ = "Healthy" if fail else None
                    expect = None if fail else "Healthy"
                    page.evaluate(
                        "([d, e]) => Object.assign(window.__e2e, {differ: d, expect: e, "
                        "seenAt: null, swaps: [], polls: []})",
                        [differ, expect],
                    )
                    related.append(entry)
                else:
                    page.evaluate("() => { window.__e2e.swaps = []; window.__e2e.polls = []; }")
                    others.append(entry)
            moved_from = store_version(demo.database)
            since = datetime.now(UTC)
            patch = (
                failing_patch(target, originals[ident(target)], k)
                if fail
                else healing_patch(target, originals[ident(target)])
            )
            status, _ = demo.api("PATCH", status_path(target), patch)
            accepted = time.time()
            if status != 200:
                raise SystemExit(f"PATCH {status_path(target)}: HTTP {status}")
            failing[k % len(targets)] = fail
            stamp = since.strftime("%Y-%m-%d %H:%M:%S.%f")
            deadline = time.monotonic() + 60
            waiting = list(related)
            while waiting and time.monotonic() < deadline:
                waiting = [e for e in waiting if e["page"].evaluate("window.__e2e.seenAt") is None]
                if waiting:
                    # Each page stamps its own time; this sweep only asks whether all have.
                    # A sweep is one DevTools round trip per page, through the same browser
                    # process that carries every tab's polls: a fast sweep slowed the pages.
                    waiting[0]["page"].wait_for_timeout(SWEEP_MS)
            if waiting:
                raise SystemExit(f"change {k}: {len(waiting)} pages never showed it")
            # When the watcher stored it: the transition row's own time (same clock).
            ((stored,),) = store_rows(
                demo.database,
                "select min(at) from clusters_statustransition where kind = %s and "
                "namespace = %s and name = %s and field = 'status' and at >= %s",
                target["kind"],
                target["namespace"],
                target["name"],
                stamp if not demo.database.startswith("postgres") else since,
            )
            if stored is None:
                raise SystemExit(f"change {k}: no status transition stored")
            stored_at = as_timestamp(stored)
            store_latencies.append(stored_at - accepted)
            for entry in related:
                seen = entry["page"].evaluate("window.__e2e.seenAt") / 1000
                latencies.setdefault(entry["type"], []).append(seen - accepted)
                poll = entry["page"].evaluate(DELIVERED)
                if poll:  # the 200 that brought it: waiting, server, browser
                    start, loaded = poll[0] / 1000, poll[1] / 1000
                    phases["waiting for the poll that brought it"].append(start - accepted)
                    phases["server (request → answer)"].append(loaded - start)
                    phases["browser (answer → shown)"].append(seen - loaded)
                    phases["204 answers before it"].append(poll[2])
            plan[0]["page"].wait_for_timeout(window * 1000)
            moves.append(store_version(demo.database) - moved_from)
            # Every page's polls from the PATCH to the end of the window, by what the server
            # did: 204 unchanged store, 204 after a fingerprint (the version moved), 200 render.
            answered = [
                p
                for entry in plan
                for p in entry["page"].evaluate("window.__e2e.polls")
                if p[1] is not None
            ]
            fetches.append(sum(1 for p in answered if p[2] == 200 or p[3]))
            renders.append(sum(1 for p in answered if p[2] == 200))
            for p in answered:
                what = "render" if p[2] == 200 else "fingerprint" if p[3] else "idle"
                poll_ms[what].append(p[1] - p[0])
            unchanged.append(len(others))
            swapped = [e for e in others if e["page"].evaluate("window.__e2e.swaps.length")]
            wasted.append(len(swapped))
            slowest = {}
            for entry in related:
                seen = entry["page"].evaluate("window.__e2e.seenAt") / 1000 - accepted
                slowest[entry["type"]] = max(slowest.get(entry["type"], 0.0), seen)
            print(
                f"change {k}: {ident(target)} {'fails' if fail else 'heals'}; stored after "
                f"{store_latencies[-1]:.2f} s; slowest page per type "
                + ", ".join(f"{t} {v:.2f} s" for t, v in slowest.items())
                + (f"; re-rendered unchanged: {[e['path'] for e in swapped]}" if swapped else ""),
                file=sys.stderr,
            )
        for context in contexts:
            context.close()
        for browser in browsers:
            browser.close()
    # Leave the demo cluster as it was.
    for target, failed in zip(targets, failing, strict=True):
        if failed:
            demo.api("PATCH", status_path(target), healing_patch(target, originals[ident(target)]))
    return {
        "latencies": latencies,
        "store": store_latencies,
        "wasted": wasted,
        "unchanged": unchanged,
        "moves": moves,
        "fetches": fetches,
        "renders": renders,
        "poll_ms": poll_ms,
        "plan": [(e["type"], e["path"]) for e in plan],
        "phases": phases,
    }


def print_table(
    args: argparse.Namespace,
    expected: int,
    first_sync: float,
    targets: list[dict[str, str]],
    result: dict[str, Any],
    started_at: datetime,
    load_before: str,
) -> None:
    store = "PostgreSQL" if args.database_url else "SQLite"
    if args.pipeline == "split":
        pipeline = (
            f"Split, each its own process: `bench.apiserver --n {args.n}`, a Celery worker "
            f"(`--pool solo --queues watch`, the watch task), gunicorn ({args.web_workers} sync "
            f"workers), {store}"
        )
    else:
        pipeline = (
            f"`manage.py demo --scale {args.n} --no-timeline` (demo cluster + in-process watcher "
            "+ threaded Django server, one process, SQLite)"
        )
    counts: dict[str, int] = {}
    for kind, _ in result["plan"]:
        counts[kind] = counts.get(kind, 0) + 1
    print(
        f"\n### bench/e2e.py --n {args.n} --pipeline {args.pipeline} — "
        f"{started_at:%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {os.cpu_count()} cores, load {load_before} → "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    print(
        f"{pipeline}: {expected:,} GitOps objects, stored {first_sync:.0f} s after start. "
        f"{len(result['plan'])} pages open in "
        + (f"{args.browsers} Chromium processes (" if args.browsers > 1 else "one Chromium (")
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + f"), live poll every {args.poll_ms} ms; {args.changes} status changes PATCHed at the "
        f"API server, over {len(targets)} targets ("
        + ", ".join(f"{t['kind']} {t['namespace']}/{t['name']}" for t in targets)
        + "), each failing then healing.\n"
    )
    print("| API server accepted → page shows it | pages updated | p50 | p95 | max |")
    print("|---|---|---|---|---|")
    every: list[float] = []
    for kind in ("overview", "namespace", "object", "search"):
        values = [x * 1000 for x in result["latencies"].get(kind, [])]
        if not values:
            continue
        every += values
        print(
            f"| {kind} | {len(values)} | {percentile(values, 0.5):.0f} ms | "
            f"{percentile(values, 0.95):.0f} ms | {max(values):.0f} ms |"
        )
    print(
        f"| **all pages** | {len(every)} | {percentile(every, 0.5):.0f} ms | "
        f"{percentile(every, 0.95):.0f} ms | {max(every):.0f} ms |"
    )
    store = [x * 1000 for x in result["store"]]
    if store:
        print(
            f"| (the store: the transition row's time) | {len(store)} changes | "
            f"{percentile(store, 0.5):.0f} ms | {percentile(store, 0.95):.0f} ms | "
            f"{max(store):.0f} ms |"
        )
    print("\nWhere the time goes, per page update (from the API server's acceptance):\n")
    print("| phase | updates | p50 | p95 | max |")
    print("|---|---|---|---|---|")
    for name, values in result["phases"].items():
        if not values:
            continue
        if name.startswith("204"):
            print(
                f"| {name} | {len(values)} | {percentile(values, 0.5):.0f} | "
                f"{percentile(values, 0.95):.0f} | {max(values):.0f} |"
            )
            continue
        ms = [x * 1000 for x in values]
        print(
            f"| {name} | {len(ms)} | {percentile(ms, 0.5):.0f} ms | "
            f"{percentile(ms, 0.95):.0f} ms | {max(ms):.0f} ms |"
        )
    moves, fetches, renders = result["moves"], result["fetches"], result["renders"]
    count = max(1, len(moves))
    print(
        f"\nPer change (from the PATCH to {args.settle:g} s after the last page showed it): the "
        f"store version moved {sum(moves) / count:.2f} times ({', '.join(map(str, moves))}); "
        f"{sum(fetches) / count:.1f} polls cost a fingerprint or a render, of them "
        f"{sum(renders) / count:.1f} answered 200 (renders).\n"
    )
    print("| poll answered (every page, in those windows) | polls | p50 | p95 | max |")
    print("|---|---|---|---|---|")
    labels = {
        "idle": "204, store unchanged (one query)",
        "fingerprint": "204 after a fingerprint (the version moved)",
        "render": "200, the part rendered",
    }
    for what, values in result["poll_ms"].items():
        if values:
            print(
                f"| {labels[what]} | {len(values)} | {percentile(values, 0.5):.0f} ms | "
                f"{percentile(values, 0.95):.0f} ms | {max(values):.0f} ms |"
            )
    wasted = result["wasted"]
    print(
        f"\nPages that re-rendered although nothing they show changed: {sum(wasted)} over "
        f"{len(wasted)} changes (per change: {', '.join(map(str, wasted))}; of "
        f"{min(result['unchanged'])}–{max(result['unchanged'])} unchanged pages each time; "
        f"counted until {args.settle:g} s after the last page showed the change)."
    )


if __name__ == "__main__":
    sys.exit(main())
