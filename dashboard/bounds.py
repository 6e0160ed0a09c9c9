"""Page bounds: one page of a list section, and the page numbers a request asks for.

A page renders at most ``size`` rows of any list, whatever the object or report holds; the
section says "showing 1–200 of 100,000" and links to the next page. Settings:
``TIDEWATCH_PAGE_ROWS``, ``TIDEWATCH_PAGE_EVENTS``, ``TIDEWATCH_PAGE_TRANSITIONS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dashboard.request_input import InvalidInput, WholeNumber, parse


@dataclass(frozen=True)
class Window:
    """Which rows of a list of ``total`` a section shows: page ``page`` of ``size`` rows."""

    param: str  # the query parameter that selects the page, e.g. "resources_page"
    page: int
    size: int
    total: int

    @classmethod
    def of(cls, param: str, requested: int, size: int, total: int) -> Window:
        """Clamped to the last page, so a stale link past the end still shows rows."""
        last = max(1, -(-total // size))
        return cls(param, min(max(1, requested), last), size, total)

    @property
    def start(self) -> int:
        return (self.page - 1) * self.size

    @property
    def stop(self) -> int:
        return self.start + self.size

    @property
    def shown(self) -> int:
        return max(0, min(self.total, self.stop) - self.start)

    @property
    def first_shown(self) -> int:
        return self.start + 1 if self.shown else 0

    @property
    def last_shown(self) -> int:
        return self.start + self.shown

    @property
    def after(self) -> int:
        """Rows past this page."""
        return self.total - self.last_shown

    @property
    def capped(self) -> bool:
        """More rows exist than one page shows: the section says so and links on."""
        return self.total > self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None


def page_numbers(query: Mapping[str, str], params: Iterable[str]) -> dict[str, int]:
    """The page each section asks for (1 when absent). Anything else than a whole number from 1
    to PAGE_LIMIT raises InvalidInput, so ``?resources_page=x`` is a 400 with a message."""
    rules = {param: WholeNumber() for param in params}
    values, problems = parse(query, rules)
    if problems:
        raise InvalidInput(problems)
    return {param: values[param] or 1 for param in rules}
