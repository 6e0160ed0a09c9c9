"""Actions in the browser (dashboard/action_views.py) against the demo cluster: the panel, the
confirmation showing the writes Confirm sends, Confirm itself (the API's code path), the
waiting line, the audit page, and nothing at all while actions are off."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from clusters.models import GitOpsObject
from clusters.poll import poll_cluster
from dashboard.demo_users import DEMO_PASSWORD, ensure_demo_users
from dashboard.models import ActionAttempt

KS_PAGE = "/o/demo/Kustomization/flux-system/flux-system"
KS = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system"
APP_PAGE = "/o/demo/Application/argocd/portfolio"
APP = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/portfolio"
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
INCLUDE = '{% if actions %}{% include "dashboard/partials/actions.html" %}{% endif %}'


@pytest.fixture
def stored(demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)
    return demo_cluster


@pytest.fixture
def acting(stored, settings):
    settings.TIDEWATCH_ACTIONS = "service-account"
    return stored


def member(username, group):
    user = User.objects.create_user(username, password="pw")
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def op_client(db):
    return member("olivia", "tidewatch-operators")


@pytest.fixture
def viewer_client(db):
    return member("victor", "tidewatch-viewers")


def csrf_client(username="olivia"):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username=username))
    return client


def shown_requests(html):
    """(method, path, content type, body) of each request the confirmation shows."""
    items = re.findall(
        r"<code data-method>(.*?)</code> <code class=\"act-request__path\" data-path>(.*?)</code>"
        r".*?<code data-content-type>(.*?)</code>.*?<pre class=\"act-request__body\" data-body>"
        r"(.*?)</pre>",
        html,
        re.S,
    )
    return [(m, unescape(p), unescape(t), json.loads(unescape(b))) for m, p, t, b in items]


def confirm_url(page, action):
    return f"{page}/actions/{action}/confirm"


def without_masked(html):
    """The page without what differs between two renders of it anyway: the masked CSRF token
    and the live token (the clock's minute is in it)."""
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", html)
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return re.sub(r'name="since" value="[^"]*"', "SINCE", html)


# --- off: nothing changes ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [KS_PAGE, APP_PAGE, "/o/demo/HelmRelease/bigbang/gitlab"])
def test_actions_off_render_the_object_page_byte_for_byte_as_without_them(
    stored, op_client, settings, path, monkeypatch
):
    # One instant for both renders: durations and "ago" texts are the same then.
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    assert settings.TIDEWATCH_ACTIONS == "off"
    source_of = {
        name: (Path(settings.BASE_DIR) / "templates" / name).read_text()
        for name in ("dashboard/object.html", "base.html")
    }
    assert INCLUDE in source_of["dashboard/object.html"]
    today = source_of["dashboard/object.html"].replace(INCLUDE, "")  # the blank line it was
    base_today = re.sub(
        r"\{% if actions_on %\}.*?>Audit</a>\{% endif %\}", "", source_of["base.html"], flags=re.S
    )
    with_actions_code = op_client.get(path)
    assert with_actions_code.status_code == 200

    templates = [dict(t) for t in settings.TEMPLATES]
    templates[0] = {**templates[0], "APP_DIRS": False}
    templates[0]["OPTIONS"] = {
        **templates[0]["OPTIONS"],
        "loaders": [
            (
                "template_partials.loader.Loader",
                [
                    (
                        "django.template.loaders.locmem.Loader",
                        {"dashboard/object.html": today, "base.html": base_today},
                    ),
                    "django.template.loaders.filesystem.Loader",
                    "django.template.loaders.app_directories.Loader",
                ],
            )
        ],
    }
    with override_settings(TEMPLATES=templates):
        before = op_client.get(path)
    assert before.status_code == 200
    assert 'id="actions"' not in with_actions_code.content.decode()
    assert without_masked(with_actions_code.content.decode()) == without_masked(
        before.content.decode()
    )


def test_actions_off_every_browser_route_is_a_404(stored, op_client):
    for url in [confirm_url(KS_PAGE, "reconcile"), "/audit", f"{KS_PAGE}/actions/wait/1"]:
        assert op_client.get(url).status_code == 404, url
    assert op_client.post(f"{KS_PAGE}/actions/reconcile").status_code == 404
    assert ActionAttempt.objects.count() == 0
    assert b'href="/audit"' not in op_client.get("/").content


# --- the panel ----------------------------------------------------------------------------------


def test_an_operator_sees_the_kinds_actions_and_the_audit_link(acting, op_client):
    html = op_client.get(KS_PAGE).content.decode()
    assert 'id="actions"' in html
    buttons = re.findall(r'data-action="([^"]+)"', html)
    assert buttons == ["reconcile", "reconcile-with-source", "suspend", "resume"]
    assert 'data-action="resume"' in html and re.search(r'data-action="resume"[^>]*disabled', html)
    assert not re.search(r'data-action="reconcile"[^>]*disabled', html)
    assert 'href="/audit"' in html
    app = op_client.get(APP_PAGE).content.decode()
    assert re.findall(r'data-action="([^"]+)"', app) == [
        "refresh",
        "hard-refresh",
        "sync",
        "terminate",
    ]


def test_a_viewer_sees_the_actions_disabled_and_why(acting, viewer_client):
    html = viewer_client.get(KS_PAGE).content.decode()
    assert "Viewer: operators can act" in html
    assert len(re.findall(r'class="act__button"[^>]*disabled', html, re.S)) == 4
    confirm = viewer_client.get(confirm_url(KS_PAGE, "reconcile")).content.decode()
    assert re.search(r"data-confirm-button\s+disabled", confirm)


def test_signed_out_readers_are_told_to_sign_in(acting, client):
    html = client.get(KS_PAGE).content.decode()
    assert "sign in as an operator to act" in html
    assert len(re.findall(r'class="act__button"[^>]*disabled', html, re.S)) == 4


def test_a_kind_without_actions_has_no_panel(acting, op_client):
    obj = GitOpsObject.objects.exclude(
        kind__in=["Kustomization", "HelmRelease", "Application", "GitRepository", "HelmChart"]
    ).exclude(tool="flux")
    obj = obj.exclude(kind="Application").first()
    if obj is None:
        pytest.skip("the demo scenario stores no kind without actions")
    html = op_client.get(f"/o/demo/{obj.kind}/{obj.namespace}/{obj.name}").content.decode()
    assert 'id="actions"' not in html


# --- the confirmation shows what Confirm sends --------------------------------------------------


def test_the_confirmation_shows_the_patch_confirm_sends(acting, op_client, demo):
    html = op_client.get(confirm_url(KS_PAGE, "reconcile")).content.decode()
    ((method, path, content_type, body),) = shown_requests(html)
    assert (method, path, content_type) == ("PATCH", KS, "application/merge-patch+json")
    response = op_client.post(f"{KS_PAGE}/actions/reconcile")
    assert response.status_code == 200
    (write,) = [w for w in demo.writes(KS) if w.path == KS]
    assert (write.method, write.content_type) == (method, content_type)
    sent = write.json()
    # The same patch; only the instant is taken again when it is sent (as flux reconcile does).
    shown_at = body["metadata"]["annotations"][REQUESTED_AT]
    sent_at = sent["metadata"]["annotations"][REQUESTED_AT]
    assert json.dumps(body).replace(shown_at, "T") == json.dumps(sent).replace(sent_at, "T")


def test_suspend_shows_exactly_the_body_sent(acting, op_client, demo):
    shown = shown_requests(op_client.get(confirm_url(KS_PAGE, "suspend")).content.decode())
    op_client.post(f"{KS_PAGE}/actions/suspend")
    (write,) = [w for w in demo.writes(KS) if w.path == KS]
    assert shown == [("PATCH", KS, write.content_type, write.json())]


def test_sync_preview_follows_revision_and_prune_and_matches_the_audit_row(acting, op_client):
    html = op_client.get(confirm_url(APP_PAGE, "sync") + "?prune=on").content.decode()
    ((method, path, content_type, body),) = shown_requests(html)
    assert (method, path, content_type) == ("PATCH", APP, "application/merge-patch+json")
    assert body["operation"]["sync"]["prune"] is True
    assert body["operation"]["initiatedBy"] == {"username": "olivia"}
    assert 'name="revision"' in html and 'name="prune"' in html
    op_client.post(f"{APP_PAGE}/actions/sync", {"prune": "on"})
    row = ActionAttempt.objects.get()
    assert row.outcome == "allowed" and row.params == {"revision": "", "prune": True}
    assert row.patch == [
        {"method": method, "path": path, "contentType": content_type, "body": body}
    ]


def test_the_confirmation_names_the_conflict_the_action_may_worsen(acting, op_client):
    html = unescape(op_client.get(confirm_url(APP_PAGE, "sync")).content.decode())
    assert (
        "Syncing argocd/portfolio re-applies ConfigMap monitoring/grafana-dashboard-portfolio, "
        "which HelmRelease bigbang/monitoring also applies" in html
    )
    # A refresh applies nothing: no conflict to worsen.
    assert "data-conflict" not in op_client.get(confirm_url(APP_PAGE, "refresh")).content.decode()


# --- Confirm ------------------------------------------------------------------------------------


def test_confirm_without_csrf_is_denied_and_audited(acting, op_client, demo):
    response = csrf_client().post(f"{KS_PAGE}/actions/reconcile")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-outcome="denied-by-tidewatch"' in html and "CSRF check failed" in html
    assert ActionAttempt.objects.get().outcome == "denied-by-tidewatch"
    assert [w for w in demo.writes(KS) if w.path == KS] == []


def test_confirm_with_csrf_acts_and_says_so(acting, op_client, demo):
    client = csrf_client()
    page = client.get(KS_PAGE)
    token = page.cookies["csrftoken"].value
    response = client.post(f"{KS_PAGE}/actions/reconcile", HTTP_X_CSRFTOKEN=token)
    html = response.content.decode()
    assert 'data-outcome="allowed"' in html
    assert "Allowed: reconcile requested for Kustomization flux-system/flux-system." in html
    assert "Waiting for kustomize-controller" in html
    assert 'hx-swap-oob="true"' in html  # the recent attempts follow
    assert len([w for w in demo.writes(KS) if w.path == KS]) == 1


def test_a_viewers_confirm_is_denied_by_tidewatch(acting, viewer_client, demo):
    html = viewer_client.post(f"{KS_PAGE}/actions/reconcile").content.decode()
    assert "Denied by Tidewatch, nothing was sent: victor is not an operator" in html
    assert ActionAttempt.objects.get().user == "victor"
    assert [w for w in demo.writes(KS) if w.path == KS] == []


def test_a_cluster_rbac_denial_is_shown_with_the_clusters_reason(acting, op_client, demo):
    demo.set_fault(KS, status=403)
    html = unescape(op_client.post(f"{KS_PAGE}/actions/reconcile").content.decode())
    row = ActionAttempt.objects.get()
    assert row.outcome == "denied-by-kubernetes" and row.status == 403
    assert f"Denied by Kubernetes (HTTP 403): {row.message.rstrip('.')}." in html
    assert "forbidden" in row.message
    assert "Waiting for" not in html


def test_waiting_ends_when_the_stored_object_shows_the_reconcile_handled(acting, op_client, demo):
    op_client.post(f"{KS_PAGE}/actions/reconcile")
    row = ActionAttempt.objects.get()
    wait = f"{KS_PAGE}/actions/wait/{row.pk}"
    poll_cluster(acting)  # the watcher stores the annotated object
    stored = GitOpsObject.objects.get(kind="Kustomization", name="flux-system")
    sent_at = row.patch[-1]["body"]["metadata"]["annotations"][REQUESTED_AT]
    assert stored.raw["metadata"]["annotations"][REQUESTED_AT] == sent_at
    assert "data-waiting" in op_client.get(wait).content.decode()
    # What kustomize-controller does: it records the request as handled.
    live = demo.get("kustomize.toolkit.fluxcd.io", "Kustomization", "flux-system", "flux-system")
    live["status"]["lastHandledReconcileAt"] = sent_at
    demo.apply(live)
    poll_cluster(acting)
    html = op_client.get(wait).content.decode()
    assert "data-settled" in html and "data-waiting" not in html
    assert "Kustomize-controller: reconcile handled" in html


# --- audit --------------------------------------------------------------------------------------


def test_the_audit_page_lists_filters_and_links(acting, op_client, viewer_client, demo):
    op_client.post(f"{KS_PAGE}/actions/reconcile")
    viewer_client.post(f"{APP_PAGE}/actions/refresh")
    html = op_client.get("/audit").content.decode()
    assert re.findall(r'<tr data-attempt="\d+" data-outcome="([^"]+)"', html) == [
        "denied-by-tidewatch",
        "allowed",
    ]
    assert f'href="{KS_PAGE}"' in html and f'href="{APP_PAGE}"' in html
    assert "⛔" not in html and "✓" in html and "⊘" in html
    only = op_client.get("/audit?outcome=allowed&user=olivia&cluster=demo").content.decode()
    assert re.findall(r'data-outcome="([^"]+)"', only) == ["allowed"]
    assert op_client.get("/audit?outcome=bogus").status_code == 400
    # The object page lists the attempts on it.
    assert 'data-attempt="' in op_client.get(KS_PAGE).content.decode()


def test_the_audit_page_costs_the_same_queries_for_1_or_300_rows(acting, op_client, settings):
    settings.TIDEWATCH_PAGE_ROWS = 50

    def add(n):
        ActionAttempt.objects.bulk_create(
            ActionAttempt(
                user="u", cluster="demo", kind="Kustomization", namespace="flux-system",
                name="flux-system", action="reconcile", mode="service-account",
                outcome="allowed", patch=[{"method": "PATCH", "contentType": "x"}],
            )
            for _ in range(n)
        )  # fmt: skip

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert op_client.get("/audit?page=2").status_code == 200
        return len(captured)

    add(60)
    few = queries()
    add(240)
    assert queries() == few


def test_the_demo_creates_an_operator_and_a_viewer(db, settings):
    settings.TIDEWATCH_DEMO_SIGN_IN = True
    ensure_demo_users()
    client = Client()
    assert client.login(username="demo-operator", password=DEMO_PASSWORD)
    from dashboard import roles

    assert roles.role_of(User.objects.get(username="demo-operator")) == "operator"
    assert roles.role_of(User.objects.get(username="demo-viewer")) == "viewer"
    assert DEMO_PASSWORD in Client().get("/login").content.decode()
    settings.TIDEWATCH_DEMO_SIGN_IN = False
    assert DEMO_PASSWORD not in Client().get("/login").content.decode()


# --- the object's History ------------------------------------------------------------------------


def test_every_attempt_is_in_the_objects_history_and_open_pages_learn_of_it(
    acting, op_client, viewer_client
):
    page = op_client.get(KS_PAGE).content.decode()
    assert "data-actions-taken" not in page  # nothing attempted yet: no section
    since = re.search(r'name="since" value="([^"]+)"', page).group(1)

    op_client.post(f"{KS_PAGE}/actions/reconcile")  # allowed
    viewer_client.post(f"{KS_PAGE}/actions/reconcile")  # denied by Tidewatch: a viewer

    # The open page's next poll is not a 204: the attempts moved the store version.
    refresh = op_client.get(f"{KS_PAGE}?since={since}", headers={"HX-Request": "true"})
    assert refresh.status_code == 200
    html = unescape(refresh.content.decode())
    taken = re.findall(r'data-action-taken="([^"]+)"', html)
    rows = list(ActionAttempt.objects.order_by("-created_at", "-id"))
    assert taken == [r.outcome for r in rows] and len(rows) == 2
    assert "newest first, 2 recorded" in html
    assert "<strong>reconcile</strong> by olivia" in html
    assert "audit?cluster=demo&kind=Kustomization&namespace=flux-system&name=flux-system" in html


def ks_attempt(**fields):
    """An audited reconcile of the flux-system Kustomization (KS_PAGE)."""
    return ActionAttempt.objects.create(
        cluster="demo",
        kind="Kustomization",
        namespace="flux-system",
        name="flux-system",
        action="reconcile",
        mode="service-account",
        **fields,
    )


def test_the_history_lists_a_bounded_number_of_attempts_with_the_total(acting, settings):
    settings.TIDEWATCH_PAGE_ROWS = 3
    for i in range(5):
        ks_attempt(user=f"u{i}", outcome="denied-by-tidewatch", message=f"no {i}")
    html = Client().get(KS_PAGE).content.decode()
    history = html[html.index('id="actions-taken"') :]
    assert len(re.findall(r"data-action-taken=", history)) == 3
    assert "newest first, 5 recorded" in history
    assert "by u4" in history and "by u1" not in history


def test_with_actions_off_the_history_reads_no_audit_rows(stored):
    ks_attempt(user="u", outcome="allowed")
    with CaptureQueriesContext(connection) as queries:
        html = Client().get(KS_PAGE).content.decode()
    assert "data-actions-taken" not in html and "Actions taken" not in html
    assert not [q for q in queries.captured_queries if "actionattempt" in q["sql"].lower()]
