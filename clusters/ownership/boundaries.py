"""Declared ownership: which tool a namespace (and everything cluster-scoped) belongs to.

One YAML file per cluster (``default-boundaries.yaml`` next to this module is the ADR-003
default)::

    clusterScoped: flux            # flux | argocd | null (null: not declared, rule TW003 is off)
    flux:
      install: flux-system         # where the tool's controllers run
      namespaces: [flux-system, bigbang, "platform-*"]
    argocd:
      install: argocd
      home: [argocd]               # where its own objects live and may be deployed
      namespaces: [portfolio, "team-*"]

A namespace is *declared* for at most one tool. *Home* is separate on purpose: Argo CD's
Applications live in ``argocd`` while Flux deploys Argo CD itself there, so ``argocd`` is declared
for Flux and is Argo CD's home. A tool may deploy its own GitOps kinds (``HOME_KINDS``) into its
home namespaces; anything else it deploys there is judged by the declaration.

Matching: exact names beat globs (fnmatch, case-sensitive); between globs, the pattern with more
literal characters wins; a tie between the two tools leaves the namespace undeclared rather than
guessing.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from clusters.status.flux import KIND_GROUPS

FLUX = "flux"
ARGOCD = "argocd"
TOOLS = (FLUX, ARGOCD)
TOOL_NAMES = {FLUX: "Flux", ARGOCD: "Argo CD"}

ARGO_GROUP = "argoproj.io"
# The kinds a tool may deploy into its home namespace. Argo CD's are listed by kind because
# argoproj.io also holds Argo Rollouts and Workflows, which are workloads like any other.
HOME_KINDS: dict[str, frozenset[tuple[str, str]]] = {
    FLUX: frozenset((group, kind) for kind, group in KIND_GROUPS.items()),
    ARGOCD: frozenset(
        (ARGO_GROUP, kind) for kind in ("Application", "AppProject", "ApplicationSet")
    ),
}
DEFAULT_INSTALL = {FLUX: "flux-system", ARGOCD: "argocd"}

DEFAULT_FILE = Path(__file__).with_name("default-boundaries.yaml")

_TOP_KEYS = ("clusterScoped", *TOOLS)
_TOOL_KEYS = ("namespaces", "home", "install")
# Namespace names are DNS labels; globs add * ? [ ] !.
_PATTERN = re.compile(r"^[a-z0-9*?\[\]!-]{1,63}$")
_GLOB_CHARS = frozenset("*?[")


class BoundaryError(ValueError):
    """A boundaries file that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class ToolBoundary:
    tool: str
    namespaces: tuple[str, ...] = ()
    home: tuple[str, ...] = ()
    install: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespaces": list(self.namespaces),
            "home": list(self.home),
            "install": self.install,
        }


@dataclass(frozen=True)
class Boundaries:
    flux: ToolBoundary = field(default_factory=lambda: ToolBoundary(FLUX))
    argocd: ToolBoundary = field(default_factory=lambda: ToolBoundary(ARGOCD))
    cluster_scoped_owner: str | None = None

    def tool(self, tool: str) -> ToolBoundary:
        if tool == FLUX:
            return self.flux
        if tool == ARGOCD:
            return self.argocd
        raise KeyError(tool)

    def declared_owner(self, namespace: str) -> str | None:
        """The tool the namespace is declared for; None when undeclared (or a glob tie)."""
        return _best_match(namespace, {t: self.tool(t).namespaces for t in TOOLS})

    def is_home(self, tool: str, namespace: str) -> bool:
        return any(_matches(namespace, p) for p in self.tool(tool).home)

    def home_tools(self, namespace: str) -> list[str]:
        return [t for t in TOOLS if self.is_home(t, namespace)]

    def install_namespace(self, tool: str) -> str:
        return self.tool(tool).install or DEFAULT_INSTALL[tool]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster_scoped_owner": self.cluster_scoped_owner,
            "tools": {t: self.tool(t).to_dict() for t in TOOLS},
        }


def is_home_kind(tool: str, group: str, kind: str) -> bool:
    return (group, kind) in HOME_KINDS.get(tool, frozenset())


def load_boundaries(text: str, source: str = "boundaries") -> Boundaries:
    """Parse a boundaries file; raises BoundaryError naming ``source`` and the problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BoundaryError(f"{source}: not valid YAML: {exc}") from exc
    if data is None:
        raise BoundaryError(f"{source}: empty; declare at least one tool's namespaces")
    if not isinstance(data, dict):
        raise BoundaryError(f"{source}: expected a mapping at the top, got {_type(data)}")
    _reject_unknown(data, _TOP_KEYS, source)
    owner = data.get("clusterScoped")
    if owner is not None and owner not in TOOLS:
        raise BoundaryError(
            f"{source}: clusterScoped must be one of {', '.join(TOOLS)} or null, got {owner!r}"
        )
    tools = {t: _tool(data.get(t), t, source) for t in TOOLS}
    _reject_overlap(tools, "namespaces", source)
    _reject_overlap(tools, "home", source)
    return Boundaries(flux=tools[FLUX], argocd=tools[ARGOCD], cluster_scoped_owner=owner)


def load_boundaries_file(path: str | Path) -> Boundaries:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BoundaryError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return load_boundaries(text, source=str(path))


@lru_cache(maxsize=1)
def default_boundaries() -> Boundaries:
    """ADR-003 as shipped (``default-boundaries.yaml``); immutable, so cached."""
    return load_boundaries_file(DEFAULT_FILE)


# -- parsing ------------------------------------------------------------------------------------


def _tool(section: Any, tool: str, source: str) -> ToolBoundary:
    where = f"{source}: {tool}"
    if section is None:
        return ToolBoundary(tool, install=DEFAULT_INSTALL[tool])
    if not isinstance(section, dict):
        raise BoundaryError(f"{where}: expected a mapping, got {_type(section)}")
    _reject_unknown(section, _TOOL_KEYS, where)
    install = section.get("install", DEFAULT_INSTALL[tool])
    if not isinstance(install, str) or not install or _is_glob(install):
        raise BoundaryError(f"{where}.install: expected one namespace name, got {install!r}")
    return ToolBoundary(
        tool,
        namespaces=_patterns(section.get("namespaces"), f"{where}.namespaces"),
        home=_patterns(section.get("home"), f"{where}.home"),
        install=install,
    )


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BoundaryError(f"{where}: expected a list of namespaces, got {_type(value)}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _PATTERN.match(item):
            raise BoundaryError(
                f"{where}: {item!r} is not a namespace name or glob "
                "(lower-case letters, digits, '-', and * ? [ ] !)"
            )
        if item not in out:
            out.append(item)
    return tuple(out)


def _reject_unknown(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise BoundaryError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )


def _reject_overlap(tools: dict[str, ToolBoundary], attr: str, source: str) -> None:
    both = sorted(set(getattr(tools[FLUX], attr)) & set(getattr(tools[ARGOCD], attr)))
    if both:
        what = "declared for" if attr == "namespaces" else "the home of"
        raise BoundaryError(
            f"{source}: namespace {', '.join(both)} is {what} both flux and argocd; "
            "a namespace has one owner"
        )


# -- matching -----------------------------------------------------------------------------------


def _is_glob(pattern: str) -> bool:
    return any(c in _GLOB_CHARS for c in pattern)


def _matches(namespace: str, pattern: str) -> bool:
    if not _is_glob(pattern):
        return namespace == pattern
    return fnmatch.fnmatchcase(namespace, pattern)


def _specificity(pattern: str) -> float:
    if not _is_glob(pattern):
        return float("inf")
    return float(sum(1 for c in pattern if c not in "*?[]!"))


def _best_match(namespace: str, patterns: dict[str, tuple[str, ...]]) -> str | None:
    if not namespace:
        return None
    best: dict[str, float] = {}
    for tool, tool_patterns in patterns.items():
        scores = [_specificity(p) for p in tool_patterns if _matches(namespace, p)]
        if scores:
            best[tool] = max(scores)
    if not best:
        return None
    top = max(best.values())
    winners = [t for t, score in best.items() if score == top]
    return winners[0] if len(winners) == 1 else None


def _type(value: Any) -> str:
    return "a list" if isinstance(value, list) else type(value).__name__
