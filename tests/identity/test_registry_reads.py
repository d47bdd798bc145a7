"""What identity reads of the registry goes through registry.selectors (issue 11), and the identity modules
that the services and selectors share break the old selectors ⇄ services import cycle."""
import ast
from pathlib import Path

import pytest
from django.db import transaction

from jiaoguan.identity import rules, selectors
from jiaoguan.identity.services import bindings
from jiaoguan.portal.forms import BindForm
from jiaoguan.registry import selectors as registry
from tests.factories import make_person, make_vehicle


def test_the_bind_form_offers_exactly_the_plate_types_the_rule_accepts():
    """One rule (identity.rules.BINDABLE_PLATE_TYPES) for the page's choices and the service's check."""
    offered = [value for value, _label in BindForm().fields["plate_type"].choices]
    assert offered == ["02", "52"]
    assert set(offered) == rules.BINDABLE_PLATE_TYPES
    assert rules.BINDABLE_PLATE_TYPES <= registry.plate_types()
    assert registry.plate_type_choices(codes=["52", "02"]) == registry.plate_type_choices(codes=["02", "52"])


@pytest.mark.django_db
def test_vehicle_locked_reads_one_vehicle_inside_a_transaction():
    car = make_vehicle(owner=make_person())
    with transaction.atomic():
        assert registry.vehicle_locked(vehicle_id=car.pk).pk == car.pk
        assert registry.vehicle_locked(vehicle_id=car.pk + 10_000) is None


@pytest.mark.django_db(transaction=True)
def test_vehicle_locked_refuses_to_lock_outside_a_transaction():
    car = make_vehicle(owner=make_person())
    with pytest.raises(RuntimeError):
        registry.vehicle_locked(vehicle_id=car.pk)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_selectors_do_not_import_services_and_no_registry_models_in_services():
    assert not any(n.startswith("jiaoguan.identity.services") for n in _imports(Path(selectors.__file__)))
    for path in Path(bindings.__file__).parent.glob("*.py"):
        assert not any(n.startswith("jiaoguan.registry.models") for n in _imports(path)), path.name
