"""Life cycles as data: one from → to table per machine, one helper that checks a step against it.

Every app with a status column declares its machine here-style (``StateMachine("payments.item", {...})``) in its
``rules.py`` and calls ``machine.check(current, to)`` under the row lock before writing; pages ask
``machine.allows``/``machine.targets`` what to offer. No other status change is possible.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jiaoguan.core.errors import Conflict
from jiaoguan.core.i18n import zh_en


class StateMachine:
    """A status life cycle: ``table`` maps each status to the statuses it may move to (terminal: empty)."""

    def __init__(self, name: str, table: Mapping[str, Iterable[str]], *, code: str | None = None,
                 what: tuple[str, str] = ("记录", "The record"),
                 labels: Callable[[str], Any] | Mapping[str, Any] | type | None = None) -> None:
        self.name = name
        self.table: dict[str, frozenset[str]] = {str(k): frozenset(str(t) for t in v) for k, v in table.items()}
        unknown = {t for targets in self.table.values() for t in targets} - set(self.table)
        if unknown:
            raise ValueError(f"state machine {name}: targets {sorted(unknown)} are not states of the table")
        self.code = code or f"{name}.status"
        self.what = what
        self._labels = labels

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.table)

    @property
    def terminal(self) -> frozenset[str]:
        return frozenset(s for s, targets in self.table.items() if not targets)

    def targets(self, current: str) -> frozenset[str]:
        """Where ``current`` may go (nothing for an unknown status)."""
        return self.table.get(str(current), frozenset())

    def sources(self, to: str) -> frozenset[str]:
        """The statuses from which ``to`` may be reached."""
        return frozenset(s for s, targets in self.table.items() if str(to) in targets)

    def allows(self, current: str, to: str) -> bool:
        return str(to) in self.targets(current)

    def label(self, status: str) -> tuple[str, str]:
        """(Chinese, English) label of ``status``: from a Choices class, a mapping of pairs, or a callable."""
        labels = self._labels
        try:
            if labels is None:
                value: Any = status
            elif isinstance(labels, Mapping):
                value = labels.get(status, status)
            elif isinstance(labels, type):
                value = labels(status).label  # a Django Choices class
            else:
                value = labels(status)
        except (ValueError, KeyError):
            value = status
        return zh_en(value)

    def check(self, current: str, to: str, *, allowed_from: Iterable[str] | None = None,
              field: str = "status") -> None:
        """Refuse (409, ``self.code``) a step the table does not allow, or one from outside ``allowed_from``
        (an action that is only one of several ways into ``to``)."""
        if self.allows(current, to) and (allowed_from is None or current in set(allowed_from)):
            return
        cur_zh, cur_en = self.label(current)
        to_zh, to_en = self.label(to)
        what_zh, what_en = self.what
        raise Conflict(self.code, f"{what_zh}当前状态为“{cur_zh}”，不能变为“{to_zh}”",
                       f"{what_en} is “{cur_en}”; it cannot become “{to_en}”", field=field)
