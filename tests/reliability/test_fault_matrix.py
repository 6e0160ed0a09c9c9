"""The fault matrix (issue 7): every fault a cluster can throw at the poller, in one table.

Each row runs against two demo clusters in one clusters.yaml — "healthy" and "faulty" — polled
together through the real kubernetes client over real HTTP(S). For each fault:

1. the poll finishes for the other kinds and the other cluster (real changes made meanwhile land);
2. the failed kind's (or cluster's) stored objects are kept untouched and shown stale, with the
   reason and the age of the data: KindState, /api/v1/clusters, /api/v1/namespaces, the overview
   HTML and the object page all say so;
3. the next good poll recovers and clears every stale mark;
4. nothing is lost or duplicated: same (kind, namespace, name) set, same claims, and exactly one
   transition per real change — none for the fault itself, none for the recovery.

tests/clusters/test_poll.py and test_tls_auth.py cover some of these one at a time; this module
is the whole matrix in one place (docs/reliability.md is written from it).
"""

from __future__ import annotations

import html
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from clusters.demo.tls import Pki, make_test_pki
from clusters.models import Event, KindState, PollRun
from clusters.poll import due_clusters
from tests.reliability.exec_plugin import hanging_plugin, write_exec_kubeconfig
from tests.reliability.world import (
    APPLICATION,
    FAULTY,
    HEALTHY,
    HELMRELEASE,
    KUSTOMIZATION,
    Probe,
    World,
    backdate,
    claim_counts,
    inventory,
    last_transition_id,
    make_world,
    rows,
    status_change,
    transitions_since,
)

pytestmark = pytest.mark.django_db

KIND, CLUSTER = "kind", "cluster"
STALE_MINUTES = 10  # the last good poll is backdated this far, so the age shows as "10 min ago"


@dataclass(frozen=True)
class Case:
    id: str
    scope: str  # KIND: one kind's list fails; CLUSTER: the cluster cannot be asked at all
    reason: str  # the KubeError reason the poller records
    message: str  # a fragment of the human sentence recorded with it
    inject: Callable[[World], Any]
    heal: Callable[[World], Any] = lambda w: w.faulty.clear_faults()
    probe: Probe = HELMRELEASE  # KIND: an object of the kind that fails
    tls: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


def _restart_on_same_port(world: World) -> None:
    port = int(world.faulty.url.rsplit(":", 1)[1])
    world.faulty.start(port=port)


def _hang_the_exec_plugin(world: World) -> None:
    command, args, _, _ = hanging_plugin(world.directory)
    write_exec_kubeconfig(world.kubeconfigs[FAULTY], world.faulty.url, command, args)


def _trust(ca: str) -> Callable[[World], Any]:
    def write(world: World) -> None:
        assert world.pki is not None
        world.write_kubeconfig(FAULTY, ca_cert=getattr(world.pki, ca))

    return write


CASES = [
    Case(
        "unreachable-port",
        CLUSTER,
        "Unreachable",
        "cannot connect to",
        inject=lambda w: w.faulty.stop(),
        heal=_restart_on_same_port,
    ),
    Case(
        "tls-wrong-ca",
        CLUSTER,
        "TLSError",
        "does not trust",
        inject=_trust("other_ca_cert"),
        heal=_trust("ca_cert"),
        tls=True,
    ),
    Case(
        "401-unauthorized",
        CLUSTER,
        "Unauthorized",
        "Unauthorized",
        inject=lambda w: w.faulty.set_fault("/api", status=401),
    ),
    Case(
        "403-one-kind",
        KIND,
        "Forbidden",
        'cannot list resource "helmreleases"',
        inject=lambda w: w.faulty.set_fault("/helmreleases", status=403),
    ),
    Case(
        # The CRD is gone: discovery no longer serves the group (404 on /apis/<group>/<v>).
        "404-crd-uninstalled",
        KIND,
        "NotServed",
        "no longer served",
        inject=lambda w: w.faulty.set_fault("/apis/helm.toolkit.fluxcd.io/", status=404),
    ),
    Case(
        # The CRD went away between discovery and the list.
        "404-crd-deleted-mid-poll",
        KIND,
        "NotFound",
        "could not find the requested resource",
        inject=lambda w: w.faulty.set_fault("/helmreleases?", status=404),
    ),
    Case(
        "410-expired-continue-token",
        KIND,
        "Expired",
        "continue parameter is too old",
        inject=lambda w: w.faulty.set_fault("helmreleases?limit=2&continue=", status=410),
        settings={"TIDEWATCH_LIST_PAGE_SIZE": 2},
    ),
    Case(
        "429-retry-after",
        KIND,
        "TooManyRequests",
        "(retry after 7s)",
        inject=lambda w: w.faulty.set_fault(
            "/applications?", status=429, headers={"Retry-After": "7"}
        ),
        probe=APPLICATION,
    ),
    Case(
        "500-internal-error",
        KIND,
        "ServerError",
        "etcdserver: request timed out",
        inject=lambda w: w.faulty.set_fault("/applications?", status=500),
        probe=APPLICATION,
    ),
    Case(
        "read-timeout",
        KIND,
        "Timeout",
        "did not answer",
        # Held (never answered while the poll waits), not delayed: the timeout is the only
        # thing that ends the request, and it is long enough that the healthy cluster's
        # answers never trip it on a loaded machine.
        inject=lambda w: w.faulty.set_fault("/applications?", hold=threading.Event()),
        probe=APPLICATION,
        settings={"TIDEWATCH_READ_TIMEOUT": 5},
    ),
    Case(
        "connection-dropped-mid-body",
        KIND,
        "ConnectionDropped",
        "dropped the connection",
        inject=lambda w: w.faulty.set_fault("/applications?", truncate=True),
        probe=APPLICATION,
    ),
    Case(
        "200-not-json",
        KIND,
        "InvalidResponse",
        "not JSON",
        inject=lambda w: w.faulty.set_fault(
            "/applications?",
            raw_body=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            headers={"Content-Type": "text/html"},
        ),
        probe=APPLICATION,
    ),
    Case(
        "200-truncated-json",
        KIND,
        "InvalidResponse",
        "not JSON",
        inject=lambda w: w.faulty.set_fault(
            "/applications?",
            raw_body=b'{"apiVersion":"argoproj.io/v1alpha1","kind":"ApplicationList","items":[{"me',
        ),
        probe=APPLICATION,
    ),
    # --- poll bounds: a hostile or broken server must not keep a poll going or growing -----
    Case(
        "endless-continue-token",
        KIND,
        "TooManyPages",
        "still a continue token after 20 pages",
        inject=lambda w: w.faulty.set_fault(
            "helmreleases?limit=2&continue=", endless_continue=True
        ),
        settings={"TIDEWATCH_LIST_PAGE_SIZE": 2, "TIDEWATCH_MAX_LIST_PAGES": 20},
    ),
    Case(
        # One byte at a time: each socket read succeeds, only the request deadline ends it.
        "slow-drip-body",
        KIND,
        "Deadline",
        "was not answered in full within 2s (TIDEWATCH_REQUEST_DEADLINE)",
        inject=lambda w: w.faulty.set_fault("/applications?", drip=0.5),
        probe=APPLICATION,
        settings={"TIDEWATCH_REQUEST_DEADLINE": 2},
    ),
    Case(
        "gzip-body-not-asked-for",
        KIND,
        "UnexpectedEncoding",
        "Content-Encoding 'gzip' although Tidewatch asked for identity",
        inject=lambda w: w.faulty.set_fault("/applications?", gzip=True),
        probe=APPLICATION,
    ),
    Case(
        "response-too-large",
        KIND,
        "TooLarge",
        "answered more than 256 KiB",
        inject=lambda w: w.faulty.set_fault(
            "/applications?",
            raw_body=b'{"kind":"ApplicationList","items":[]' + b" " * (1 << 20) + b"}",
        ),
        probe=APPLICATION,
        settings={"TIDEWATCH_MAX_RESPONSE_BYTES": 256 * 1024},
    ),
    Case(
        "exec-plugin-never-exits",
        CLUSTER,
        "ExecTimeout",
        "did not finish within 1s (TIDEWATCH_EXEC_TIMEOUT); killed",
        inject=_hang_the_exec_plugin,
        heal=lambda w: w.write_kubeconfig(FAULTY),
        settings={"TIDEWATCH_EXEC_TIMEOUT": 1},
    ),
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def world_factory(tmp_path: Path, settings) -> Iterator[Callable[..., World]]:
    settings.TIDEWATCH_ANONYMOUS_READ = True
    made: list[World] = []

    def make(pki: Pki | None = None) -> World:
        world = make_world(tmp_path, settings, pki)
        made.append(world)
        return world

    yield make
    for world in made:
        world.stop()


def api_cluster(client, name: str) -> dict[str, Any]:
    response = client.get("/api/v1/clusters")
    assert response.status_code == 200
    (entry,) = [c for c in response.json()["clusters"] if c["name"] == name]
    return entry


def api_kind(entry: dict[str, Any], kind: str) -> dict[str, Any]:
    (state,) = [k for k in entry["kinds"] if k["kind"] == kind]
    return state


def api_namespace(client, cluster: str, namespace: str) -> dict[str, Any]:
    response = client.get("/api/v1/namespaces", {"cluster": cluster})
    (row,) = [r for r in response.json()["namespaces"] if r["namespace"] == namespace]
    return row


def card(client, cluster: str) -> str:
    """The overview's card for one cluster, as text with entities decoded."""
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(
        rf'<article class="[^"]*" data-cluster="{cluster}">(.*?)</article>', page, re.S
    )
    assert match, f"no card for {cluster}"
    return html.unescape(match.group(1))


def assert_all_ok(cluster: str) -> None:
    bad = KindState.objects.filter(cluster__name=cluster, state=KindState.ERROR)
    assert not bad.exists(), list(bad.values_list("kind", "reason"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fault(case: Case, world_factory, request, settings, client):
    world = world_factory(request.getfixturevalue("pki") if case.tls else None)
    for name, value in case.settings.items():
        setattr(settings, name, value)

    # --- a good first poll of both clusters --------------------------------------------------
    first = world.poll()
    assert first[HEALTHY].ok and first[FAULTY].ok, (first[FAULTY].error, first[FAULTY].errors)
    good_at = backdate(FAULTY, STALE_MINUTES)
    stored = inventory(FAULTY)
    assert stored == inventory(HEALTHY) and max(stored.values()) == 1
    claims = claim_counts(FAULTY)
    probe = case.probe if case.scope == KIND else HELMRELEASE
    probe_rows = rows(FAULTY, probe.kind)
    probe_events = Event.objects.filter(cluster__name=FAULTY, involved_kind=probe.kind).count()
    mark = last_transition_id()

    # --- the fault, while real changes happen on both clusters ---------------------------------
    case.inject(world)
    APPLICATION.flip(world.healthy)  # the other cluster changes
    KUSTOMIZATION.flip(world.faulty)  # another kind of the faulty cluster changes
    probe.flip(world.faulty)  # the failing kind changes: must not land until recovery
    runs = world.poll()

    assert runs[HEALTHY].ok, runs[HEALTHY].errors
    assert transitions_since(mark, HEALTHY) == {status_change(APPLICATION)}
    run = runs[FAULTY]
    assert not run.ok and run.finished_at is not None
    if case.scope == KIND:
        assert run.error == ""
        assert set(run.errors) == {f"{probe.group}/{probe.kind}"}, run.errors
        error = run.errors[f"{probe.group}/{probe.kind}"]
        assert error["reason"] == case.reason and case.message in error["message"], error
        # Every other kind was listed and stored: the Kustomization change landed.
        assert transitions_since(mark, FAULTY) == {status_change(KUSTOMIZATION)}
        failing = {
            (s.kind, s.reason)
            for s in KindState.objects.filter(cluster__name=FAULTY, state=KindState.ERROR)
        }
        assert failing == {(probe.kind, case.reason)}
    else:
        assert run.error.startswith(f"{case.reason}: ") and case.message in run.error, run.error
        assert transitions_since(mark, FAULTY) == set()
        states = KindState.objects.filter(cluster__name=FAULTY).exclude(
            state=KindState.NOT_INSTALLED
        )
        assert {(s.state, s.reason) for s in states} == {(KindState.ERROR, case.reason)}

    # Kept as last stored: nothing lost, nothing duplicated, the failing kind untouched.
    assert inventory(FAULTY) == stored
    assert rows(FAULTY, probe.kind) == probe_rows
    assert claim_counts(FAULTY) == claims
    assert Event.objects.filter(cluster__name=FAULTY, involved_kind=probe.kind).count() == (
        probe_events
    ), "the Events of a stale kind's objects were dropped"

    # Shown stale, with the reason and the age of the data.
    state = KindState.objects.get(cluster__name=FAULTY, kind=probe.kind)
    assert state.state == KindState.ERROR and state.reason == case.reason
    assert state.last_success_at == good_at
    entry = api_cluster(client, FAULTY)
    kind_entry = api_kind(entry, probe.kind)
    assert kind_entry["state"] == "error" and kind_entry["reason"] == case.reason
    assert case.message in kind_entry["error"]
    assert kind_entry["lastSuccessAt"] == good_at.isoformat()
    text = card(client, FAULTY)
    if case.scope == KIND:
        assert entry["stale"] is False and entry["errorReason"] == "PartialFailure"
        line = re.search(rf'data-failing-kind="{probe.kind}">(.*?)</p>', text, re.S)
        assert line, text
        assert f"listed {STALE_MINUTES} min ago: {case.reason} — " in line.group(1)
    else:
        assert entry["stale"] is True and entry["staleReason"].startswith(f"{case.reason}: ")
        assert entry["lastSuccessAt"] == good_at.isoformat()
        assert f"last good poll {STALE_MINUTES} min ago" in text
        assert f"{case.reason}: " in text and "stale" in text
    namespace = api_namespace(client, FAULTY, probe.namespace)
    assert any(probe.kind in why and case.reason in why for why in namespace["staleReasons"]), (
        namespace["staleReasons"]
    )
    page = client.get(f"/o/{FAULTY}/{probe.kind}/{probe.namespace}/{probe.name}")
    assert page.status_code == 200 and case.reason in html.unescape(page.content.decode())
    if os.environ.get("TIDEWATCH_RELIABILITY_REPORT"):  # the figures of docs/reliability.md
        shown = line.group(1) if case.scope == KIND else entry["staleReason"]
        print(f"\n{case.id} | {case.reason} | {kind_entry['error']} | {' '.join(shown.split())}")
    assert api_cluster(client, HEALTHY)["stale"] is False
    assert_all_ok(HEALTHY)

    # --- recovery -------------------------------------------------------------------------------
    case.heal(world)
    mark = last_transition_id()
    runs = world.poll()

    assert runs[FAULTY].ok, (runs[FAULTY].error, runs[FAULTY].errors)
    assert runs[HEALTHY].ok
    assert_all_ok(FAULTY)
    hidden = {status_change(probe)}
    if case.scope == CLUSTER:
        hidden.add(status_change(KUSTOMIZATION))
    assert transitions_since(mark, FAULTY) == hidden, "exactly the changes the fault hid"
    assert transitions_since(mark, HEALTHY) == set()
    assert inventory(FAULTY) == stored
    assert claim_counts(FAULTY) == claims
    entry = api_cluster(client, FAULTY)
    assert entry["stale"] is False and entry["staleReason"] == "" and entry["errorReason"] == ""
    assert all(k["state"] != "error" for k in entry["kinds"])
    assert api_namespace(client, FAULTY, probe.namespace)["staleReasons"] == []
    text = card(client, FAULTY)
    assert "data-failing-kind" not in text and case.reason not in text and "live" in text

    # A third poll with nothing changed writes nothing: the recovery left no churn behind.
    mark = last_transition_id()
    again = world.poll()[FAULTY]
    assert again.ok and again.objects_written == 0 and again.objects_deleted == 0
    assert transitions_since(mark, FAULTY) == set()


def test_an_expired_continue_token_once_is_absorbed_within_the_poll(world_factory, settings):
    """410 on one continue token restarts that list once: no error, nothing stale."""
    settings.TIDEWATCH_LIST_PAGE_SIZE = 2
    world = world_factory()
    world.poll()
    stored = inventory(FAULTY)
    fault = world.faulty.set_fault("helmreleases?limit=2&continue=", status=410, once=True)

    run = world.poll()[FAULTY]

    assert fault.hits == 1
    assert run.ok, run.errors
    assert inventory(FAULTY) == stored
    assert_all_ok(FAULTY)


def test_an_object_without_status_is_stored_and_later_recovers(world_factory, client):
    """A just-created object has no status yet: stored, not an error, and nothing is stale."""
    world = world_factory()
    world.poll()
    created_ks = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "fresh", "namespace": "flux-system", "generation": 1},
        "spec": {
            "interval": "10m",
            "path": "./fresh",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        },
    }
    created_app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "fresh", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "fresh"},
            "source": {"repoURL": "https://git.example.com/fresh.git", "path": "."},
        },
    }
    world.faulty.apply(created_ks)
    world.faulty.apply(created_app)
    assert "status" not in world.faulty.get("argoproj.io", "applications", "argocd", "fresh")
    mark = last_transition_id()

    run = world.poll()[FAULTY]

    assert run.ok, run.errors
    assert_all_ok(FAULTY)
    stored = rows(FAULTY, "Kustomization")[("Kustomization", "flux-system", "fresh")]
    assert stored[:2] == ("Unknown", "Unknown") and "not reconciled yet" in stored[3], stored
    stored = rows(FAULTY, "Application")[("Application", "argocd", "fresh")]
    assert stored[:2] == ("Unknown", "Unknown"), stored
    new = transitions_since(mark, FAULTY)
    # An appearance is recorded once per object: present, and its first status.
    assert {(t[2], t[3]) for t in new} == {
        (name, field) for name in ("fresh",) for field in ("presence", "status")
    }
    assert len(new) == 4
    for path in (
        "/",
        "/n/faulty/flux-system",
        "/n/faulty/fresh",
        "/o/faulty/Application/argocd/fresh",
    ):
        assert client.get(path).status_code == 200, path

    # The controllers catch up: one transition per real change.
    world.faulty.patch_status(
        "kustomize.toolkit.fluxcd.io",
        "kustomizations",
        "flux-system",
        "fresh",
        {
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "ReconciliationSucceeded",
                    "message": "Applied revision: main@sha1:0123",
                    "lastTransitionTime": "2026-11-26T10:00:00Z",
                    "observedGeneration": 1,
                }
            ],
            "lastAppliedRevision": "main@sha1:0123",
            "lastAttemptedRevision": "main@sha1:0123",
        },
    )
    world.faulty.patch_status(
        "argoproj.io",
        "applications",
        "argocd",
        "fresh",
        {"health": {"status": "Healthy"}, "sync": {"status": "Synced", "revision": "0123"}},
    )
    mark = last_transition_id()

    assert world.poll()[FAULTY].ok
    assert transitions_since(mark, FAULTY) == {
        ("Kustomization", "flux-system", "fresh", "status", "Unknown", "Healthy"),
        ("Kustomization", "flux-system", "fresh", "sync", "Unknown", "Synced"),
        ("Kustomization", "flux-system", "fresh", "revision", "", "main@sha1:0123"),
        ("Application", "argocd", "fresh", "status", "Unknown", "Healthy"),
        ("Application", "argocd", "fresh", "sync", "Unknown", "Synced"),
        ("Application", "argocd", "fresh", "revision", "", "0123"),
    }


def test_a_cluster_removed_from_the_config_keeps_its_data_and_stops_polling(world_factory, client):
    world = world_factory()
    world.poll()
    stored = inventory(FAULTY)
    runs_before = PollRun.objects.filter(cluster__name=FAULTY).count()
    mark = last_transition_id()

    (kept,) = world.write_config((HEALTHY,))
    KUSTOMIZATION.flip(world.faulty)  # a change nobody may see while it is removed

    assert kept.name == HEALTHY
    removed = world.cluster(FAULTY)
    assert not removed.enabled and removed.config_error == f"removed from {world.clusters_file}"
    # Polling stops: not due for beat, not polled by `manage.py poll`.
    assert FAULTY not in {c.name for c in due_clusters()}
    call_command("poll", stdout=_Sink(), stderr=_Sink())
    assert PollRun.objects.filter(cluster__name=FAULTY).count() == runs_before
    # Its data is kept and marked.
    assert inventory(FAULTY) == stored
    assert transitions_since(mark, FAULTY) == set()
    entry = api_cluster(client, FAULTY)
    assert entry["enabled"] is False and entry["stale"] is True
    assert entry["staleReason"] == f"Configuration: removed from {world.clusters_file}"
    assert "removed from config" in card(client, FAULTY)
    assert client.get("/n/faulty/bigbang").status_code == 200

    # Put back: polled again, the hidden change lands once, the mark clears.
    world.write_config()
    assert world.cluster(FAULTY).enabled and world.cluster(FAULTY).config_error == ""
    assert world.poll()[FAULTY].ok
    assert transitions_since(mark, FAULTY) == {status_change(KUSTOMIZATION)}
    assert inventory(FAULTY) == stored
    entry = api_cluster(client, FAULTY)
    assert entry["enabled"] is True and entry["stale"] is False
    assert "removed from config" not in card(client, FAULTY)


def test_a_crd_that_was_never_installed_is_not_an_error(world_factory, tmp_path, client):
    """The other side of 404: a group never served is "not installed", not stale."""
    world = world_factory()
    world.healthy.stop()
    world.healthy = type(world.faulty)(
        token=world.faulty.token, kinds_not_installed={"argoproj.io"}
    )
    world.healthy.start(port=0)
    world.write_kubeconfig(HEALTHY)

    runs = world.poll()

    assert runs[HEALTHY].ok and runs[FAULTY].ok
    entry = api_cluster(client, HEALTHY)
    assert entry["stale"] is False
    assert {k["state"] for k in entry["kinds"] if k["group"] == "argoproj.io"} == {"not_installed"}
    assert not any(k in inventory(HEALTHY) for k in inventory(FAULTY) if k[0] == "Application")
    assert "Not installed: " in card(client, HEALTHY)


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def test_an_unexpected_error_ends_the_run_instead_of_leaving_it_running(world_factory, monkeypatch):
    """Not a cluster fault: a bug or a locked database mid-store. The exception propagates (the
    Celery task retries OperationalError) and the PollRun says what happened."""
    world = world_factory()

    def broken(cluster):
        raise RuntimeError("roll-ups exploded")

    monkeypatch.setattr("clusters.poll.rebuild_rollups", broken)
    with pytest.raises(RuntimeError):
        world.poll()
    run = PollRun.objects.get()
    assert run.finished_at is not None and not run.ok
    assert run.error == (
        "InternalError: the poll stopped on an unexpected error: RuntimeError: roll-ups exploded"
    )
    assert run.cluster.last_error_reason == "InternalError"  # its card says so, too
