"""An operator acts from the object page in real headless Chromium, under the strict CSP:
Reconcile, the exact patch shown, Confirm, the result sentence, the waiting line, the audit row;
and a refusal by the cluster's RBAC shown with the cluster's reason."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User

from clusters.demo.controllers import Controllers
from clusters.models import GitOpsObject
from clusters.poll import poll_cluster
from dashboard.models import ActionAttempt
from tests.browser.csp import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser

KS_PAGE = "/o/demo/Kustomization/flux-system/flux-system"
KS = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system"
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
MERGE = "application/merge-patch+json"


@pytest.fixture
def acting(demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_ACTIONS = "service-account"
    settings.TIDEWATCH_ANONYMOUS_READ = False
    settings.TIDEWATCH_LIVE_POLL_MS = 300
    poll_cluster(demo_cluster)
    user = User.objects.create_user("olivia", password="correct-horse-battery")
    user.groups.add(Group.objects.get_or_create(name=settings.TIDEWATCH_OPERATOR_GROUP)[0])
    return demo_cluster


def sign_in_and_open(page, live_server, path):
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server.url + path)
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("form.login__form button[type=submit]")
    page.wait_for_url(live_server.url + path)


def ks_writes(demo):
    return [w for w in demo.writes(KS) if w.path == KS]


def test_an_operator_reconciles_from_the_object_page(page, live_server, acting, demo):
    sign_in_and_open(page, live_server, KS_PAGE)
    page.click("button[data-action=reconcile]")
    page.wait_for_selector("dialog[data-confirm=reconcile]")
    assert page.text_content("dialog [data-content-type]") == MERGE
    assert page.text_content("dialog [data-path]") == KS
    shown = json.loads(page.text_content("dialog [data-body]"))
    assert list(shown["metadata"]["annotations"]) == [REQUESTED_AT]
    assert ks_writes(demo) == []  # nothing is sent before Confirm

    page.click("dialog [data-confirm-button]")
    page.wait_for_selector("[data-outcome=allowed]")
    assert page.text_content("[data-result-sentence]") == (
        "Allowed: reconcile requested for Kustomization flux-system/flux-system."
    )
    assert "Waiting for kustomize-controller" in page.text_content("[data-waiting]")
    (write,) = ks_writes(demo)
    assert (write.method, write.content_type) == ("PATCH", MERGE)
    sent_at = write.json()["metadata"]["annotations"][REQUESTED_AT]
    assert write.json() == {"metadata": {"annotations": {REQUESTED_AT: sent_at}}}
    row = ActionAttempt.objects.get()
    assert (row.user, row.action, row.outcome) == ("olivia", "reconcile", "allowed")
    assert row.patch[0]["body"] == write.json()
    # The attempt is listed on the page (swapped in with the result) ...
    page.wait_for_selector(f"#action-recent [data-attempt='{row.pk}'][data-outcome=allowed]")

    # ... and the watcher stores the annotated object.
    poll_cluster(acting)
    stored = GitOpsObject.objects.get(kind="Kustomization", name="flux-system")
    assert stored.raw["metadata"]["annotations"][REQUESTED_AT] == sent_at

    # The demo's simulated controllers answer the request: it turns green on the page.
    reacting = Controllers(demo)
    for _ in range(10):  # one phase per tick: Progressing, then Ready with the request handled
        reacting.tick()
        if not reacting.busy:
            break
    poll_cluster(acting)
    page.wait_for_selector("[data-settled]", timeout=30_000)
    assert "reconcile handled; it is Healthy" in page.text_content("[data-settled]")
    page.wait_for_function(
        "() => document.querySelector('.obj-head')?.dataset.status === 'Healthy'", timeout=30_000
    )
    check_audit_page(page, live_server, row)


def check_audit_page(page, live_server, row):
    page.click("nav.topnav a[href='/audit']")
    page.wait_for_url(live_server.url + "/audit")
    cells = page.locator(f"tr[data-attempt='{row.pk}'] td")
    assert "olivia" in cells.nth(1).text_content()
    assert "reconcile" in cells.nth(2).text_content()
    assert "allowed" in cells.nth(4).text_content()
    assert page.get_attribute(f"tr[data-attempt='{row.pk}'] td a", "href") == KS_PAGE
    assert page.evaluate("window.__csp") == []
    assert page.js_errors == []


def test_a_refusal_by_the_clusters_rbac_is_shown_with_its_reason(page, live_server, acting, demo):
    demo.set_fault(KS, status=403)
    sign_in_and_open(page, live_server, KS_PAGE)
    page.click("button[data-action=reconcile]")
    page.click("dialog[data-confirm=reconcile] [data-confirm-button]")
    page.wait_for_selector("[data-outcome=denied-by-kubernetes]")
    row = ActionAttempt.objects.get()
    assert row.outcome == "denied-by-kubernetes" and row.status == 403
    sentence = page.text_content("[data-result-sentence]")
    assert sentence == f"Denied by Kubernetes (HTTP 403): {row.message.rstrip('.')}."
    assert "forbidden" in sentence
    assert page.query_selector("[data-waiting]") is None
    # Cancel closes a confirmation without sending anything (no script: <dialog> itself).
    page.click("button[data-action=reconcile]")
    page.wait_for_selector("dialog[data-confirm=reconcile]")
    page.click("dialog [data-cancel]")
    page.wait_for_selector("dialog[data-confirm=reconcile]", state="hidden")
    assert ActionAttempt.objects.count() == 1
    assert page.evaluate("window.__csp") == []
    assert page.js_errors == []
