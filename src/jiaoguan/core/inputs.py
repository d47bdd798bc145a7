"""Bounded input types for the JSON API, and the one pass that bounds every API input that declares no bounds.

Bad input is never a 500. A number or a date taken as it comes reaches places that cannot hold it: an id beyond
64 bits makes the database refuse the query (PostgreSQL ``bigint``, SQLite ``INTEGER``), a count beyond 32 bits
overflows an ``integer`` column, ``9999-12-31 + 1 day`` and ``0001-01-01`` in UTC overflow Python's ``date``. So
every integer, date and date-time an API operation reads (path, query, body, nested schemas, list items) is
bounded:

- ``Id``: an id, ``1 .. 2**63 - 1`` (the range of a ``BigAutoField``; ``core.ids.MAX_ID``);
- ``Int``: any other whole number, the 32-bit range ``-2**31 .. 2**31 - 1`` (fits every integer column);
- ``Day``: a calendar date, ``1900-01-01 .. 2100-12-31`` (``MIN_DAY`` .. ``MAX_DAY``);
- ``Moment``: a date-time whose date lies in the same range.

An endpoint may annotate with these types (or with its own tighter ``Field(ge=…, le=…)``); an input that declares
no bounds gets the default one for its type from ``bound_inputs(api)``, run once when the API is wired
(``jiaoguan/api.py``): ids are the fields named ``id``, ``*_id`` or ``*_ids``. Out of range is a 422 with the
field's message, like any other invalid field. The same pass refuses NUL in path, query, header and cookie strings
(lookup keys; PostgreSQL refuses NUL in text).
"""
from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import annotated_types as at
from pydantic import AfterValidator, BaseModel, Field

from jiaoguan.core.ids import MAX_ID

if TYPE_CHECKING:
    from ninja import NinjaAPI
    from ninja.operation import Operation

MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2100, 12, 31)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def _moment_in_range(value: dt.datetime) -> dt.datetime:
    if not MIN_DAY <= value.date() <= MAX_DAY:
        raise ValueError(f"date-time must lie between {MIN_DAY} and {MAX_DAY}")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Int = Annotated[int, Field(ge=INT_MIN, le=INT_MAX)]
Day = Annotated[dt.date, Field(ge=MIN_DAY, le=MAX_DAY)]
Moment = Annotated[dt.datetime, AfterValidator(_moment_in_range)]

_MOMENT_CHECK = AfterValidator(_moment_in_range)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


_NUL_CHECK = AfterValidator(_no_nul)


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids"))


def _limits(kind: Any, name: str) -> tuple[Any, Any]:
    if kind is dt.date:
        return MIN_DAY, MAX_DAY
    return (1, MAX_ID) if _is_id(name) else (INT_MIN, INT_MAX)


def _missing_bounds(kind: Any, name: str, metadata: list[Any]) -> list[Any]:
    """The metadata an int, date or datetime lacks (a lower or upper bound, or the date-time check), else []."""
    if kind is dt.datetime:
        return [] if any(m is _MOMENT_CHECK or isinstance(m, (at.Ge, at.Gt, at.Le, at.Lt)) for m in metadata) \
            else [_MOMENT_CHECK]
    low, high = _limits(kind, name)
    missing: list[Any] = []
    if not any(isinstance(m, (at.Ge, at.Gt, at.Interval)) for m in metadata):
        missing.append(at.Ge(low))
    if not any(isinstance(m, (at.Le, at.Lt, at.Interval)) for m in metadata):
        missing.append(at.Le(high))
    return missing


def _bounded(tp: Any, name: str) -> Any:
    """``tp`` with every bare int / date / datetime inside it (Optional, Union, list, tuple, dict values)
    bounded; ``tp`` itself when nothing changes."""
    if tp in (int, dt.date, dt.datetime):
        extra = _missing_bounds(tp, name, [])
        return Annotated[tp, *extra]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        inner, *metadata = args
        if inner in (int, dt.date, dt.datetime):
            extra = _missing_bounds(inner, name, metadata)
            return Annotated[inner, *metadata, *extra] if extra else tp
        new_inner = _bounded(inner, name)
        return tp if new_inner is inner else Annotated[new_inner, *metadata]
    if origin is None or not args:
        return tp
    new_args = tuple(_bounded(a, name) for a in args)
    if all(n is a for n, a in zip(new_args, args, strict=True)):
        return tp
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new_args]  # noqa: UP007 (built at run time from a tuple)
    return origin[new_args] if len(new_args) > 1 else origin[new_args[0]]


def _models_in(tp: Any) -> Iterator[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        yield tp
        return
    for arg in typing.get_args(tp):
        yield from _models_in(arg)


def _bound_model(model: type[BaseModel], done: set[type[BaseModel]]) -> None:
    if model in done:
        return
    done.add(model)
    for field in model.model_fields.values():
        for nested in _models_in(field.annotation):
            _bound_model(nested, done)  # inner models first: an outer model's validator embeds theirs
    for name, field in model.model_fields.items():
        tp = field.annotation
        if tp in (int, dt.date, dt.datetime):
            field.metadata.extend(_missing_bounds(tp, name, field.metadata))
        else:
            field.annotation = _bounded(tp, name)
    model.model_rebuild(force=True)


def _text_checked(tp: Any) -> Any:
    """``tp`` with every bare str inside it (Optional, list) refusing NUL; ``tp`` itself when there is none."""
    if tp is str:
        return Annotated[str, _NUL_CHECK]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is None or origin is Annotated or not args:
        return tp
    new_args = tuple(_text_checked(a) for a in args)
    if all(n is a for n, a in zip(new_args, args, strict=True)):
        return tp
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new_args]  # noqa: UP007 (built at run time from a tuple)
    return origin[new_args] if len(new_args) > 1 else origin[new_args[0]]


def _refuse_nul(model: type[BaseModel]) -> None:
    """A path, query, header or cookie string is a lookup key: NUL in it (which PostgreSQL refuses in text) is a
    422, not a database error. Body text is each service's to clean (identity strips control characters)."""
    for field in model.model_fields.values():
        if field.annotation is str:
            if _NUL_CHECK not in field.metadata:
                field.metadata.append(_NUL_CHECK)
        else:
            field.annotation = _text_checked(field.annotation)
    model.model_rebuild(force=True)


def api_operations(api: NinjaAPI) -> Iterator[tuple[str, Operation]]:
    """Every operation the API serves, with its full path (the operations django-ninja binds and documents)."""
    for bound in api._get_bound_routers():
        for path, view in bound.path_operations.items():
            full = "/".join(p for p in (bound.prefix, path) if p)
            for operation in view.operations:
                yield full, operation


def bound_inputs(api: NinjaAPI) -> None:
    """Give every int, date and date-time that an operation reads, and that declares no bounds, the default
    bounds above, and every path, query, header and cookie string a NUL check (the parameter models and the body
    schemas they hold are rebuilt once, at start-up)."""
    from ninja.params.models import CookieModel, HeaderModel, PathModel, QueryModel

    done: set[type[BaseModel]] = set()
    for _path, operation in api_operations(api):
        for model in operation.models:
            _bound_model(model, done)
            if issubclass(model, (PathModel, QueryModel, HeaderModel, CookieModel)):
                _refuse_nul(model)
