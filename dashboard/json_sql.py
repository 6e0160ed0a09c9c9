"""Length and one page of a JSON array column, computed by the database.

A report's list of contested resources can hold 100,000 entries: reading the column means
sending it and ``json.loads`` of all of it for the 200 a page shows. These expressions make the
database count it and return only the slice. SQLite and PostgreSQL only (the two supported).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Func, IntegerField, JSONField


class JSONArrayLength(Func):
    """``len(column)`` of a JSON array column (NULL for anything else on SQLite)."""

    function = "json_array_length"
    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # jsonb_array_length raises on a non-array; a CASE keeps odd rows from failing the page.
        template = (
            "CASE WHEN jsonb_typeof(%(expressions)s) = 'array' "
            "THEN jsonb_array_length(%(expressions)s) END"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


class JSONArraySlice(Func):
    """``column[start:stop]`` of a JSON array column, as a JSON array."""

    output_field = JSONField()

    def __init__(self, expression: Any, start: int, stop: int) -> None:
        super().__init__(expression)
        self.start, self.stop = int(start), int(stop)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        # json_each's key is the array index; json(value) keeps objects as JSON, not text.
        return (
            "(SELECT json_group_array(json(value)) FROM (SELECT value FROM "
            f"json_each({sql}) WHERE key >= %s AND key < %s ORDER BY key))",
            (*params, self.start, self.stop),
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        if self.stop <= self.start:
            return "'[]'::jsonb", ()
        path = f"$[{self.start} to {self.stop - 1}]"
        return (
            f"(CASE WHEN jsonb_typeof({sql}) = 'array' "
            f"THEN jsonb_path_query_array({sql}, %s::jsonpath) ELSE '[]'::jsonb END)",
            (*params, *params, path),
        )
