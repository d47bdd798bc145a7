"""The API tells the truth (issue 10 item 12): /api/v1/openapi.json documents what the endpoints accept and answer.

- a component name belongs to one schema class (ninja names components by class name and a second class of the same
  name silently replaced the first: the documented body of POST me/inspection-bookings was the counters' BookIn);
- every documented request body is the model the endpoint validates with, carries examples, and its examples are
  accepted by that model;
- every 2xx answer with a body has a typed schema (no bare ``object``), so clients can be generated from it.
"""
from __future__ import annotations

import typing
from collections import defaultdict

import pydantic
import pytest
from ninja.constants import NOT_SET
from ninja.openapi.schema import REF_TEMPLATE
from ninja.schema import NinjaGenerateJsonSchema

from jiaoguan.api import api
from jiaoguan.eastern.api import CheckpointIn
from jiaoguan.registry.api import HealthCheckIn
from jiaoguan.violations.api import BatchIn, DeviceRecordIn

PREFIX = "/api/v1"
REF = "#/components/schemas/"

# Endpoints that read a signed raw body themselves (the signature covers the bytes) and document it through
# openapi_extra: the model each one parses the body with.
RAW_BODIES: dict[tuple[str, str], type[pydantic.BaseModel]] = {
    ("post", "/api/v1/partners/health-checks"): HealthCheckIn,
    ("post", "/api/v1/devices/violations"): DeviceRecordIn,
    ("post", "/api/v1/devices/violations/batch"): BatchIn,
    ("post", "/api/v1/eastern/checkpoint"): CheckpointIn,
}


def _operations():
    """(method, path, ninja Operation) for every operation of the API, paths as in openapi.json."""
    for prefix, router in api._routers:
        for route, path_view in router.path_operations.items():
            path = "/" + "/".join(p.strip("/") for p in (PREFIX, prefix, route) if p.strip("/"))
            for op in path_view.operations:
                for method in op.methods:
                    yield method.lower(), path, op


def _models_in(annotation, found: set[type[pydantic.BaseModel]]) -> None:
    """Every pydantic model reachable from a type annotation (lists, unions, dicts, Annotated, nested fields)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if annotation in found:
            return
        found.add(annotation)
        for field in annotation.model_fields.values():
            _models_in(field.annotation, found)
        return
    for arg in typing.get_args(annotation):
        _models_in(arg, found)


def _api_models() -> set[type[pydantic.BaseModel]]:
    """The schema classes the API exposes: fields of ninja's per-operation wrappers (parameters and responses)."""
    found: set[type[pydantic.BaseModel]] = set()
    for _method, _path, op in _operations():
        wrappers = list(op.models) + [m for m in op.response_models.values() if isinstance(m, type)]
        for wrapper in wrappers:
            for field in wrapper.model_fields.values():
                _models_in(field.annotation, found)
    found.update(RAW_BODIES.values())
    return found


@pytest.fixture(scope="module")
def schema() -> dict:
    return api.get_openapi_schema()


def test_the_walk_sees_every_operation(schema):
    documented = {(m, p) for p, item in schema["paths"].items() for m in item}
    walked = {(m, p) for m, p, _op in _operations()}
    assert documented == walked


def test_component_names_belong_to_one_class(schema):
    by_name: dict[str, set[type]] = defaultdict(set)
    for model in _api_models():
        by_name[model.__name__].add(model)
    shared = {name: sorted(f"{c.__module__}.{c.__qualname__}" for c in classes)
              for name, classes in by_name.items() if len(classes) > 1}
    assert not shared, f"schema classes sharing a component name (rename one, e.g. prefix the app): {shared}"
    components = schema["components"]["schemas"]
    assert set(components) <= set(by_name), set(components) - set(by_name)


def _component_of(model: type[pydantic.BaseModel]) -> dict:
    out = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema,
                                  mode="validation")
    out.pop("$defs", None)
    return out


def _without_examples(node: dict) -> dict:
    return {k: v for k, v in node.items() if k != "examples"}


def _request_bodies(schema):
    """(method, path, documented JSON schema of the body, the model the endpoint validates the body with)."""
    ops = {(m, p): op for m, p, op in _operations()}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if not body:
                continue
            assert list(body["content"]) == ["application/json"], (method, path, list(body["content"]))
            documented = body["content"]["application/json"]["schema"]
            if (method, path) in RAW_BODIES:
                yield method, path, documented, RAW_BODIES[(method, path)]
                continue
            params = [m for m in ops[(method, path)].models if m.__ninja_param_source__ == "body"]
            assert len(params) == 1 and len(params[0].model_fields) == 1, (method, path)
            (field,) = params[0].model_fields.values()
            yield method, path, documented, field.annotation


def test_documented_bodies_are_the_models_the_endpoints_validate_with(schema):
    components = schema["components"]["schemas"]
    seen = 0
    for method, path, documented, model in _request_bodies(schema):
        seen += 1
        if "$ref" in documented:
            name = documented["$ref"].removeprefix(REF)
            assert name == model.__name__, (method, path, name, model)
            assert components[name] == _component_of(model), (method, path, name)
        else:
            own = model.model_json_schema()
            assert _without_examples(documented) == _without_examples(own), (method, path)
    assert seen >= 40


def test_every_documented_body_example_is_accepted(schema):
    components = schema["components"]["schemas"]
    missing = []
    for method, path, documented, model in _request_bodies(schema):
        if "$ref" in documented:
            documented = components[documented["$ref"].removeprefix(REF)]
        examples = documented.get("examples") or ([documented["example"]] if "example" in documented else [])
        if not examples:
            missing.append(f"{method.upper()} {path} ({model.__name__})")
            continue
        for example in examples:
            try:
                model.model_validate(example)
            except pydantic.ValidationError as exc:  # pragma: no cover - the failure message
                pytest.fail(f"{method.upper()} {path}: the documented example {example} is refused: {exc}")
    assert not missing, f"request bodies without an example: {missing}"


def _untyped(node: dict, components: dict) -> bool:
    """A bare object: no properties, no typed additionalProperties, no items (``dict`` or ``{}``)."""
    if "$ref" in node:
        return _untyped(components[node["$ref"].removeprefix(REF)], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            return any(_untyped(n, components) for n in node[key])
    if node.get("type") == "array":
        return _untyped(node.get("items", {}), components)
    if node.get("type") in ("string", "integer", "number", "boolean", "null") or "enum" in node or "const" in node:
        return False
    extra = node.get("additionalProperties")
    return not node.get("properties") and not (isinstance(extra, dict) and extra)


def test_no_success_answer_is_an_untyped_object(schema):
    components = schema["components"]["schemas"]
    untyped = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if not str(status).startswith("2"):
                    continue
                content = response.get("content")
                if content is None or "application/json" not in content:  # no body (204), or a file (application/pdf)
                    continue
                node = content["application/json"]["schema"]
                if _untyped(node, components):
                    untyped.append(f"{method.upper()} {path} {status}")
    undeclared = [f"{method.upper()} {path}" for method, path, op in _operations() if NOT_SET in op.response_models.values()]
    assert not untyped, f"answers documented as a bare object (declare a response schema): {untyped}"
    assert not undeclared, f"answers without a declared response (response=…): {undeclared}"


def test_untyped_detector():
    assert _untyped({"type": "object"}, {})
    assert _untyped({"type": "array", "items": {"type": "object", "additionalProperties": True}}, {})
    assert _untyped({}, {})
    assert not _untyped({"type": "object", "additionalProperties": {"type": "integer"}}, {})
    assert not _untyped({"$ref": REF + "X"}, {"X": {"type": "object", "properties": {"a": {"type": "string"}}}})

