"""Declared boundaries: the ADR-003 default, globs, home namespaces and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clusters.ownership.boundaries import (
    BoundaryError,
    default_boundaries,
    is_home_kind,
    load_boundaries,
    load_boundaries_file,
)


@pytest.mark.parametrize(
    ("namespace", "owner"),
    [
        ("flux-system", "flux"),
        ("bigbang", "flux"),
        ("istio-system", "flux"),
        ("monitoring", "flux"),
        ("gitlab", "flux"),
        ("cert-manager", "flux"),
        ("argocd", "flux"),  # Argo CD itself is deployed by Flux
        ("portfolio", "argocd"),
        ("data-platform", "argocd"),
        ("ai-services", "argocd"),
        ("demo-apps", "argocd"),
        ("sandbox", None),
        ("kube-system", None),
        ("", None),
    ],
)
def test_default_declares_adr_003(namespace: str, owner: str | None) -> None:
    assert default_boundaries().declared_owner(namespace) == owner


def test_default_home_install_and_cluster_scoped() -> None:
    b = default_boundaries()
    assert b.cluster_scoped_owner == "flux"
    assert b.is_home("argocd", "argocd")
    assert not b.is_home("flux", "argocd")
    assert b.home_tools("argocd") == ["argocd"]
    assert b.home_tools("portfolio") == []
    assert b.install_namespace("flux") == "flux-system"
    assert b.install_namespace("argocd") == "argocd"


def test_to_dict_round_trips_through_json() -> None:
    data = json.loads(json.dumps(default_boundaries().to_dict()))
    assert data["cluster_scoped_owner"] == "flux"
    assert data["tools"]["argocd"] == {
        "namespaces": ["portfolio", "data-platform", "ai-services", "demo-apps"],
        "home": ["argocd"],
        "install": "argocd",
    }


@pytest.mark.parametrize(
    ("tool", "group", "kind", "home"),
    [
        ("argocd", "argoproj.io", "Application", True),
        ("argocd", "argoproj.io", "AppProject", True),
        ("argocd", "argoproj.io", "ApplicationSet", True),
        ("argocd", "argoproj.io", "Rollout", False),  # Argo Rollouts shares the group
        ("argocd", "apps", "Deployment", False),
        ("flux", "kustomize.toolkit.fluxcd.io", "Kustomization", True),
        ("flux", "argoproj.io", "Application", False),
    ],
)
def test_home_kinds(tool: str, group: str, kind: str, home: bool) -> None:
    assert is_home_kind(tool, group, kind) is home


GLOBS = """
flux:
  namespaces: ["*-system", "platform-*", "platform-apps-?"]
argocd:
  namespaces: ["team-*", "platform-apps-*", "kyverno-system"]
"""


@pytest.mark.parametrize(
    ("namespace", "owner"),
    [
        ("istio-system", "flux"),
        ("team-blue", "argocd"),
        ("kyverno-system", "argocd"),  # an exact name beats a glob
        ("platform-core", "flux"),
        ("platform-apps-prod", "argocd"),  # more literal characters win
        ("platform-apps-1", None),  # same specificity for both tools: undeclared, not a guess
        ("Team-blue", None),  # case-sensitive, like namespace names
        ("other", None),
    ],
)
def test_globs(namespace: str, owner: str | None) -> None:
    assert load_boundaries(GLOBS).declared_owner(namespace) == owner


def test_home_accepts_globs() -> None:
    b = load_boundaries("argocd: {home: ['argocd-*']}")
    assert b.is_home("argocd", "argocd-apps")
    assert not b.is_home("argocd", "argocd")


def test_missing_sections_default() -> None:
    b = load_boundaries("flux: {namespaces: [flux-system]}")
    assert b.cluster_scoped_owner is None
    assert b.argocd.namespaces == ()
    assert b.install_namespace("argocd") == "argocd"


def test_duplicates_within_a_tool_are_merged() -> None:
    assert load_boundaries("flux: {namespaces: [a, a, b]}").flux.namespaces == ("a", "b")


ERRORS = [
    ("flux: [unclosed", "not valid YAML"),
    ("", "empty"),
    ("- flux", "expected a mapping at the top, got a list"),
    ("fluxcd: {}", "unknown key(s) fluxcd; allowed: clusterScoped, flux, argocd"),
    (
        "flux: {namespace: [a]}",
        "flux: unknown key(s) namespace; allowed: namespaces, home, install",
    ),
    ("flux: [a]", "flux: expected a mapping, got a list"),
    ("flux: {namespaces: a}", "flux.namespaces: expected a list of namespaces, got str"),
    ("flux: {namespaces: [Bad_NS]}", "'Bad_NS' is not a namespace name or glob"),
    ("flux: {namespaces: [1]}", "1 is not a namespace name or glob"),
    ("flux: {install: 'flux-*'}", "flux.install: expected one namespace name"),
    ("clusterScoped: everyone", "clusterScoped must be one of flux, argocd or null"),
    (
        "flux: {namespaces: [shared, a]}\nargocd: {namespaces: [shared]}",
        "namespace shared is declared for both flux and argocd",
    ),
    (
        "flux: {home: [shared]}\nargocd: {home: [shared]}",
        "namespace shared is the home of both flux and argocd",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(BoundaryError) as info:
        load_boundaries(text, source="prod.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("prod.yaml")


def test_load_file(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("argocd: {namespaces: [apps]}")
    assert load_boundaries_file(path).declared_owner("apps") == "argocd"
    with pytest.raises(BoundaryError, match="cannot read"):
        load_boundaries_file(tmp_path / "missing.yaml")
