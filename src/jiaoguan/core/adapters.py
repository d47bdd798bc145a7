"""Pluggable adapters named in settings (payment channels, postal carriers, later SMS and partner gateways).

A setting maps a name to the dotted path of a class; the owning app's ``AppConfig.ready`` calls ``load`` once, so
the app itself never imports an adapter's module (a simulator's among them) and adding a provider is a settings
change. The registry answers by name; an unknown name is the caller's to refuse.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from django.utils.module_loading import import_string

from jiaoguan.core.i18n import Bi

A = TypeVar("A")


class Adapters(Generic[A]):
    """Name → adapter instance, filled from a ``{name: "dotted.path.Class"}`` setting."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._by_name: dict[str, A] = {}

    def load(self, paths: Mapping[str, str]) -> None:
        """Instantiate every adapter not loaded yet (idempotent: ``ready`` may run more than once in tests)."""
        for name, path in paths.items():
            if name not in self._by_name:
                self._by_name[name] = import_string(path)()

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __getitem__(self, name: str) -> A:
        return self._by_name[name]

    def __setitem__(self, name: str, adapter: A) -> None:
        """Install ``adapter`` under ``name`` (tests swap in a failing carrier with ``monkeypatch.setitem``)."""
        self._by_name[name] = adapter

    def __delitem__(self, name: str) -> None:
        del self._by_name[name]

    def get(self, name: str, default: A | None = None) -> A | None:
        return self._by_name.get(name, default)

    def label(self, name: str) -> Bi | str:
        """The adapter's ``label`` (its name when no adapter of that name is installed)."""
        adapter: Any = self._by_name.get(name)
        return adapter.label if adapter is not None else name
