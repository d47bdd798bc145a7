"""The life cycle of a vehicle binding (review defect 3): one table of allowed moves, checked in one place
(services.bindings._binding_move); each named transition writes its audit row; no status is assigned anywhere else."""
import ast
from pathlib import Path

import pytest
from django.db import transaction

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import rules
from jiaoguan.identity.models import VehicleBinding
from jiaoguan.identity.services import bindings
from tests.identity.helpers import holder, register
from tests.identity.test_bindings import owner_with_car, request

STATUSES = list(VehicleBinding.Status.values)
ACTOR = Actor.system("test")


def test_the_table_names_every_status_and_final_states_have_no_moves():
    assert rules.BINDINGS.states == set(STATUSES)
    assert all(rules.BINDINGS.targets(s) <= set(STATUSES) for s in STATUSES)
    assert rules.BINDINGS.terminal == {"ended", "expired"}
    assert rules.BINDING_START == {"pending", "active"}
    assert not rules.BINDINGS.allows("active", "pending")
    assert not rules.BINDINGS.allows("active", "expired")
    assert not rules.BINDINGS.allows("ended", "active")


def _binding_in(status):
    user = register(holder())
    _owner, car = owner_with_car()
    binding = request(user, car)  # pending
    with transaction.atomic():
        if status == "active":
            bindings._binding_activate(binding, actor=ACTOR)
        elif status == "ended":
            bindings._binding_end(binding, actor=ACTOR)
        elif status == "expired":
            bindings._binding_expire(binding, actor=ACTOR)
    binding.refresh_from_db()
    assert binding.status == status
    return binding


@pytest.mark.django_db
@pytest.mark.parametrize("old", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
def test_every_move_is_checked_against_the_table(old, new):
    binding = _binding_in(old)
    audits = AuditEntry.objects.count()
    if rules.BINDINGS.allows(old, new):
        with transaction.atomic():
            bindings._binding_move(binding, to=new, actor=ACTOR, action="test.move", reason="why")
        binding.refresh_from_db()
        assert binding.status == new
        entry = AuditEntry.objects.order_by("-id").first()
        assert entry.action == "test.move" and entry.old == {"status": old} and entry.new["status"] == new
        assert entry.reason == "why" and entry.object_id == str(binding.pk)
        assert (binding.bound_at is not None) if new == "active" else (binding.ended_at is not None)
    else:
        with pytest.raises(Conflict) as exc, transaction.atomic():
            bindings._binding_move(binding, to=new, actor=ACTOR, action="test.move")
        assert exc.value.code == "identity.binding_state" and exc.value.status == 409
        binding.refresh_from_db()
        assert binding.status == old and AuditEntry.objects.count() == audits


@pytest.mark.django_db(transaction=True)
def test_a_move_outside_a_transaction_is_refused():
    binding = _binding_in("pending")
    with pytest.raises(RuntimeError):
        bindings._binding_move(binding, to="active", actor=ACTOR, action="test.move")


@pytest.mark.django_db
def test_each_named_transition_audits_with_its_own_action():
    for status, action in (("active", "binding.confirm"), ("ended", "binding.end"), ("expired", "binding.expire")):
        binding = _binding_in(status)
        entry = AuditEntry.objects.filter(object_id=str(binding.pk), action=action).get()
        assert entry.old == {"status": "pending"} and entry.new["status"] == status
        assert entry.subject_person_id == binding.owner_person_id == binding.vehicle.owner_id


@pytest.mark.django_db
def test_opening_a_binding_is_audited_with_its_first_status():
    user = register(holder())
    own = VehicleBinding.objects.get(user=user)
    entry = AuditEntry.objects.get(action="binding.own_bind", object_id=str(own.pk))
    assert entry.new["status"] == "active" and own.owner_person_id == user.person_id
    _owner, car = owner_with_car()
    other = request(user, car)
    entry = AuditEntry.objects.get(action="binding.request", object_id=str(other.pk))
    assert entry.new["status"] == "pending" and other.owner_person_id == car.owner_id


def _functions(tree):
    return {fn.name: fn for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)}


def _lines(fn):
    return {getattr(node, "lineno", None) for node in ast.walk(fn)}


def test_no_status_is_assigned_outside_the_transition_function():
    """The rule "one function per transition" checked on the source of the whole app: the only assignments to
    a .status attribute are in services.bindings._binding_move (and services.phone_on_file._end), no queryset update() sets a status, and bindings
    are created (with their first status) only in services.bindings._binding_open."""
    home = Path(bindings.__file__)
    root = home.parent.parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        fns = _functions(tree) if path == home else {}
        moving = _lines(fns["_binding_move"]) if "_binding_move" in fns else set()
        opening = _lines(fns["_binding_open"]) if "_binding_open" in fns else set()
        # the other life cycle of the app, a change of the phone on file: its one transition function
        phone_file_end = _lines(_functions(tree)["_end"]) if path.name == "phone_on_file.py" else set()
        if path == home:
            assert moving and opening, "services.bindings._binding_move / _binding_open not found"
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
            for t in targets:
                names = [e for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
                if any(isinstance(e, ast.Attribute) and e.attr == "status" for e in names) \
                        and node.lineno not in moving and node.lineno not in phone_file_end:
                    offenders.append(f"{path.name}:{node.lineno} assigns .status")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {"update", "bulk_update"}:
                text = ast.unparse(node)
                if "status" in {k.arg for k in node.keywords} or "'status'" in text or '"status"' in text:
                    offenders.append(f"{path.name}:{node.lineno} updates status")
            creating = isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {
                "create", "bulk_create", "get_or_create", "update_or_create"}
            if creating and "VehicleBinding" in ast.unparse(node.func) and node.lineno not in opening:
                offenders.append(f"{path.name}:{node.lineno} creates a binding")
    assert offenders == []
