"""The store version: one counter row that every write of what pages show bumps.

Open pages poll it (dashboard/changes.py): an idle check is one primary-key read. The bump is
the last statement of the writing transaction, so the row lock it takes on PostgreSQL is held
for the commit only (two workers storing two clusters do not queue behind each other's
writes), and a reader never sees the new version before the data it announces. No trigger:
the same code on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models import F

from clusters.models import StoreVersion

ROW = 1


def bump() -> None:
    """Call last inside the transaction that wrote (or in one wrapping it: ``writing``)."""
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
