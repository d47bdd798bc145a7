"""Database ids from untrusted input (a path, a form, JSON, an outbox payload): one parser for every app."""
from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1  # a BigAutoField / PostgreSQL bigint; SQLite's INTEGER holds the same


def parse_id(value: Any) -> int | None:
    """A positive integer that fits a 64-bit id column, else None (→ 404 or a dropped payload, never a 500).
    Text must be ASCII digits only (``"²".isdigit()`` is True but ``int("²")`` fails); a bool is not an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value or len(value) > 19 or not (value.isascii() and value.isdigit()):
            return None
        value = int(value)
    if not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_ID else None
