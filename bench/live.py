"""Live updates (issue 11): store → open page latency with N pages open in one Chromium.

    .venv/bin/python bench/live.py [--pages 50] [--changes 6] [--idle 30] [--unrelated 0.2]
        [--poll-ms 1000] [--keep]

1. Sets up a throwaway Tidewatch (SQLite in a temporary directory) and the demo cluster with the
   demo data (clusters.demo), polls it once with the real poller.
2. Serves the dashboard like ``make demo`` does (one process, Django's threaded WSGI server,
   static files from the app), forked off this process, on 127.0.0.1.
3. Opens ``--pages`` pages (tabs of one context) in one headless Chromium (/usr/bin/chromium):
   overview, namespace, object and search pages that show the Application
   argocd/sandbox-experiments, and a share (``--unrelated``) of pages that do not (the gitlab
   namespace, HelmRelease bigbang/gitlab, a search for gitlab). All are visible.
4. Idle: for ``--idle`` seconds nothing changes; records the server's CPU time (utime+stime from
   /proc), the requests the pages made and the share of 204s.
5. ``--changes`` times: flips sandbox-experiments' health in the demo cluster and polls it (the
   store write path a watch uses too), then waits until every page that shows it shows the new
   status. A MutationObserver in each page stamps the wall time (performance.timeOrigin +
   performance.now()) of the first mutation after which the page shows it. Latency is taken
   from the moment the poll returned (the store holds the change, roll-ups included); the poll's
   own duration is printed beside it. Unrelated pages' swaps are counted (htmx:afterSwap).
6. Prints one Markdown table. Loopback only, bounded in time; the server process is ended.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import HOST, _Quiet, _ThreadedServer, percentile, stop  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGO = "argoproj.io"
APP = ("argocd", "sandbox-experiments")

# Pages that show sandbox-experiments, and the JS predicate (given the expected status) that
# says the page shows what the store holds now.
RELATED = [
    ("/", "s => document.querySelector('tr[data-namespace=\"sandbox\"]')?.dataset.status === s"),
    (
        "/n/demo/sandbox",
        "s => document.querySelector('[data-object=\"Application/argocd/sandbox-experiments\"]')"
        "?.dataset.status === s",
    ),
    (
        "/o/demo/Application/argocd/sandbox-experiments",
        "s => document.querySelector('.obj-head')?.dataset.status === s",
    ),
    (
        "/search?q=sandbox",
        "s => document.querySelector('#results [data-object=\"Application/argocd/"
        "sandbox-experiments\"]')?.dataset.status === s",
    ),
]
UNRELATED = ["/n/demo/gitlab", "/o/demo/HelmRelease/bigbang/gitlab", "/search?q=gitlab&tool=flux"]

# Installed in each page through the DevTools protocol (not a page script: the CSP holds, and
# the predicate is part of the evaluated source, not eval'd by the page).
OBSERVER = """() => {
  const shows = PREDICATE;
  window.__live = {expect: null, seenAt: null, shows};
  new MutationObserver(() => {
    const live = window.__live;
    if (live.expect && live.seenAt === null && live.shows(live.expect))
      live.seenAt = performance.timeOrigin + performance.now();
  }).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def configure(directory: Path, poll_ms: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": "live-bench-only-secret-key",
            "DJANGO_DEBUG": "false",
            "TIDEWATCH_VAR_DIR": str(directory),
            "DATABASE_URL": f"sqlite:///{directory / 'tidewatch.sqlite3'}",
            "TIDEWATCH_CLUSTERS": str(directory / "clusters.yaml"),
            "TIDEWATCH_ANONYMOUS_READ": "true",
            "TIDEWATCH_LIVE_POLL_MS": str(poll_ms),
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "false",
            "TIDEWATCH_SECURE_COOKIES": "false",
            "LOG_LEVEL": "WARNING",
            # Playwright's sync API runs an event loop in this thread; the polls here are
            # plain synchronous code all the same.
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        }
    )


def prepare(directory: Path) -> tuple[Any, Any]:
    """Migrate, start the demo cluster, register it, poll once. Returns (demo, cluster)."""
    import django

    django.setup()
    from django.core.management import call_command

    from clusters.demo.kubeconfig import write_kubeconfig
    from clusters.demo.server import DemoCluster
    from clusters.poll import poll_cluster
    from clusters.registry import sync_clusters

    call_command("migrate", verbosity=0)
    demo = DemoCluster(token="live-token")
    url = demo.start(host=HOST, port=0)
    kubeconfig = write_kubeconfig(directory / "kubeconfig.yaml", url, "live-token")
    entry = {"name": "demo", "kubeconfig": str(kubeconfig), "context": "demo"}
    (directory / "clusters.yaml").write_text(json.dumps({"clusters": [entry]}))
    (cluster,) = sync_clusters()
    run = poll_cluster(cluster)
    if not run.ok:
        raise SystemExit(f"the poll failed: {run.error or run.errors}")
    return demo, cluster


def serve() -> tuple[int, int]:
    """One forked server process, as ``make demo`` serves (threaded, static files included)."""
    from wsgiref.simple_server import make_server

    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    connections.close_all()  # no connection may cross the fork
    app = StaticFilesHandler(get_wsgi_application())
    server = make_server(HOST, 0, app, server_class=_ThreadedServer, handler_class=_Quiet)
    port = server.server_address[1]
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        try:
            server.serve_forever(poll_interval=0.5)
        finally:
            os._exit(0)
    server.socket.close()
    return port, pid


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Requests:
    """Every response the pages got (the context's response event)."""

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}
        self.counting = False

    def __call__(self, response: Any) -> None:
        if self.counting and "/static/" not in response.url:
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1

    def take(self) -> dict[int, int]:
        taken, self.statuses = self.statuses, {}
        return taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/live.py", description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--changes", type=int, default=6)
    parser.add_argument("--idle", type=float, default=30.0, help="idle seconds measured")
    parser.add_argument("--unrelated", type=float, default=0.2, help="share of unrelated pages")
    parser.add_argument("--poll-ms", type=int, default=1000, help="TIDEWATCH_LIVE_POLL_MS")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not (1 <= args.pages <= 200 and 1 <= args.changes <= 50 and 0 < args.idle <= 300):
        parser.error("pages 1-200, changes 1-50, idle up to 300 s")
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is required")

    directory = Path(tempfile.mkdtemp(prefix="tidewatch-live-"))
    configure(directory, args.poll_ms)
    demo = pid = None
    try:
        demo, cluster = prepare(directory)
        port, pid = serve()
        return measure(args, demo, cluster, port, pid)
    finally:
        if pid:
            stop([pid])
        if demo is not None:
            demo.stop()
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


def measure(args: argparse.Namespace, demo: Any, cluster: Any, port: int, pid: int) -> int:
    from playwright.sync_api import sync_playwright

    from clusters.poll import poll_cluster

    base = f"http://{HOST}:{port}"
    unrelated_count = round(args.pages * args.unrelated)
    plan = [UNRELATED[i % len(UNRELATED)] for i in range(unrelated_count)]
    plan = [(path, None) for path in plan]
    plan += [RELATED[i % len(RELATED)] for i in range(args.pages - unrelated_count)]
    requests = Requests()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.on("response", requests)
        pages = []
        for path, predicate in plan:
            page = context.new_page()
            page.goto(base + path)
            if predicate:
                page.evaluate(OBSERVER.replace("PREDICATE", predicate))
            pages.append((path, predicate, page))
        hidden = [p for _, _, p in pages if p.evaluate("document.visibilityState") != "visible"]
        print(f"{len(pages)} pages open, {len(hidden)} hidden", file=sys.stderr)

        # Idle: nothing changes.
        pages[0][2].wait_for_timeout(3000)  # every page has started polling
        requests.counting = True
        cpu, started = cpu_seconds(pid), time.monotonic()
        pages[0][2].wait_for_timeout(args.idle * 1000)
        idle_s = time.monotonic() - started
        idle_cpu = (cpu_seconds(pid) - cpu) / idle_s
        idle = requests.take()

        # Changes.
        swaps = "Number(document.body.dataset.liveSwaps || '0')"
        swaps_before = [page.evaluate(swaps) for _, predicate, page in pages if predicate is None]
        minute = int(time.time() // 60)
        latencies: list[float] = []
        from_start: list[float] = []
        polls: list[float] = []
        cpu, started = cpu_seconds(pid), time.monotonic()
        for index in range(args.changes):
            status = "Degraded" if index % 2 == 0 else "Healthy"
            for _, predicate, page in pages:
                if predicate:
                    page.evaluate(f"window.__live.expect = {status!r}; window.__live.seenAt = null")
            health = {"status": status, "message": f"bench change {index}"}
            demo.patch(ARGO, "applications", *APP, {"status": {"health": health}})
            poll_started = time.time()
            poll_cluster(cluster)
            stored = time.time()
            polls.append(stored - poll_started)
            deadline = time.monotonic() + 30
            waiting = [page for _, predicate, page in pages if predicate]
            while waiting and time.monotonic() < deadline:
                waiting[0].wait_for_timeout(100)
                waiting = [p for p in waiting if p.evaluate("window.__live.seenAt") is None]
            if waiting:
                raise SystemExit(f"change {index}: {len(waiting)} pages never showed it")
            for _, predicate, page in pages:
                if predicate:
                    seen = page.evaluate("window.__live.seenAt") / 1000
                    latencies.append(seen - stored)
                    from_start.append(seen - poll_started)
            pages[0][2].wait_for_timeout(1500)  # let the unrelated pages see the new version
        busy_s = time.monotonic() - started
        busy_cpu = (cpu_seconds(pid) - cpu) / busy_s
        busy = requests.take()
        crossed = int(time.time() // 60) - minute
        unrelated_swaps = [
            page.evaluate(swaps) - before
            for (_, predicate, page), before in zip(
                [p for p in pages if p[1] is None], swaps_before, strict=True
            )
        ]
        context.close()
        browser.close()

    def share_204(statuses: dict[int, int]) -> str:
        total = sum(statuses.values())
        return f"{100 * statuses.get(204, 0) / total:.1f} %" if total else "–"

    ms = [x * 1000 for x in latencies]
    ms_start = [x * 1000 for x in from_start]
    print(
        f"\n### bench/live.py — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}\n"
    )
    print(
        f"{args.pages} pages open ({args.pages - unrelated_count} showing the changed object, "
        f"{unrelated_count} not), poll every {args.poll_ms} ms, {args.changes} changes, "
        f"demo data, SQLite, one server process.\n"
    )
    print("| figure | value |")
    print("|---|---|")
    print(
        f"| store → page latency p50 / p95 / max | {percentile(ms, 50):.0f} / "
        f"{percentile(ms, 95):.0f} / {max(ms):.0f} ms ({len(ms)} page updates) |"
    )
    print(
        f"| change → page (from the start of the storing poll) p50 / p95 / max | "
        f"{percentile(ms_start, 50):.0f} / {percentile(ms_start, 95):.0f} / "
        f"{max(ms_start):.0f} ms (poll took {1000 * sum(polls) / len(polls):.0f} ms mean) |"
    )
    idle_total = sum(idle.values())
    print(f"| idle: server CPU per second | {idle_cpu * 1000:.0f} ms/s |")
    print(f"| idle: requests/s, share of 204 | {idle_total / idle_s:.1f}/s, {share_204(idle)} |")
    busy_total = sum(busy.values())
    print(f"| changing: server CPU per second | {busy_cpu * 1000:.0f} ms/s |")
    print(
        f"| changing: requests/s, share of 204 | {busy_total / busy_s:.1f}/s, "
        f"{share_204(busy)} ({busy}) |"
    )
    print(
        f"| unrelated pages re-rendered during the changes | "
        f"{sum(1 for s in unrelated_swaps if s)} of {len(unrelated_swaps)} (swaps: "
        f"{sum(unrelated_swaps)}; {crossed} minute boundaries crossed, each one swap per page "
        f"for the relative times) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
