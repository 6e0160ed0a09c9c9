"""Typed, defensive reading of raw Kubernetes objects, and condition helpers.

Every value the normalizer reads goes through a :class:`Node`: a value plus its JSON path and a
shared list of problems. Reading a missing field gives a default (most status fields are
optional); reading a field of the wrong type also gives the default *and* records a problem such
as ``status.conditions: expected a list, got str``. The normalizer turns any recorded problem into
``Unknown``/``Malformed`` instead of guessing, so no reader needs a try/except of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from clusters.status.record import Condition

_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    bool: "a boolean",
}


class Problems:
    """Ordered, de-duplicated list of what was malformed (one field read twice is one problem)."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, text: str) -> None:
        self._seen.setdefault(text, None)

    def __bool__(self) -> bool:
        return bool(self._seen)

    def __iter__(self) -> Iterator[str]:
        return iter(self._seen)

    def as_list(self) -> list[str]:
        return list(self._seen)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


_new_node = object.__new__


class Node:
    """A value inside the raw object, addressed by its path (for error messages).

    The path is built only when asked for (a problem or a message): a first sync reads millions
    of fields and formatting each one's path cost seconds. Nodes are never modified."""

    __slots__ = ("value", "problems", "broken", "_path", "_parent", "_key")

    def __init__(self, value: Any, path: str, problems: Problems, broken: bool = False) -> None:
        self.value = value
        self.problems = problems
        # Below a value of the wrong type: that is already reported, "missing" would be noise.
        self.broken = broken
        self._path: str | None = path
        self._parent: Node | None = None
        self._key: str | int | None = None

    @classmethod
    def root(cls, value: Any, problems: Problems | None = None) -> Node:
        return cls(value, "", problems if problems is not None else Problems())

    def __repr__(self) -> str:
        return f"Node({self.value!r}, {self.path!r})"

    @property
    def path(self) -> str:
        if self._path is None:
            assert self._parent is not None
            parent = self._parent.path
            key = self._key
            if isinstance(key, int):
                self._path = f"{parent}[{key}]"
            else:
                self._path = f"{parent}.{key}" if parent else str(key)
        return self._path

    def _below(self, value: Any, key: str | int, broken: bool = False) -> Node:
        node = _new_node(Node)
        node.value, node.problems, node.broken = value, self.problems, broken
        node._path, node._parent, node._key = None, self, key
        return node

    # -- navigation -----------------------------------------------------------------------------

    def get(self, *keys: str) -> Node:
        """Descend through object keys; a non-object on the way is a problem, not a crash."""
        node = self
        for key in keys:
            node = node._child(key)
        return node

    def _child(self, key: str) -> Node:
        # The hottest path of a first sync (hundreds of reads per object): built inline.
        value = self.value
        child = _new_node(Node)
        child.problems, child._path, child._parent, child._key = self.problems, None, self, key
        if type(value) is dict:
            child.value, child.broken = value.get(key), False
        elif value is None:
            child.value, child.broken = None, self.broken
        elif isinstance(value, dict):
            child.value, child.broken = value.get(key), False
        else:
            self._wrong(dict)
            child.value, child.broken = None, True
        return child

    def text_of(self, key: str, default: str = "", *, required: bool = False) -> str:
        """``get(key).text(default, required=required)``, without building a node when the
        field is a plain string or absent (the common case, read hundreds of times an object)."""
        value = self.value
        if type(value) is dict:
            found = value.get(key)
            if type(found) is str:
                return found
            if found is None and not required:
                return default
        return self._child(key).text(default, required=required)

    def present(self) -> bool:
        return self.value is not None

    def is_mapping(self) -> bool:
        """For list elements, which must be objects: null is as wrong as a string there."""
        if isinstance(self.value, dict):
            return True
        self._wrong(dict)
        return False

    # -- typed reads ----------------------------------------------------------------------------

    def mapping(self) -> dict[str, Any]:
        """The raw dict (for passing through), {} when absent or of the wrong type."""
        return self.value if self._check(dict) else {}

    def items(self) -> list[Node]:
        """List elements as nodes, [] when absent or of the wrong type."""
        if not self._check(list):
            return []
        return [self._below(v, i) for i, v in enumerate(self.value)]

    def entries(self) -> list[tuple[str, Node]]:
        """Object members as (key, node) pairs, [] when absent or of the wrong type."""
        if not self._check(dict):
            return []
        return [(str(k), self._child(str(k))) for k in self.value]

    def text(self, default: str = "", *, required: bool = False) -> str:
        if self.value is None and required and not self.broken:
            self.problems.add(f"{self.path or 'object'} is missing")
        return self.value if self._check(str) else default

    def integer(self) -> int | None:
        return self.value if self._check(int) else None

    def flag(self) -> bool:
        return bool(self.value) if self._check(bool) else False

    def timestamp(self) -> str | None:
        """RFC 3339 string as written; YAML fixtures may hand us datetimes for unquoted times."""
        value = self.value
        if isinstance(value, datetime):
            if value.utcoffset() == timedelta(0):
                return value.replace(tzinfo=None).isoformat() + "Z"
            return value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        text = self.text()
        return text or None

    def strings(self) -> list[str]:
        """A list of strings; a non-string element is a problem and is skipped."""
        return [s for s in (item.text() for item in self.items()) if s]

    # -- internals ------------------------------------------------------------------------------

    def _check(self, expected: type) -> bool:
        if self.value is None:
            return False
        ok = isinstance(self.value, expected)
        if expected is int and isinstance(self.value, bool):
            ok = False  # bool is an int in Python, but `generation: true` is not a generation
        if not ok:
            self._wrong(expected)
        return ok

    def _wrong(self, expected: type) -> None:
        wanted = _TYPE_NAMES.get(expected, expected.__name__)
        where = f"{self.path}: " if self.path else ""
        self.problems.add(f"{where}expected {wanted}, got {type_name(self.value)}")


# -- conditions ---------------------------------------------------------------------------------

CONDITION_STATUSES = frozenset({"True", "False", "Unknown"})


def read_conditions(node: Node, *, default_status: str = "") -> list[Condition]:
    """Parse a Kubernetes-style conditions list.

    ``default_status`` exists for Argo CD Application conditions, which have no ``status``
    field: their presence *is* the statement, so they read as "True".
    """
    found: list[Condition] = []
    for item in node.items():
        if not item.is_mapping():
            continue
        ctype = item.text_of("type", required=True)
        if not ctype:
            continue
        status = item.text_of("status", default_status, required=not default_status)
        if status and status not in CONDITION_STATUSES:
            item.problems.add(f"{item.path}.status: {status!r} is not True, False or Unknown")
        found.append(
            Condition(
                type=ctype,
                status=status,
                reason=item.text_of("reason"),
                message=item.text_of("message"),
                last_transition_time=item.get("lastTransitionTime").timestamp(),
            )
        )
    return found


def find_condition(conditions: Iterable[Condition], ctype: str) -> Condition | None:
    """First condition of a type (controllers never write two of the same type)."""
    return next((c for c in conditions if c.type == ctype), None)


def is_true(condition: Condition | None) -> bool:
    return condition is not None and condition.status == "True"


def is_false(condition: Condition | None) -> bool:
    return condition is not None and condition.status == "False"


def condition_generations(node: Node) -> dict[str, int]:
    """observedGeneration per condition type (Flux writes one on each condition)."""
    generations: dict[str, int] = {}
    for item in node.items():
        if not isinstance(item.value, dict):
            continue
        ctype = item.text_of("type")
        generation = item.get("observedGeneration").integer()
        if ctype and generation is not None:
            generations[ctype] = generation
    return generations


def join_messages(*parts: str) -> str:
    """Join non-empty messages with "; ", dropping any already said by an earlier one.

    Controllers often repeat one message inside another (Argo CD's SyncError embeds the
    operation message); saying it twice makes a headline harder to read, not richer.
    """
    kept: list[str] = []
    for part in parts:
        if part and not any(part in earlier for earlier in kept):
            kept.append(part)
    return "; ".join(kept)


# -- JSON safety ---------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Deep copy limited to JSON types, so ``details`` survives json.dumps and JSONField.

    YAML fixtures hand us datetimes; anything else exotic becomes its string form rather than
    breaking the page that stores it.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return Node.root(value).timestamp()
    return str(value)
