"""The object page of an Argo CD Application in real headless Chromium, with what argocd-server
said of it: an OutOfSync resource's field-level diff, per-resource health with Argo CD's
message, the live tree, and a live redraw when the worker reads argocd-server again."""

from __future__ import annotations

import pytest

from clusters.models import GitOpsObject
from clusters.poll import poll_cluster
from clusters.store.version import bump
from dashboard.object_views import object_url
from tests.browser.csp import RECORD_VIOLATIONS
from tests.builders import argo_detail, argo_node, argo_resource

pytestmark = pytest.mark.browser

NS = "data-platform"
PROGRESS = 'Deployment "ingest-worker" exceeded its progress deadline'
BACKOFF = "back-off 5m0s restarting failed container=worker"


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_LIVE_POLL_MS = 1000
    poll_cluster(demo_cluster)
    return demo_cluster


def app() -> GitOpsObject:
    return GitOpsObject.objects.get(kind="Application", namespace="argocd", name="data-platform")


def write_detail(replicas_target: str = "3") -> None:
    resources = [
        argo_resource(
            "apps",
            "Deployment",
            NS,
            "ingest-worker",
            sync="OutOfSync",
            health=("Degraded", PROGRESS),
            diff=[
                ("spec.replicas", "changed", "2", replicas_target),
                ("metadata.labels.tier", "added", "", "batch"),
            ],
        ),
        argo_resource("", "Service", NS, "airflow-webserver"),
    ]
    tree = [
        argo_node("d1", "apps", "Deployment", NS, "ingest-worker"),
        argo_node("r1", "apps", "ReplicaSet", NS, "ingest-worker-7c9", parents=("d1",)),
        argo_node(
            "p1",
            "",
            "Pod",
            NS,
            "ingest-worker-7c9-abc",
            parents=("r1",),
            health=("Degraded", BACKOFF),
            info={"Status Reason": "CrashLoopBackOff"},
            images=("registry.example.mil/data/ingest-worker:0.31.2",),
        ),
    ]
    argo_detail(app(), resources, tree)
    bump()  # as the worker's write does


def test_the_diff_and_resource_health_are_readable(page, live_server, polled):
    write_detail()
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server.url + object_url("demo", "Application", "argocd", "data-platform"))

    # why first: the unhealthy resource, in one sentence above every table
    why = page.locator("[data-argocd-why]")
    assert "Deployment data-platform/ingest-worker is Degraded" in why.inner_text()
    assert why.bounding_box()["y"] < page.locator("table").first.bounding_box()["y"]

    row = page.locator(f'tr[data-resource="Deployment/{NS}/ingest-worker"]')
    health = row.locator("td").nth(5)
    assert health.locator(".badge--bad").inner_text().split() == ["✕", "Degraded"]
    assert "exceeded its progress deadline" in health.inner_text()

    diff = page.locator(f'tr[data-argo-for="Deployment/{NS}/ingest-worker"] [data-diff]')
    assert diff.is_visible()
    replicas = diff.locator('tr[data-diff-path="spec.replicas"]')
    assert replicas.is_visible()
    cells = [c.strip() for c in replicas.locator("td").all_inner_texts()]
    assert cells == ["spec.replicas", "~ changed", "2", "→", "3"]
    added = [
        c.strip()
        for c in diff.locator('tr[data-diff-path="metadata.labels.tier"] td').all_inner_texts()
    ]
    assert added == ["metadata.labels.tier", "+ added", "(absent)", "→", "batch"]
    # live and target read apart by colour too, never by colour alone (the column says which)
    live_colour = replicas.locator(".obj-diff__live code").evaluate(
        "e => getComputedStyle(e).color"
    )
    target_colour = replicas.locator(".obj-diff__target code").evaluate(
        "e => getComputedStyle(e).color"
    )
    assert live_colour != target_colour

    # the live tree is open (something in it is unhealthy) and shows the crashing Pod
    pod = page.locator(f'li[data-node="Pod/{NS}/ingest-worker-7c9-abc"]')
    assert pod.is_visible()
    assert "CrashLoopBackOff" in pod.inner_text() and "back-off 5m0s" in pod.inner_text()
    rs = page.locator(f'li[data-node="ReplicaSet/{NS}/ingest-worker-7c9"]').bounding_box()
    assert (
        pod.bounding_box()["x"] > rs["x"]
    )  # indented below its ReplicaSet (a class, no inline style)
    assert page.evaluate("window.__csp") == []
    assert page.js_errors == []


def test_an_open_page_redraws_when_argocd_server_is_read_again(page, live_server, polled):
    write_detail()
    page.goto(live_server.url + object_url("demo", "Application", "argocd", "data-platform"))
    page.evaluate("window.__marker = 'same page'")
    diff = page.locator(f'tr[data-argo-for="Deployment/{NS}/ingest-worker"] [data-diff]')
    assert "3" in diff.locator('tr[data-diff-path="spec.replicas"] .obj-diff__target').inner_text()

    write_detail(replicas_target="5")
    page.wait_for_function(
        "() => document.querySelector('tr[data-diff-path=\"spec.replicas\"] .obj-diff__target')"
        "?.innerText.trim() === '5'",
        timeout=60_000,
    )
    assert page.evaluate("window.__marker") == "same page", "updated in place, no reload"
    assert page.js_errors == []
