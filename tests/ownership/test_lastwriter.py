"""Last writer of a live object, from managedFields, owner labels and Argo CD tracking."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clusters.ownership.lastwriter import last_writers, manager_tool

FLUX_HR_LABELS = {
    "helm.toolkit.fluxcd.io/name": "monitoring",
    "helm.toolkit.fluxcd.io/namespace": "bigbang",
}
TRACKING = {"argocd.argoproj.io/tracking-id": "portfolio:/ConfigMap:monitoring/dash"}


def field_entry(manager: str, time: str | None, operation: str = "Update", **kw: Any) -> dict:
    entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
    }
    if time:
        entry["time"] = time
    entry.update(kw)
    return entry


def meta(*entries: dict, labels: dict | None = None, annotations: dict | None = None) -> dict:
    m: dict[str, Any] = {"name": "dash", "namespace": "monitoring"}
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    if entries:
        m["managedFields"] = list(entries)
    return m


CASES = [
    (
        "Argo CD wrote last",
        meta(
            field_entry("helm-controller", "2026-11-20T10:00:00Z"),
            field_entry("argocd-controller", "2026-11-26T11:00:00Z", "Apply"),
            labels=FLUX_HR_LABELS,
            annotations=TRACKING,
        ),
        ("argocd", "argocd", "argocd-controller", "Apply", "2026-11-26T11:00:00Z"),
        "Last written by Argo CD's argocd-controller (Apply) at 2026-11-26T11:00:00Z; Flux owner "
        "labels name HelmRelease bigbang/monitoring and Argo CD tracking id names Application "
        "portfolio.",
    ),
    (
        "Flux wrote last",
        meta(
            field_entry("argocd-application-controller", "2026-11-20T10:00:00Z"),
            field_entry("kustomize-controller", "2026-11-26T11:30:00Z", "Apply"),
        ),
        ("flux", "flux", "kustomize-controller", "Apply", "2026-11-26T11:30:00Z"),
        "Last written by Flux's kustomize-controller (Apply) at 2026-11-26T11:30:00Z.",
    ),
    (
        "a person with kubectl wrote last",
        meta(
            field_entry("helm-controller", "2026-11-20T10:00:00Z"),
            field_entry("kubectl-edit", "2026-11-26T09:00:00Z"),
        ),
        ("kubectl-edit", None, "kubectl-edit", "Update", "2026-11-26T09:00:00Z"),
        "Last written by kubectl-edit (Update, by hand) at 2026-11-26T09:00:00Z.",
    ),
    (
        "status and housekeeping writes do not count",
        meta(
            field_entry("helm-controller", "2026-11-20T10:00:00Z"),
            field_entry("argocd-controller", "2026-11-26T11:00:00Z", subresource="status"),
            field_entry("kube-controller-manager", "2026-11-26T11:59:00Z"),
        ),
        ("flux", "flux", "helm-controller", "Update", "2026-11-20T10:00:00Z"),
        "Last written by Flux's helm-controller (Update) at 2026-11-20T10:00:00Z.",
    ),
    (
        "an entry without time is older than any timed one",
        meta(
            field_entry("argocd-controller", None),
            field_entry("helm-controller", "2020-01-01T00:00:00Z"),
        ),
        ("flux", "flux", "helm-controller", "Update", "2020-01-01T00:00:00Z"),
        "Last written by Flux's helm-controller (Update) at 2020-01-01T00:00:00Z.",
    ),
    (
        "offsets compare as instants",
        meta(
            field_entry("helm-controller", "2026-11-26T12:30:00+02:00"),
            field_entry("argocd-controller", "2026-11-26T11:00:00Z"),
        ),
        ("argocd", "argocd", "argocd-controller", "Update", "2026-11-26T11:00:00Z"),
        "Last written by Argo CD's argocd-controller (Update) at 2026-11-26T11:00:00Z.",
    ),
    (
        "no managedFields: cannot tell, markers listed",
        meta(labels=FLUX_HR_LABELS, annotations=TRACKING),
        (None, None, None, None, None),
        "Cannot tell who wrote it last: metadata.managedFields is missing; Flux owner labels name "
        "HelmRelease bigbang/monitoring and Argo CD tracking id names Application portfolio.",
    ),
    (
        "only status writes",
        meta(field_entry("kube-controller-manager", "2026-11-26T11:00:00Z")),
        (None, None, None, None, None),
        "Cannot tell who wrote it last: managedFields only show status or housekeeping writes.",
    ),
    (
        "an unknown controller",
        meta(field_entry("external-secrets", "2026-11-26T11:00:00Z")),
        ("external-secrets", None, "external-secrets", "Update", "2026-11-26T11:00:00Z"),
        "Last written by external-secrets (Update) at 2026-11-26T11:00:00Z.",
    ),
]


@pytest.mark.parametrize(
    ("metadata", "expected", "explanation"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_last_writer(metadata: dict, expected: tuple, explanation: str) -> None:
    found = last_writers(metadata)
    assert (found.writer, found.tool, found.manager, found.operation, found.at) == expected
    assert found.explanation == explanation
    json.dumps(found.to_dict())


def test_writes_are_listed_newest_first() -> None:
    found = last_writers(
        meta(
            field_entry("helm-controller", "2026-11-20T10:00:00Z"),
            field_entry("argocd-controller", "2026-11-26T11:00:00Z", subresource="status"),
            field_entry("kubectl-client-side-apply", "2026-11-22T10:00:00Z"),
        )
    )
    assert [(w.manager, w.counted, w.manual) for w in found.writes] == [
        ("argocd-controller", False, False),
        ("kubectl-client-side-apply", True, True),
        ("helm-controller", True, False),
    ]


TRACKING_CASES = [
    ("points at itself", "portfolio:/ConfigMap:monitoring/dash", None, None, True),
    (
        "points at itself, kind checked",
        "portfolio:/ConfigMap:monitoring/dash",
        "",
        "ConfigMap",
        True,
    ),
    ("copied from another object", "portfolio:/ConfigMap:monitoring/other", None, None, False),
    ("same name, other kind", "portfolio:/Secret:monitoring/dash", "", "ConfigMap", False),
    ("unreadable", "portfolio", None, None, False),
]


@pytest.mark.parametrize(
    ("value", "group", "kind", "strong"),
    [c[1:] for c in TRACKING_CASES],
    ids=[c[0] for c in TRACKING_CASES],
)
def test_tracking_annotation(value: str, group: str | None, kind: str | None, strong: bool) -> None:
    found = last_writers(
        meta(annotations={"argocd.argoproj.io/tracking-id": value}), group=group, kind=kind
    )
    (signal,) = found.signals
    assert (signal.source, signal.tool, signal.strong) == ("annotation", "argocd", strong)


def test_whole_object_gives_group_and_kind() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(
            annotations={
                "argocd.argoproj.io/tracking-id": TRACKING["argocd.argoproj.io/tracking-id"]
            }
        ),
    }
    (signal,) = last_writers(obj).signals
    assert not signal.strong  # the id describes a ConfigMap, this is a Secret
    assert "not this object" in signal.detail


def test_instance_label_is_a_weak_argo_signal() -> None:
    found = last_writers(meta(labels={"app.kubernetes.io/instance": "portfolio"}))
    (signal,) = found.signals
    assert (signal.tool, signal.strong) == ("argocd", False)
    # Weak markers stay out of the sentence: Helm sets the same label.
    assert found.explanation == "Cannot tell who wrote it last: metadata.managedFields is missing."


def test_managed_fields_become_signals() -> None:
    found = last_writers(meta(field_entry("helm-controller", "2026-11-20T10:00:00Z")))
    assert [(s.source, s.tool) for s in found.signals] == [("managedFields", "flux")]


@pytest.mark.parametrize(
    ("manager", "tool"),
    [
        ("kustomize-controller", "flux"),
        ("helm-controller", "flux"),
        ("argocd-controller", "argocd"),
        ("argocd-application-controller", "argocd"),
        ("kubectl", None),
        ("helm", None),  # the Helm CLI is not Flux
    ],
)
def test_manager_tool(manager: str, tool: str | None) -> None:
    assert manager_tool(manager) == tool
