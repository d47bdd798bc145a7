"""The one bilingual-label idiom: a (Chinese, English) pair shown in the active language.

Everything a citizen or staff member reads comes in Chinese and English. Texts written in code or templates go
through Django's gettext (Chinese msgid, English in the app's ``locale/en``). Labels that are *data* — model
choices, rule tables, the service catalogue, what a selector returns — are pairs::

    from jiaoguan.core.i18n import bi

    class PlateType(models.TextChoices):
        SMALL = "02", bi("小型汽车", "Small car")

``bi(zh, en)`` is lazy (a Django ``Promise``): it turns into text only when rendered, in the language active then,
so one pair serves a choices label (``get_plate_type_display()``, form choices, templates), a module-level table
and a value a view hands to its template. In templates a ``Bi`` renders itself (``{{ v.get_plate_type_display }}``);
the ``bi`` filter of ``{% load jiaoguan %}`` resolves pairs held in other shapes (``{{ pair|bi }}`` for a
``(zh, en)`` tuple or ``{"zh", "en"}`` mapping, ``{{ summary|bi:"plate_type" }}`` for ``plate_type_zh`` /
``plate_type_en`` attributes). Never write "中文 English" in one string and never split one at run time.

Where a plain ``str`` is required (``", ".join``, a JSON or pydantic field) call ``str(pair)`` or
``pair.pick(language)``. Migrations: ``makemigrations`` runs with translations deactivated, so a pair is
recorded by its Chinese text whatever the developer's language, and a pair equals the text it renders as.
"""
from __future__ import annotations

from typing import Any, cast

from django.utils import translation
from django.utils.functional import Promise


def is_english(language: str | None = None) -> bool:
    """Is ``language`` (default: the active one) English? Anything else, or none active, reads Chinese."""
    lang = language if language is not None else translation.get_language()
    return bool(lang) and lang.lower().startswith("en")


class Bi(Promise):
    """A Chinese / English pair that renders in the active language (see the module docstring)."""

    __slots__ = ("zh", "en")

    def __init__(self, zh: str, en: str) -> None:
        self.zh = str(zh)
        self.en = str(en) if en is not None and str(en) != "" else str(zh)

    def pick(self, language: str | None = None) -> str:
        return (self.en or self.zh) if is_english(language) else self.zh  # no English yet: the Chinese

    def __str__(self) -> str:
        return self.pick()

    def __repr__(self) -> str:
        return f"bi({self.zh!r}, {self.en!r})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Bi, (self.zh, self.en))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Bi):
            return (self.zh, self.en) == (other.zh, other.en)
        if isinstance(other, Promise):
            return str(self) == str(other)
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.zh, self.en))

    def __lt__(self, other: object) -> bool:
        return str(self) < str(other)

    def __add__(self, other: object) -> str:
        return str(self) + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + str(self)

    def __mod__(self, other: Any) -> str:
        text: str = str(self) % other
        return text

    def __len__(self) -> int:
        return len(str(self))

    def __bool__(self) -> bool:
        return bool(self.zh or self.en)

    def __getattr__(self, name: str) -> Any:
        # str's methods (upper, startswith, format, …) on the text of the active language
        if name.startswith("__") or name in ("zh", "en"):
            raise AttributeError(name)
        return getattr(str(self), name)

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


def bi(zh: str, en: str) -> Bi:
    """The pair (Chinese, English), shown in the active language."""
    return Bi(zh, en)


def pair(value: Any, prefix: str | None = None) -> Bi | str:
    """A pair from data in another shape: a ``Bi``; a ``(zh, en)`` tuple or list; a mapping or object with ``zh``
    and ``en`` (or ``<prefix>_zh`` / ``<prefix>_en``). Anything else is returned as text unchanged."""
    if prefix:
        zh = _get(value, f"{prefix}_zh")
        en = _get(value, f"{prefix}_en")
        return Bi(zh or "", en or "") if zh is not None else ""
    if isinstance(value, Bi):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return Bi(value[0], value[1])
    zh, en = _get(value, "zh"), _get(value, "en")
    if zh is not None and not isinstance(value, str):
        return Bi(zh, en or "")
    return "" if value is None else cast(str, value)  # a lazy string or text, unchanged


def _get(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def zh_en(value: Any) -> tuple[str, str]:
    """(Chinese, English) of a pair (or of anything ``pair`` accepts); plain text is the same in both."""
    p = pair(value)
    if isinstance(p, Bi):
        return p.zh, p.en
    return str(p), str(p)


def choice_label(choices: Any, value: Any) -> Bi | str:
    """The label pair of ``value`` in a Django ``Choices`` class; an unknown value is returned as text."""
    try:
        return cast("Bi | str", choices(value).label)
    except ValueError:
        return "" if value is None else str(value)


def text(value: Any, language: str | None = None) -> str:
    """``value`` as text in ``language`` (default: the active one): a pair picks its side, anything else is str()."""
    p = pair(value)
    return p.pick(language) if isinstance(p, Bi) else str(p)
