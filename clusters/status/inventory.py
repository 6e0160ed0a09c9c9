"""Flux inventory ids -> ResourceRef.

Kustomization (and, since helm-controller v1.5, HelmRelease) ``status.inventory.entries[]`` hold
``{"id": "<namespace>_<name>_<group>_<kind>", "v": "<version>"}`` (the cli-utils ObjMetadata
string). Cluster-scoped objects have an empty namespace (the id starts with ``_``) and core-group
objects an empty group (``default_podinfo__Service``).

The trap: a ``:`` in the name (RBAC: ``system:controller:foo``) is encoded as ``__``, so a naive
``split("_")`` gives too many fields. No field may itself contain ``_`` (namespaces, names, groups
and kinds are DNS-ish), so the id is parsed the way cli-utils' ParseObjMetadata does it:

- the namespace is everything before the *first* ``_``;
- the kind is everything after the *last* ``_``;
- of what remains, the group is everything after the *last* ``_`` (possibly empty);
- the rest is the name, where ``__`` decodes back to ``:``; a single ``_`` left over means the id
  had too many fields.
"""

from __future__ import annotations

from clusters.status.conditions import Node
from clusters.status.record import ResourceRef

_SEP = "_"
_COLON = "__"


class InventoryIdError(ValueError):
    """An inventory id that is not ``<namespace>_<name>_<group>_<kind>``."""


def parse_inventory_id(entry_id: str, version: str = "") -> ResourceRef:
    """Parse one inventory id; raises InventoryIdError when it cannot be read."""
    if not isinstance(entry_id, str):
        raise InventoryIdError(f"inventory id must be a string, got {type(entry_id).__name__}")
    namespace, sep, rest = entry_id.partition(_SEP)
    if not sep:
        raise InventoryIdError(f"inventory id {entry_id!r} has no '_' separators")
    rest, sep, kind = rest.rpartition(_SEP)
    if not sep:
        raise InventoryIdError(f"inventory id {entry_id!r} has too few fields")
    encoded_name, sep, group = rest.rpartition(_SEP)
    if not sep:
        raise InventoryIdError(f"inventory id {entry_id!r} has too few fields")
    name = encoded_name.replace(_COLON, ":")
    if _SEP in name:
        raise InventoryIdError(f"inventory id {entry_id!r} has too many fields")
    if not name:
        raise InventoryIdError(f"inventory id {entry_id!r} has an empty name")
    if not kind:
        raise InventoryIdError(f"inventory id {entry_id!r} has an empty kind")
    if ":" in namespace:
        raise InventoryIdError(f"inventory id {entry_id!r} has an invalid namespace")
    return ResourceRef(group=group, kind=kind, namespace=namespace, name=name, version=version)


def read_inventory(inventory: Node) -> list[ResourceRef]:
    """``status.inventory`` -> ResourceRefs; unreadable entries are recorded as problems.

    Flux reports neither per-entry sync nor health, so both stay None ("not reported").
    """
    refs: list[ResourceRef] = []
    for entry in inventory.get("entries").items():
        ref = _plain_entry(entry.value)
        if ref is not None:
            refs.append(ref)
            continue
        entry_id = entry.text_of("id", required=True)
        version = entry.text_of("v")
        if not entry_id:
            continue
        try:
            refs.append(parse_inventory_id(entry_id, version))
        except InventoryIdError as exc:
            entry.problems.add(f"{entry.path}.id: {exc}")
    return refs


def _plain_entry(value: object) -> ResourceRef | None:
    """The ResourceRef of a well-formed entry (``id`` a readable id, ``v`` a string or absent),
    as the field-by-field read gives it, without a Node per field (a first sync reads ~60,000);
    None for anything else, which that read then judges and records."""
    if type(value) is not dict:
        return None
    entry_id, version = value.get("id"), value.get("v")
    if type(entry_id) is not str or not entry_id:
        return None
    if version is not None and type(version) is not str:
        return None
    try:
        return parse_inventory_id(entry_id, version or "")
    except InventoryIdError:
        return None
