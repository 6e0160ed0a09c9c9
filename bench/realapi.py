"""First sync against a REAL kube-apiserver (issue 11's own floor was measured there).

    .venv/bin/python bench/realapi.py [--n 2000] [--database-url sqlite]
        [--database-url postgres://…] [--keep]

1. Starts ``../shared/realapi`` (``up.sh DIR``: kube-apiserver v1.36 + etcd on loopback, the Flux
   and Argo CD CRDs from ``../shared/reference/crds`` installed); binds the shipped read-only
   ClusterRole (deploy/kubernetes/rbac.yaml) to the ``tidewatch`` user, as tests/conformance
   does; Tidewatch reads as that user (the kubeconfig's ``tidewatch`` context).
2. Creates N/2 Kustomizations (over ``--namespaces`` namespaces) and N/2 Applications (in
   ``argocd``), with parallel requests (``--parallel``): each object is created by one field
   manager and its status written by its controller's (``kustomize-controller`` through the
   status subresource; ``argocd-application-controller`` on the Application itself, which has
   no status subresource), so every object carries the managedFields a real one does.
3. The floor: a paged (limit 500) consistent list of both kinds, plain HTTPS + JSON parsing
   (http.client + orjson, the ``tidewatch`` token), best of three.
4. Tidewatch's first sync, each in a child process of its own (its peak RSS is its VmHWM) on a
   fresh store (a new SQLite file, or the ``--database-url`` database flushed):
   ``poll``: ``clusters.poll.poll_cluster`` once; ``watch``: ``clusters.sync.watch_cluster``
   in a thread until every GitOps object is in the store (counted every 50 ms), then stopped.
5. Prints one Markdown table (time, × floor, peak RSS); stops the API server and etcd
   (``down.sh``) and removes the directory unless ``--keep``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import platform
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import yaml

ROOT = Path(__file__).resolve().parent.parent
REALAPI = Path(os.environ.get("TIDEWATCH_REALAPI_HOME") or ROOT.parent / "shared" / "realapi")
RBAC = ROOT / "deploy" / "kubernetes" / "rbac.yaml"
CLUSTER = "real"
KUSTOMIZATIONS = "/apis/kustomize.toolkit.fluxcd.io/v1"
APPLICATIONS = "/apis/argoproj.io/v1alpha1"
CHILD_TIMEOUT = 3600


# --- the API server ------------------------------------------------------------------------------


class Server:
    """What up.sh wrote: URL, CA, the admin certificate and the tidewatch token."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        env = dict(
            line.split("=", 1)
            for line in (directory / "env").read_text().splitlines()
            if "=" in line
        )
        self.url = env["APISERVER_URL"]
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        config = yaml.safe_load((directory / "kubeconfig").read_text())
        users = {u["name"]: u["user"] for u in config["users"]}
        self.token = users["tidewatch"]["token"]
        pki = directory / "pki"
        self.admin_tls = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.admin_tls.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self.reader_tls = ssl.create_default_context(cafile=str(pki / "ca.crt"))

    def connect(self, admin: bool = True) -> http.client.HTTPSConnection:
        context = self.admin_tls if admin else self.reader_tls
        return http.client.HTTPSConnection(self.host, self.port, context=context, timeout=120)


def call(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    data = orjson.dumps(body) if body is not None else None
    sent = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = content_type
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    return response.status, response.read()


def ensure(status: int, body: bytes, what: str, ok: tuple[int, ...] = (200, 201)) -> None:
    if status not in ok:
        raise RuntimeError(f"{what}: HTTP {status}: {body[:300]!r}")


def bind_rbac(server: Server) -> None:
    """The shipped ClusterRole + ClusterRoleBinding (its subject is the tidewatch user)."""
    connection = server.connect()
    try:
        for document in yaml.safe_load_all(RBAC.read_text()):
            if not document or document["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
                continue
            plural = "clusterroles" if document["kind"] == "ClusterRole" else "clusterrolebindings"
            status, body = call(
                connection, "POST", f"/apis/rbac.authorization.k8s.io/v1/{plural}", document
            )
            ensure(status, body, f"create {plural}", (201, 409))
    finally:
        connection.close()


# --- objects -------------------------------------------------------------------------------------


def kustomization(index: int, namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the object as applied, the status kustomize-controller writes): about what a real one
    holds — a few conditions, revisions, a small inventory, history."""
    name = f"ks-{index:05d}"
    revision = f"main@sha1:{index:040x}"
    failing = index % 10 == 0
    body = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": namespace, "tier": f"t{index % 4}"},
        },
        "spec": {
            "interval": "10m",
            "path": f"./deploy/{namespace}/{name}",
            "prune": True,
            "timeout": "5m",
            "sourceRef": {"kind": "GitRepository", "name": "platform", "namespace": "flux-system"},
            "targetNamespace": namespace,
        },
    }
    at = "2026-11-30T12:00:00Z"
    ready = {
        "type": "Ready",
        "status": "False" if failing else "True",
        "reason": "HealthCheckFailed" if failing else "ReconciliationSucceeded",
        "message": (
            f"health check failed after 5m0s: timeout waiting for: [Deployment/{namespace}/{name}"
            " status: 'InProgress']"
            if failing
            else f"Applied revision: {revision}"
        ),
        "observedGeneration": 1,
        "lastTransitionTime": at,
    }
    healthy = {**ready, "type": "Healthy"}
    inventory = [
        {"id": f"{namespace}_{name}_apps_Deployment", "v": "v1"},
        {"id": f"{namespace}_{name}__Service", "v": "v1"},
        {"id": f"{namespace}_{name}__ConfigMap", "v": "v1"},
    ]
    status = {
        "observedGeneration": 1,
        "conditions": [ready, healthy],
        "lastAppliedRevision": revision,
        "lastAttemptedRevision": revision,
        "inventory": {"entries": inventory},
        "history": [
            {
                "digest": f"sha256:{index:064x}",
                "firstReconciled": at,
                "lastReconciled": at,
                "lastReconciledDuration": "1.2s",
                "lastReconciledStatus": ready["reason"],
                "totalReconciliations": 3,
                "metadata": {"revision": revision},
            }
        ],
    }
    return body, status


def application(index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    name = f"app-{index:05d}"
    team = f"team-{index % 20:02d}"
    degraded = index % 10 == 0
    body = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "labels": {"team": team}},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": f"https://git.example.com/{team}/apps.git",
                "path": f"apps/{name}",
                "targetRevision": "main",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": team},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }
    revision = f"{index:040x}"
    at = "2026-11-30T12:00:00Z"
    status = {
        "health": {
            "status": "Degraded" if degraded else "Healthy",
            **({"message": "Deployment exceeded its progress deadline"} if degraded else {}),
        },
        "sync": {"status": "Synced", "revision": revision, "comparedTo": body["spec"]},
        "reconciledAt": at,
        "sourceType": "Kustomize",
        "summary": {"images": [f"registry.example.com/{team}/{name}:1.{index % 50}.0"]},
        "resources": [
            {
                "group": "apps",
                "version": "v1",
                "kind": "Deployment",
                "namespace": team,
                "name": name,
                "status": "Synced",
                "health": {"status": "Degraded" if degraded else "Healthy"},
            },
            {
                "version": "v1",
                "kind": "Service",
                "namespace": team,
                "name": name,
                "status": "Synced",
            },
        ],
        "operationState": {
            "operation": {"sync": {"revision": revision}},
            "phase": "Succeeded",
            "message": "successfully synced (all tasks run)",
            "startedAt": at,
            "finishedAt": at,
            "syncResult": {"revision": revision, "source": body["spec"]["source"]},
        },
        "history": [
            {"id": 1, "revision": revision, "deployedAt": at, "source": body["spec"]["source"]}
        ],
    }
    return body, status


def namespace_names(count: int) -> list[str]:
    return [f"team-{i:02d}" for i in range(count)]


def create_objects(server: Server, n: int, namespaces: int, parallel: int) -> dict[str, float]:
    """N/2 Kustomizations + N/2 Applications, each created then its status written."""
    connection = server.connect()
    try:
        for name in [*namespace_names(namespaces), "argocd", "flux-system"]:
            status, body = call(
                connection, "POST", "/api/v1/namespaces", {"metadata": {"name": name}}
            )
            ensure(status, body, f"namespace {name}", (201, 409))
    finally:
        connection.close()
    teams = namespace_names(namespaces)
    jobs = [("ks", i, teams[i % namespaces]) for i in range(n // 2)]
    jobs += [("app", i, "argocd") for i in range(n - n // 2)]
    local = threading.local()

    def one(job: tuple[str, int, str]) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = server.connect()
        what, index, namespace = job
        if what == "ks":
            body, status_body = kustomization(index, namespace)
            base = f"{KUSTOMIZATIONS}/namespaces/{namespace}/kustomizations"
            creator, writer, status_path = (
                "kubectl-client-side-apply",
                "kustomize-controller",
                "/status",
            )
        else:
            body, status_body = application(index)
            base = f"{APPLICATIONS}/namespaces/argocd/applications"
            creator, writer, status_path = "argocd-server", "argocd-application-controller", ""
        name = body["metadata"]["name"]
        status, reply = call(connection, "POST", f"{base}?fieldManager={creator}", body)
        ensure(status, reply, f"create {name}", (201, 409))
        status, reply = call(
            connection,
            "PATCH",
            f"{base}/{name}{status_path}?fieldManager={writer}",
            {"status": status_body},
            "application/merge-patch+json",
        )
        ensure(status, reply, f"status of {name}")

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        for _ in pool.map(one, jobs, chunksize=50):
            pass
    seconds = time.perf_counter() - started
    return {"create_s": seconds, "create_per_s": n / seconds}


# --- the floor -----------------------------------------------------------------------------------


def list_all(connection: http.client.HTTPSConnection, token: str, path: str) -> tuple[int, int]:
    """Every page of one consistent list (no resourceVersion: read from etcd); (items, bytes)."""
    items = size = 0
    cont = ""
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        query = {"limit": "500", **({"continue": cont} if cont else {})}
        status, body = call(connection, "GET", f"{path}?{urlencode(query)}", headers=headers)
        ensure(status, body, f"list {path}", (200,))
        size += len(body)
        page = orjson.loads(body)
        items += len(page.get("items") or [])
        cont = (page.get("metadata") or {}).get("continue") or ""
        if not cont:
            return items, size


def measure_floor(server: Server) -> dict[str, float]:
    connection = server.connect(admin=False)
    try:
        started = time.perf_counter()
        ks, ks_bytes = list_all(connection, server.token, f"{KUSTOMIZATIONS}/kustomizations")
        apps, app_bytes = list_all(connection, server.token, f"{APPLICATIONS}/applications")
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    return {"seconds": seconds, "items": ks + apps, "bytes": ks_bytes + app_bytes}


# --- Tidewatch, in a child process ----------------------------------------------------------------


def child(mode: str, expected: int) -> dict[str, Any]:
    """Runs in the child: a fresh store, then one first sync by ``mode``; prints JSON."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    from clusters.models import Cluster, GitOpsObject
    from clusters.registry import sync_clusters

    sync_clusters()
    cluster = Cluster.objects.get(name=CLUSTER)
    result: dict[str, Any] = {"mode": mode}
    started = time.perf_counter()
    if mode == "poll":
        from clusters.poll import poll_cluster

        run = poll_cluster(cluster)
        result["seconds"] = time.perf_counter() - started
        result["ok"] = run.ok
        result["error"] = run.error or str(run.errors or "")
    else:
        from django.db import connections

        from clusters.sync import watch_cluster

        stop = threading.Event()
        outcome: list[Any] = []

        def watch() -> None:
            try:
                outcome.append(watch_cluster(Cluster.objects.get(pk=cluster.pk), stop=stop))
            finally:
                connections.close_all()

        thread = threading.Thread(target=watch, name="bench-watch")
        thread.start()
        stored = 0
        deadline = time.monotonic() + CHILD_TIMEOUT
        while time.monotonic() < deadline and thread.is_alive():
            stored = GitOpsObject.objects.filter(cluster=cluster).count()
            if stored >= expected:
                break
            time.sleep(0.05)
        result["seconds"] = time.perf_counter() - started
        stop.set()
        thread.join(120)
        result["ok"] = stored >= expected
        ended = outcome[0] if outcome else None
        result["error"] = "" if result["ok"] else f"{stored} of {expected} stored; {ended}"
    result["stored"] = GitOpsObject.objects.filter(cluster=cluster).count()
    import resource

    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_child(mode: str, expected: int, env: dict[str, str], log: Path) -> dict[str, Any]:
    with log.open("a") as out:
        out.write(f"\n--- child {mode}\n")
        out.flush()
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--n", str(expected)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
            timeout=CHILD_TIMEOUT + 300,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"child {mode} failed ({done.returncode}); see {log}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise RuntimeError(f"child {mode}: {result['error']}")
    return result


# --- main ----------------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/realapi.py", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="GitOps objects (half of each kind)")
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=16, help="requests in flight creating")
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="a PostgreSQL database (flushed!); repeat it, or give 'sqlite' too, to measure "
        "several stores on the same objects (default: a fresh SQLite file)",
    )
    parser.add_argument("--modes", nargs="+", default=["poll", "watch"])
    parser.add_argument("--keep", action="store_true", help="keep the directory (and its logs)")
    parser.add_argument("--child", choices=["poll", "watch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(child(args.child, args.n)))
        return 0
    if not (REALAPI / "up.sh").is_file():
        raise SystemExit(f"{REALAPI}/up.sh not found (set TIDEWATCH_REALAPI_HOME)")

    directory = Path(tempfile.mkdtemp(prefix="tidewatch-realapi."))
    log = directory / "bench.log"
    started_at = datetime.now(UTC)
    load_before = loadavg()
    try:
        up = subprocess.run(
            ["bash", str(REALAPI / "up.sh"), str(directory / "api")],
            capture_output=True,
            text=True,
            check=False,
        )
        if up.returncode != 0:
            raise SystemExit(f"up.sh failed: {up.stderr[-2000:]}")
        print(up.stdout.strip(), file=sys.stderr)
        server = Server(directory / "api")
        bind_rbac(server)
        created = create_objects(server, args.n, args.namespaces, args.parallel)
        print(f"created {args.n} objects in {created['create_s']:.1f} s", file=sys.stderr)
        floors = [measure_floor(server) for _ in range(3)]
        floor = min(floors, key=lambda f: f["seconds"])
        if floor["items"] != args.n:
            raise SystemExit(f"the floor listed {floor['items']} objects, not {args.n}")
        clusters = {
            "clusters": [
                {
                    "name": CLUSTER,
                    "kubeconfig": str(directory / "api" / "kubeconfig"),
                    "context": "tidewatch",
                }
            ]
        }
        (directory / "clusters.yaml").write_text(json.dumps(clusters))
        results = []
        for url, mode in [(u, m) for u in args.database_url or ["sqlite"] for m in args.modes]:
            store = "SQLite" if url == "sqlite" else "PostgreSQL"
            database = f"sqlite:///{directory / f'{mode}.sqlite3'}" if url == "sqlite" else url
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "dashboard.settings",
                "SECRET_KEY": "realapi-bench-only-secret-key",
                "DJANGO_DEBUG": "false",
                "TIDEWATCH_VAR_DIR": str(directory),
                "DATABASE_URL": database,
                "TIDEWATCH_CLUSTERS": str(directory / "clusters.yaml"),
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
                "ALLOWED_HOSTS": "localhost,127.0.0.1",
            }
            result = {**run_child(mode, args.n, env, log), "store": store}
            print(f"{store} {mode}: {result['seconds']:.1f} s", file=sys.stderr)
            results.append(result)
        print_table(args, created, floor, floors, results, started_at, load_before)
        return 0
    finally:
        if (directory / "api" / "env").is_file():
            subprocess.run(["bash", str(REALAPI / "down.sh"), str(directory / "api")], check=False)
        if args.keep:
            print(f"(kept {directory})", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


def print_table(
    args: argparse.Namespace,
    created: dict[str, float],
    floor: dict[str, float],
    floors: list[dict[str, float]],
    results: list[dict[str, Any]],
    started_at: datetime,
    load_before: str,
) -> None:
    print(
        f"\n### bench/realapi.py --n {args.n} — {started_at:%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {os.cpu_count()} cores, load {load_before} → {loadavg()}\n"
    )
    print(
        f"kube-apiserver v1.36 + etcd (../shared/realapi), {args.n // 2:,} Kustomizations in "
        f"{args.namespaces} namespaces + {args.n - args.n // 2:,} Applications in argocd, "
        f"{floor['bytes'] / floor['items'] / 1024:.1f} KiB of JSON per object (managedFields "
        f"included); created with {args.parallel} requests in flight in "
        f"{created['create_s']:.0f} s ({created['create_per_s']:.0f} objects/s, create + status "
        f"write each).\n"
    )
    print("| | time | × floor | peak RSS |")
    print("|---|---|---|---|")
    runs = ", ".join(f"{f['seconds']:.2f}" for f in floors)
    print(
        f"| floor: paged consistent list of both kinds, HTTPS + orjson (best of 3: {runs} s) | "
        f"{floor['seconds']:.2f} s | 1.0 | – |"
    )
    labels = {
        "poll": "Tidewatch first poll (`poll_cluster`)",
        "watch": "Tidewatch first watch sync (`watch_cluster` until all stored)",
    }
    for result in results:
        print(
            f"| {labels[result['mode']]}, {result['store']} | {result['seconds']:.2f} s | "
            f"{result['seconds'] / floor['seconds']:.1f} | {result['peak_rss_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    sys.exit(main())
