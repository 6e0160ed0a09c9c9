"""JSON log lines (``TIDEWATCH_LOG_FORMAT=json``): one object per line, for Loki, Elasticsearch,
CloudWatch and friends.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``cluster`` and ``poll_id``
when the record comes from a poll (clusters/logcontext.py), ``exception`` with the traceback, and
any other ``extra=`` attribute whose value JSON can hold.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from `extra=` or a filter.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_") or value is None:
                continue
            entry[key] = value if _jsonable(value) else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | dict)
