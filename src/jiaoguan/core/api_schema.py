"""The API's response shapes: the base class of every response schema and the field types they share.

A response schema is closed and strict: ninja validates what an endpoint returns through it, so an undeclared key or
a value of another type is an error (a 500 that the tests see), never a key silently dropped from the answer or a
value silently converted. Times an endpoint formats itself (``clock.isoformat``) stay strings on the wire and are
documented as ``date-time`` / ``date`` strings; a label may be a ``core.i18n`` pair, rendered in the request's
language. A key that only some answers carry is ``absent()``: documented as optional (never null), and the route
sets ``exclude_unset=True`` so an answer without it stays without it.

Component names are the class names and must be unique across the API (tests/api/test_openapi_contract.py): name a
schema after its app (``InspectionBookIn``, not ``BookIn``).
"""
from __future__ import annotations

from typing import Annotated, Any

from django.utils.functional import Promise
from ninja import Field, Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema


def _label(value: Any) -> Any:
    return str(value) if isinstance(value, Promise) else value


Label = Annotated[str, BeforeValidator(_label)]
DateTimeText = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
DateText = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


class Out(Schema):
    """Base of every response schema: closed (extra keys refused) and strict (no conversions)."""

    model_config = ConfigDict(from_attributes=True, strict=True, extra="forbid")


def absent() -> Any:
    """A key some answers leave out: optional in the schema, never null (the route sets ``exclude_unset=True``)."""
    return Field(default=None)


class RefusalOut(Out):
    """A reason a rule says no (``core.errors.Refusal``): its code and both texts."""

    code: str
    zh: str
    en: str


def examples(*bodies: dict[str, Any]) -> ConfigDict:
    """A request schema's documented examples (``model_config = examples({...})``): each one must be accepted by the
    schema itself (tests/api/test_openapi_contract.py)."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


def json_body(model: type[BaseModel], *bodies: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` documenting the JSON body of an endpoint that parses it itself with ``model`` (a signed
    request: the signature covers the raw bytes, so the body is read only after it is checked), with examples."""
    schema = model.model_json_schema()
    if bodies:
        schema["examples"] = list(bodies)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
