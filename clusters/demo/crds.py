"""The Flux and Argo CD CRDs the demo cluster serves.

The CRD files are bundled in ``clusters/demo/crds/`` (verbatim copies, Apache-2.0, provenance in
``crds/SOURCES.md``) so the demo works from a plain clone; ``reference_dir()`` points at the
shared reference material only for tests that compare against it.

Discovery and the served versions are derived from these files, never hard-coded, so a CRD update
is a file copy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRD_DIR = Path(__file__).resolve().parent / "crds"
REPO_ROOT = Path(__file__).resolve().parents[2]

# libyaml parses the 1.8 MB of Argo CD CRDs in ~0.2 s; the pure-Python loader needs ~10 s.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def reference_dir() -> Path:
    """Where the shared reference material lives (``$TIDEWATCH_REFERENCE_DIR`` wins)."""
    env = os.environ.get("TIDEWATCH_REFERENCE_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "reference"


@dataclass(frozen=True)
class CustomResource:
    """One served version of one CRD."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    status_subresource: bool
    storage: bool
    path: Path
    schema: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def crd_files() -> list[Path]:
    return sorted(CRD_DIR.glob("*/*.yaml"))


@cache
def load_crds() -> tuple[CustomResource, ...]:
    """Every served version of every bundled CRD, sorted by group then kind."""
    found: list[CustomResource] = []
    for path in crd_files():
        with path.open("rb") as fh:
            crd = yaml.load(fh, Loader=_Loader)
        spec = crd["spec"]
        names = spec["names"]
        for version in spec["versions"]:
            if not version.get("served", False):
                continue
            found.append(
                CustomResource(
                    group=spec["group"],
                    version=version["name"],
                    kind=names["kind"],
                    plural=names["plural"],
                    singular=names.get("singular") or names["kind"].lower(),
                    namespaced=spec["scope"] == "Namespaced",
                    short_names=tuple(names.get("shortNames") or ()),
                    categories=tuple(names.get("categories") or ()),
                    status_subresource="status" in (version.get("subresources") or {}),
                    storage=bool(version.get("storage")),
                    path=path,
                    schema=version["schema"]["openAPIV3Schema"],
                )
            )
    return tuple(sorted(found, key=lambda c: (c.group, c.kind, c.version)))


def find_crd(api_version: str, kind: str) -> CustomResource | None:
    for crd in load_crds():
        if crd.api_version == api_version and crd.kind == kind:
            return crd
    return None


# --- schema helpers ------------------------------------------------------------------------------
# The API server prunes fields a structural schema does not declare and validates the rest; the
# demo does the same so a typo in the scenario shows up as a missing field, exactly as on a cluster.

_ALWAYS_KEPT = frozenset({"apiVersion", "kind", "metadata"})


def _keeps_unknown(schema: dict[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get(
        "additionalProperties"
    ) not in (None, False)


def _walk_unknown(value: Any, schema: dict[str, Any], path: str, root: bool) -> Iterator[str]:
    if isinstance(value, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        if props is None and not isinstance(additional, dict):
            return  # opaque object (e.g. metadata: {type: object}): nothing is pruned below it
        embedded = root or bool(schema.get("x-kubernetes-embedded-resource"))
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if embedded and key in _ALWAYS_KEPT and key not in (props or {}):
                continue
            if props is not None and key in props:
                yield from _walk_unknown(child, props[key], child_path, False)
            elif isinstance(additional, dict):
                yield from _walk_unknown(child, additional, child_path, False)
            elif not _keeps_unknown(schema):
                yield child_path
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _walk_unknown(item, schema["items"], f"{path}[{index}]", False)


def unknown_fields(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Field paths of ``obj`` the API server would prune (not declared by the schema)."""
    return list(_walk_unknown(obj, schema, "", True))


def prune(obj: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` without the fields the API server would prune."""
    return _prune(obj, schema, True)


def _prune(value: Any, schema: dict[str, Any], root: bool) -> Any:
    if isinstance(value, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        if props is None and not isinstance(additional, dict):
            return value
        embedded = root or bool(schema.get("x-kubernetes-embedded-resource"))
        out: dict[str, Any] = {}
        for key, child in value.items():
            if embedded and key in _ALWAYS_KEPT and key not in (props or {}):
                out[key] = child
            elif props is not None and key in props:
                out[key] = _prune(child, props[key], False)
            elif isinstance(additional, dict):
                out[key] = _prune(child, additional, False)
            elif _keeps_unknown(schema):
                out[key] = child
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(item, schema["items"], False) for item in value]
    return value


@cache
def validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """A cached validator for one CRD version (building one for Argo CD's schema takes ~50 ms).

    OpenAPI v3.0 schemas are closest to JSON Schema draft 4; the ``x-kubernetes-*`` extensions and
    ``nullable`` are unknown keywords and ignored, ``format`` is not asserted (as in the API server
    for the formats these CRDs use).
    """
    crd = find_crd(api_version, kind)
    if crd is None:
        raise KeyError(f"no CRD serves {api_version} {kind}")
    return jsonschema.Draft4Validator(crd.schema)
