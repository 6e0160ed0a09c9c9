"""Query parameters, checked in one place for the pages and the API.

A value that cannot be used is refused with a 400 that names the parameter and, for a choice,
the allowed values (JSON under /api/, the styled error page otherwise: dashboard/errors.py).
Never an empty page that looks healthy, and never a database error: PostgreSQL refuses NUL in
text, and a page number past 2^63 overflows both databases.

``parse`` is pure (table-driven tests in tests/dashboard/test_request_input.py); ``read`` is what
a view calls; ``filter_rules`` holds the rules of the filters pages and API share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse

NUL = "\x00"
TOOLS = ("flux", "argocd")
# Longer than any value a form sends; keeps a pasted document out of the queries.
TEXT_LIMIT = 200
NAMESPACE_LIMIT = 253  # the longest Kubernetes name (the store cuts longer ones to this)
PAGE_LIMIT = 1_000_000  # far past any real last page, far below a 64-bit offset


@dataclass(frozen=True)
class Problem:
    parameter: str
    value: str
    message: str
    allowed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "value": self.value,
            "message": self.message,
            "allowed": list(self.allowed) or None,
        }


class InvalidInput(BadRequest):
    """Raised by ``read``; Django hands it to ``handler400`` (dashboard/errors.py)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


@dataclass(frozen=True)
class Choice:
    """One of a known set. ``allowed`` may be a callable so the database is asked only when the
    parameter is given. ``fold_case``: matched case-insensitively, answered in its own spelling."""

    allowed: Sequence[str] | Callable[[], Sequence[str]]
    what: str = "value"
    fold_case: bool = False

    def parse(self, name: str, raw: str) -> tuple[str | None, Problem | None]:
        allowed = tuple(self.allowed() if callable(self.allowed) else self.allowed)
        for value in allowed:
            if raw == value or (self.fold_case and raw.casefold() == value.casefold()):
                return value, None
        shown = ", ".join(allowed) if allowed else "none yet"
        message = f'{name}: "{_short(raw)}" is not a known {self.what}; allowed: {shown}'
        return None, Problem(name, raw, message, allowed)


@dataclass(frozen=True)
class Text:
    max_length: int = TEXT_LIMIT

    def parse(self, name: str, raw: str) -> tuple[str | None, Problem | None]:
        value = raw.strip()
        if len(value) > self.max_length:
            message = f"{name}: at most {self.max_length} characters, got {len(value)}"
            return None, Problem(name, _short(raw), message)
        return value, None


@dataclass(frozen=True)
class WholeNumber:
    minimum: int = 1
    maximum: int = PAGE_LIMIT

    def parse(self, name: str, raw: str) -> tuple[int | None, Problem | None]:
        text = raw.strip()
        # Digits only, and few of them: int() would accept "+1", " 1_0 " and 4,000 digits.
        if text.isascii() and text.isdigit() and len(text) <= len(str(self.maximum)):
            number = int(text)
            if self.minimum <= number <= self.maximum:
                return number, None
        message = (
            f"{name}: a whole number from {self.minimum} to {self.maximum}, got {_short(raw)!r}"
        )
        return None, Problem(name, _short(raw), message)


Rule = Choice | Text | WholeNumber


def parse(
    params: Mapping[str, str], rules: Mapping[str, Rule]
) -> tuple[dict[str, Any], list[Problem]]:
    """The value of each parameter in ``rules`` (None when absent or empty: "any") and the
    problems found. Parameters not in ``rules`` are ignored (htmx adds its own)."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, rule in rules.items():
        raw = params.get(name)
        values[name] = None
        if raw is None or raw == "":
            continue
        value, problem = rule.parse(name, raw)
        if problem:
            problems.append(problem)
        else:
            values[name] = value
    return values, problems


def read(request: HttpRequest, rules: Mapping[str, Rule]) -> dict[str, Any]:
    """The checked parameters of a request; raises InvalidInput (a 400) on any problem."""
    values, problems = parse(request.GET, rules)
    if problems:
        raise InvalidInput(problems)
    return values


def nul_problems(path: str, params: Mapping[str, Sequence[str]]) -> list[Problem]:
    """NUL anywhere in the path (once more decoded, as links.NameConverter decodes a segment) or
    in a query parameter's name or value."""
    problems = []
    if NUL in path or NUL in unquote(path):
        problems.append(
            Problem("path", path.replace(NUL, "\\0"), "the address contains a NUL byte")
        )
    for name, values in params.items():
        if NUL in name or any(NUL in v for v in values):
            shown = name.replace(NUL, "\\0")
            problems.append(Problem(shown, "", f"{shown}: contains a NUL byte"))
    return problems


class BadInputMiddleware:
    """A NUL byte in the path or the query is a 400 before any view runs (so before any query
    PostgreSQL would refuse), and a view's InvalidInput becomes the 400 page or JSON (Django's
    own handling would log it with a traceback, as if it were a bug; this way it is one line)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problems = nul_problems(request.path, dict(request.GET.lists()))
        if problems:
            return self._refuse(request, InvalidInput(problems))
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, InvalidInput):
            return self._refuse(request, exception)
        return None

    def _refuse(self, request: HttpRequest, exception: InvalidInput) -> HttpResponse:
        from dashboard.errors import bad_request  # errors imports this module

        return bad_request(request, exception)


def filter_rules(*names: str) -> dict[str, Rule]:
    """The rules of the filters pages and the API share, by parameter name."""
    from clusters.collect.snapshot import GITOPS_KINDS
    from clusters.models import Cluster
    from clusters.status.vocabulary import STATUS_ORDER, Sync

    def clusters() -> list[str]:
        return list(Cluster.objects.order_by("name").values_list("name", flat=True))

    table: dict[str, Rule] = {
        "cluster": Choice(clusters, "cluster"),
        "tool": Choice(TOOLS, "tool", fold_case=True),
        "kind": Choice(tuple(dict.fromkeys(k.kind for k in GITOPS_KINDS)), "kind", fold_case=True),
        "status": Choice(tuple(s.value for s in STATUS_ORDER), "status", fold_case=True),
        "sync": Choice(tuple(s.value for s in Sync), "sync", fold_case=True),
        "namespace": Text(NAMESPACE_LIMIT),
        "q": Text(TEXT_LIMIT),
        "page": WholeNumber(),
    }
    return {name: table[name] for name in names}


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
