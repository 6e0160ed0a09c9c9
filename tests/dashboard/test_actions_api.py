"""Actions over HTTP against the demo cluster, through the real kubernetes client: the writes
the demo receives are those the Flux CLI and the Argo CD API server send."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from clusters.models import GitOpsObject
from clusters.poll import poll_cluster
from dashboard.models import OPERATE, ActionAttempt, ApiToken

RFC3339NANO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")
KS = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system"
GIT = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system"
HR = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/bigbang/helmreleases/monitoring"
CHART = "/apis/source.toolkit.fluxcd.io/v1/namespaces/bigbang/helmcharts/bigbang-monitoring"
CHART_GIT = "/apis/source.toolkit.fluxcd.io/v1/namespaces/bigbang/gitrepositories/monitoring"
APP = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/portfolio"
MERGE = "application/merge-patch+json"
KS_GROUP = "kustomize.toolkit.fluxcd.io"


def url(kind, namespace, name, action=""):
    base = f"/api/v1/objects/demo/{kind}/{namespace}/{name}/actions"
    return f"{base}/{action}" if action else base


@pytest.fixture
def acting(demo_cluster, settings):
    settings.TIDEWATCH_ACTIONS = "service-account"
    poll_cluster(demo_cluster)
    return demo_cluster


@pytest.fixture
def operator(db):
    user = User.objects.create_user("olivia", password="pw")
    user.groups.add(Group.objects.get_or_create(name="tidewatch-operators")[0])
    return user


@pytest.fixture
def op_client(operator):
    client = Client()
    client.force_login(operator)
    return client


def post(client, path, body=None, **headers):
    data = json.dumps(body) if body is not None else ""
    return client.post(path, data, content_type="application/json", **headers)


def writes(demo, path):
    return [w for w in demo.writes(path) if w.path == path]


def the_write(demo, path):
    (write,) = writes(demo, path)
    return write


def test_reconcile_sends_flux_reconciles_merge_patch(acting, op_client, demo):
    response = post(op_client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    assert response.status_code == 200, response.json()
    write = the_write(demo, KS)
    assert (write.method, write.content_type) == ("PATCH", MERGE)
    body = write.json()
    ts = body["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
    assert RFC3339NANO.fullmatch(ts)
    assert body == {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": ts}}}
    assert (
        demo.get(KS_GROUP, "Kustomization", "flux-system", "flux-system")["metadata"][
            "annotations"
        ]["reconcile.fluxcd.io/requestedAt"]
        == ts
    )
    assert response.json()["outcome"] == "allowed"


@pytest.mark.parametrize(
    ("action", "extra"),
    [("force", "reconcile.fluxcd.io/forceAt"), ("reset", "reconcile.fluxcd.io/resetAt")],
)
def test_force_and_reset_set_their_annotation_with_the_same_instant(
    acting, op_client, demo, action, extra
):
    assert post(op_client, url("HelmRelease", "bigbang", "monitoring", action)).status_code == 200
    annotations = the_write(demo, HR).json()["metadata"]["annotations"]
    assert set(annotations) == {"reconcile.fluxcd.io/requestedAt", extra}
    assert annotations[extra] == annotations["reconcile.fluxcd.io/requestedAt"]


def test_reconcile_with_source_patches_the_sources_first(acting, op_client, demo):
    response = post(op_client, url("HelmRelease", "bigbang", "monitoring", "reconcile-with-source"))
    assert response.status_code == 200, response.json()
    sent = [w for w in demo.writes() if w.method != "POST"]  # the Event is a POST
    assert [w.path for w in sent] == [CHART_GIT, CHART, HR]
    assert all(w.content_type == MERGE for w in sent)
    assert len({json.dumps(w.json()) for w in sent}) == 1  # the same requestedAt on each


def test_suspend_then_resume_send_the_whole_object_diff(acting, op_client, demo):
    assert (
        post(op_client, url("Kustomization", "flux-system", "flux-system", "suspend")).status_code
        == 200
    )
    assert (
        demo.get(KS_GROUP, "Kustomization", "flux-system", "flux-system")["spec"]["suspend"] is True
    )
    assert (
        post(op_client, url("Kustomization", "flux-system", "flux-system", "resume")).status_code
        == 200
    )
    suspend, resume = writes(demo, KS)
    assert (suspend.content_type, suspend.json()) == (MERGE, {"spec": {"suspend": True}})
    assert (resume.content_type, resume.json()) == (MERGE, {"spec": {"suspend": None}})
    assert (
        "suspend" not in demo.get(KS_GROUP, "Kustomization", "flux-system", "flux-system")["spec"]
    )


def test_reconcile_of_a_suspended_object_is_refused_as_the_cli_refuses(acting, op_client, demo):
    post(op_client, url("Kustomization", "flux-system", "flux-system", "suspend"))
    response = post(op_client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    assert response.status_code == 403
    assert "suspended" in response.json()["message"]
    assert len(writes(demo, KS)) == 1  # only the suspend
    assert ActionAttempt.objects.filter(outcome="denied-by-tidewatch", action="reconcile").exists()


@pytest.mark.parametrize("action", ["refresh", "hard-refresh"])
def test_refresh_patches_the_refresh_annotation(acting, op_client, demo, action):
    assert post(op_client, url("Application", "argocd", "portfolio", action)).status_code == 200
    write = the_write(demo, APP)
    assert write.content_type == MERGE
    annotations = write.json()["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/refresh"] == (
        "hard" if action == "hard-refresh" else "normal"
    )
    assert RFC3339NANO.fullmatch(annotations["argocd.argoproj.io/refresh-timestamp"])
    assert write.json() == {"metadata": {"annotations": annotations}}


def test_sync_patches_the_application_with_the_operation(acting, op_client, demo):
    before = demo.get("argoproj.io", "Application", "argocd", "portfolio")
    response = post(op_client, url("Application", "argocd", "portfolio", "sync"), {"prune": True})
    assert response.status_code == 200, response.json()
    write = the_write(demo, APP)
    assert (write.method, write.content_type) == ("PATCH", "application/merge-patch+json")
    body = write.json()
    assert body["metadata"] == {"resourceVersion": before["metadata"]["resourceVersion"]}
    assert body["operation"] == {
        "initiatedBy": {"username": "olivia"},
        "retry": before["spec"]["syncPolicy"]["retry"],
        "sync": {
            "prune": True,
            "revision": before["spec"]["source"]["targetRevision"],
            "source": before["spec"]["source"],
        },
    }
    assert body["status"] == {"operationState": None}
    assert set(body) == {"metadata", "operation", "status"}  # nothing else is rewritten
    assert (
        demo.get("argoproj.io", "Application", "argocd", "portfolio")["operation"]
        == body["operation"]
    )


def test_terminate_sets_the_operation_state_to_terminating(acting, op_client, demo):
    app = demo.get("argoproj.io", "Application", "argocd", "portfolio")
    app["operation"] = {"sync": {"revision": "main"}, "initiatedBy": {"username": "bob"}}
    app["status"]["operationState"] = {
        "operation": app["operation"],
        "phase": "Running",
        "startedAt": "2026-12-02T03:00:00Z",
    }
    read = demo.apply(app)["metadata"]["resourceVersion"]
    response = post(op_client, url("Application", "argocd", "portfolio", "terminate"))
    assert response.status_code == 200, response.json()
    write = the_write(demo, APP)
    assert (write.method, write.content_type) == ("PATCH", "application/merge-patch+json")
    assert write.json() == {
        "metadata": {"resourceVersion": read},  # guarded by the version read
        "status": {"operationState": {"phase": "Terminating"}},
    }
    running = demo.get("argoproj.io", "Application", "argocd", "portfolio")
    assert running["status"]["operationState"]["phase"] == "Terminating"
    assert running["operation"] == app["operation"]


def test_terminate_without_a_running_operation_sends_nothing(acting, op_client, demo):
    response = post(op_client, url("Application", "argocd", "portfolio", "terminate"))
    assert response.status_code == 403
    assert response.json()["outcome"] == "denied-by-tidewatch"
    assert writes(demo, APP) == []


def test_the_action_is_recorded_as_an_event_on_the_object(acting, op_client, demo):
    post(op_client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    (event,) = [
        e for e in demo.list("", "Event", "flux-system") if e.get("reason") == "TidewatchAction"
    ]
    assert event["type"] == "Normal"
    assert event["involvedObject"]["kind"] == "Kustomization"
    assert event["involvedObject"]["name"] == "flux-system"
    assert event["source"] == {"component": "tidewatch"}
    assert event["reportingComponent"] == "tidewatch"
    assert event["message"] == "olivia requested reconcile via Tidewatch"
    assert ActionAttempt.objects.get().event_error == ""


def test_the_listing_shows_each_action_with_the_patch_it_would_send(acting, op_client, demo):
    response = op_client.get(url("HelmRelease", "bigbang", "monitoring"))
    assert response.status_code == 200
    offers = {a["name"]: a for a in response.json()["actions"]}
    assert list(offers) == [
        "reconcile",
        "reconcile-with-source",
        "suspend",
        "resume",
        "force",
        "reset",
    ]
    assert offers["suspend"]["requests"] == [
        {"method": "PATCH", "path": HR, "contentType": MERGE, "body": {"spec": {"suspend": True}}}
    ]
    assert [r["path"] for r in offers["reconcile-with-source"]["requests"]] == [
        CHART_GIT,
        CHART,
        HR,
    ]
    assert offers["resume"]["available"] is False and "not suspended" in offers["resume"]["whyNot"]
    assert response.json()["canAct"] is True
    assert demo.writes() == []  # a listing writes nothing


def test_an_action_a_kind_does_not_have_is_a_404(acting, op_client, demo):
    assert (
        post(op_client, url("Kustomization", "flux-system", "flux-system", "sync")).status_code
        == 404
    )
    assert post(op_client, url("Application", "argocd", "portfolio", "suspend")).status_code == 404
    assert demo.writes() == [] and not ActionAttempt.objects.exists()


def test_actions_off_is_a_404_everywhere_and_changes_nothing(
    demo_cluster, op_client, demo, settings
):
    poll_cluster(demo_cluster)
    assert settings.TIDEWATCH_ACTIONS == "off"  # the default
    assert (
        post(op_client, url("Kustomization", "flux-system", "flux-system", "reconcile")).status_code
        == 404
    )
    assert op_client.get(url("Kustomization", "flux-system", "flux-system")).status_code == 404
    assert op_client.get("/api/v1/audit").status_code == 404
    assert demo.writes() == [] and not ActionAttempt.objects.exists()


def test_a_viewer_is_denied_by_tidewatch_and_audited(acting, demo, db):
    user = User.objects.create_user("vic", password="pw")
    user.groups.add(Group.objects.get_or_create(name="tidewatch-viewers")[0])
    client = Client()
    client.force_login(user)
    response = post(client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    assert response.status_code == 403
    assert "not an operator" in response.json()["message"]
    assert demo.writes() == []
    row = ActionAttempt.objects.get()
    assert (row.user, row.outcome, row.patch) == ("vic", "denied-by-tidewatch", [])


def test_a_session_post_without_csrf_is_refused(acting, operator, demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = post(client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert demo.writes() == []
    token = "a" * 32  # what a page's csrftoken cookie holds; the header must repeat it
    client.cookies["csrftoken"] = token
    ok = post(
        client,
        url("Kustomization", "flux-system", "flux-system", "reconcile"),
        HTTP_X_CSRFTOKEN=token,
    )
    assert ok.status_code == 200, ok.json()


def test_tokens_need_the_operate_scope(acting, demo, db):
    _, read = ApiToken.issue("report")
    _, operate = ApiToken.issue("bot", OPERATE)
    client = Client()
    path = url("Kustomization", "flux-system", "flux-system", "reconcile")
    refused = post(client, path, HTTP_AUTHORIZATION=f"Bearer {read}")
    assert refused.status_code == 403 and "read-only" in refused.json()["error"]
    assert demo.writes() == []
    allowed = post(client, path, HTTP_AUTHORIZATION=f"Bearer {operate}")
    assert allowed.status_code == 200, allowed.json()
    assert ActionAttempt.objects.get().user == "tidewatch-token:bot"
    # The operate scope is for actions only: other writes stay refused.
    assert (
        post(client, "/api/v1/clusters", HTTP_AUTHORIZATION=f"Bearer {operate}").status_code == 403
    )


@pytest.mark.parametrize("status", [403, 404, 409, 422])
def test_a_refusal_by_the_cluster_is_shown_with_its_reason(acting, op_client, demo, status):
    demo.set_fault(KS, status=status)
    response = post(op_client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    assert response.status_code == status
    row = ActionAttempt.objects.get()
    assert row.outcome == "denied-by-kubernetes" and row.status == status
    assert row.message and row.message == response.json()["message"]


@pytest.mark.parametrize("status", [500, 503])
def test_a_cluster_error_is_a_failed_attempt(acting, op_client, demo, status):
    demo.set_fault(KS, status=status)
    response = post(op_client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    assert response.status_code == status
    assert ActionAttempt.objects.get().outcome == "failed"


def test_an_unreachable_cluster_is_a_failed_attempt(acting, op_client, demo):
    demo.stop()
    response = post(op_client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    assert response.status_code == 502
    row = ActionAttempt.objects.get()
    assert row.outcome == "failed" and "unreachable" in row.message


def test_impersonate_mode_sends_the_users_identity(acting, op_client, demo, settings):
    settings.TIDEWATCH_ACTIONS = "impersonate"
    session = op_client.session
    # The demo cluster's RBAC (clusters/demo/rbac.py) lets this group patch in argocd only.
    session["tidewatch_kube_groups"] = ["platform-oncall", "tidewatch-demo-operators"]
    session.save()
    assert post(op_client, url("Application", "argocd", "portfolio", "refresh")).status_code == 200
    write = the_write(demo, APP)
    assert write.header_values("Impersonate-User") == ["olivia"]
    assert write.header_values("Impersonate-Group") == [
        "platform-oncall",
        "tidewatch-demo-operators",
    ]
    assert ActionAttempt.objects.get().mode == "impersonate"


def test_impersonate_mode_shows_the_clusters_denial(acting, op_client, demo, settings):
    settings.TIDEWATCH_ACTIONS = "impersonate"
    session = op_client.session
    session["tidewatch_kube_groups"] = ["platform-oncall"]  # no grant in the demo's RBAC
    session.save()
    response = post(op_client, url("Application", "argocd", "portfolio", "refresh"))
    assert response.status_code == 403
    body = response.json()
    assert body["outcome"] == "denied-by-kubernetes"
    assert 'User "olivia" cannot patch resource "applications"' in body["message"]
    row = ActionAttempt.objects.get()
    assert (row.outcome, row.mode) == ("denied-by-kubernetes", "impersonate")
    live = demo.get("argoproj.io", "Application", "argocd", "portfolio")
    assert "argocd.argoproj.io/refresh" not in (live["metadata"].get("annotations") or {})


def test_the_audit_lists_every_attempt_newest_first(acting, op_client, demo):
    post(op_client, url("Kustomization", "flux-system", "flux-system", "reconcile"))
    demo.set_fault(APP, status=403)
    post(op_client, url("Application", "argocd", "portfolio", "refresh"))
    response = op_client.get("/api/v1/audit")
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 2
    assert [(a["action"], a["outcome"]) for a in page["attempts"]] == [
        ("refresh", "denied-by-kubernetes"),
        ("reconcile", "allowed"),
    ]
    assert page["attempts"][1]["requests"][0]["path"] == KS
    narrowed = op_client.get("/api/v1/audit", {"kind": "Application"}).json()
    assert [a["name"] for a in narrowed["attempts"]] == ["portfolio"]
    assert GitOpsObject.objects.exists()


def test_create_api_token_makes_read_tokens_unless_asked_for_operate(db, capsys):
    from django.core.management import call_command

    call_command("create_api_token", "report")
    call_command("create_api_token", "bot", "--scope", "operate")
    scopes = dict(ApiToken.objects.values_list("name", "scope"))
    assert scopes == {"report": "read", "bot": "operate"}
    assert "(operate) created" in capsys.readouterr().err
