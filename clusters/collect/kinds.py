"""Which kinds Tidewatch collects, and how discovery decides the version to list."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class KindSpec:
    tool: str  # "flux", "argocd" or "core"
    group: str  # "" for the core group
    kind: str

    @property
    def key(self) -> str:
        """Stable identifier used in poll counts and errors: ``<group>/<Kind>``."""
        return f"{self.group or 'core'}/{self.kind}"


@dataclass(frozen=True)
class ServedKind:
    """What discovery says about a kind: the version to list, its plural, its scope."""

    spec: KindSpec
    version: str
    plural: str
    namespaced: bool
    # Every version serving the kind, preferred first (deprecated-only APIs are flagged).
    # Not compared: which version is read is what tells whether the kind changed.
    versions: tuple[str, ...] = field(default=(), compare=False)

    def list_path(self, namespace: str = "") -> str:
        root = (
            f"/apis/{self.spec.group}/{self.version}" if self.spec.group else f"/api/{self.version}"
        )
        if namespace and self.namespaced:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"

    @property
    def api_version(self) -> str:
        return f"{self.spec.group}/{self.version}" if self.spec.group else self.version
