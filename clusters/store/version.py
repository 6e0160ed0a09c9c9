"""The store version: one counter row that every write of what pages show bumps.

Open pages poll it (dashboard/changes.py): an idle check is one primary-key read. The bump is
the last statement of the writing transaction, so the row lock it takes on PostgreSQL is held
for the commit only (two workers storing two clusters do not queue behind each other's
writes), and a reader never sees the new version before the data it announces. No trigger:
the same code on SQLite and PostgreSQL.

Every move costs each open page's URL a fingerprint (a few queries), so a change moves it
once: ``one_move`` wraps a transaction whose parts each ``bump`` (a watcher's batch writes
objects, transitions and roll-ups) into one step, taken as its last statement; and writers of
derived data (the ownership report, roll-ups) bump only when what a page reads changed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models import F

from clusters.models import StoreVersion

ROW = 1

# Per thread (a Django connection is per thread): inside ``one_move``, whether a part asked.
_pending = threading.local()


def bump() -> None:
    """Call last inside the transaction that wrote (or in one wrapping it: ``writing``)."""
    if getattr(_pending, "asked", None) is not None:
        _pending.asked = True  # one_move takes the step once, at its end
        return
    _step()


def _step() -> None:
    if not StoreVersion.objects.filter(pk=ROW).update(value=F("value") + 1):
        # The row is created by migration 0008; a flushed test database has none.
        StoreVersion.objects.get_or_create(pk=ROW, defaults={"value": 1})


def current() -> int:
    """The version now: one primary-key read."""
    return StoreVersion.objects.filter(pk=ROW).values_list("value", flat=True).first() or 0


@contextmanager
def writing() -> Iterator[None]:
    """A transaction that bumps the version as its last statement (not when it fails)."""
    with transaction.atomic():
        yield
        bump()


@contextmanager
def one_move() -> Iterator[None]:
    """A transaction in which any number of ``bump`` calls move the version by one step, as
    its last statement (none when nothing bumped, nor when it fails). Nested: the outer one
    takes the step."""
    if getattr(_pending, "asked", None) is not None:
        with transaction.atomic():
            yield
        return
    _pending.asked = False
    try:
        with transaction.atomic():
            yield
            if _pending.asked:
                _pending.asked = None
                _step()
    finally:
        _pending.asked = None
