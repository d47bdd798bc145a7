"""The kernel helpers every app uses instead of its own copy (issue 11): parse_id, StateMachine, actor_of,
parse_key_list, api_once/once_for, Refusal."""
from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.test import RequestFactory, override_settings
from hypothesis import given
from hypothesis import strategies as st
from ninja import Status

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, InvalidInput, Refusal
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.core.idempotency import api_once, once_for, user_scope
from jiaoguan.core.ids import MAX_ID, parse_id
from jiaoguan.core.keys import parse_key_list
from jiaoguan.core.models import IdempotencyKey
from jiaoguan.core.states import StateMachine

# --- parse_id ---------------------------------------------------------------------------------------------------

_ANY_INPUT = st.one_of(
    st.integers(), st.booleans(), st.text(), st.none(), st.floats(allow_nan=True),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=0, max_value=2**70).map(lambda n: f"  {n}\n"),
    st.lists(st.integers(), max_size=2), st.binary(max_size=8),
)


@given(_ANY_INPUT)
def test_parse_id_never_raises_and_gives_only_ids_that_fit_a_bigint(value):
    parsed = parse_id(value)
    assert parsed is None or (type(parsed) is int and 1 <= parsed <= MAX_ID)


@given(st.integers(min_value=1, max_value=MAX_ID))
def test_parse_id_keeps_every_valid_id_as_int_and_as_text(n):
    assert parse_id(n) == n
    assert parse_id(str(n)) == n
    assert parse_id(f" {n} ") == n


@pytest.mark.parametrize("value", [0, -1, MAX_ID + 1, "0", "-5", "+5", "1.0", "1e3", "²", "١٢", "12a", "", " ",
                                   "9" * 20, True, False, None, 1.0, [1], b"1"])
def test_parse_id_refuses(value):
    assert parse_id(value) is None


# --- StateMachine -----------------------------------------------------------------------------------------------

class Colour(models.TextChoices):
    DRAFT = "draft", bi("草稿", "Draft")
    SENT = "sent", bi("已发送", "Sent")
    DONE = "done", bi("已完成", "Done")
    VOID = "void", bi("已作废", "Void")


MACHINE = StateMachine("tests.letter", {
    "draft": ("sent", "void"),
    "sent": ("done", "void"),
    "done": (),
    "void": (),
}, code="tests.letter_state", what=("信件", "The letter"), labels=Colour)


def test_the_table_answers_allows_targets_sources_and_terminal():
    assert MACHINE.states == {"draft", "sent", "done", "void"}
    assert MACHINE.terminal == {"done", "void"}
    assert MACHINE.allows("draft", "sent") and not MACHINE.allows("sent", "draft")
    assert MACHINE.targets("sent") == {"done", "void"}
    assert MACHINE.targets("unknown") == frozenset()
    assert MACHINE.sources("void") == {"draft", "sent"}
    assert MACHINE.sources("draft") == frozenset()
    assert MACHINE.allows(Colour.DRAFT, Colour.SENT)  # a Choices member is its value


def test_a_table_naming_an_unknown_target_is_refused_at_construction():
    with pytest.raises(ValueError, match="lost"):
        StateMachine("tests.bad", {"a": ("b", "lost"), "b": ()})


def test_check_passes_an_allowed_step_and_raises_conflict_in_both_languages_otherwise():
    MACHINE.check("draft", "sent")
    with pytest.raises(Conflict) as caught:
        MACHINE.check("done", "draft")
    error = caught.value
    assert error.code == "tests.letter_state" and error.status == 409
    assert error.zh == "信件当前状态为“已完成”，不能变为“草稿”"
    assert error.en == "The letter is “Done”; it cannot become “Draft”"
    assert error.message("en") == error.en and error.message("zh-hans") == error.zh
    assert error.fields == {"status": (error.zh, error.en)}


def test_check_with_allowed_from_refuses_a_step_the_table_allows_from_elsewhere():
    MACHINE.check("sent", "void", allowed_from=("sent",))
    with pytest.raises(Conflict) as caught:
        MACHINE.check("draft", "void", allowed_from=("sent",))
    assert caught.value.code == "tests.letter_state"
    assert caught.value.zh == "信件当前状态为“草稿”，不能变为“已作废”"


def test_default_code_labels_from_a_mapping_a_callable_or_none():
    plain = StateMachine("tests.plain", {"a": ("b",), "b": ()})
    assert plain.code == "tests.plain.status"
    with pytest.raises(Conflict) as caught:
        plain.check("b", "a")
    assert caught.value.zh == "记录当前状态为“b”，不能变为“a”"
    assert caught.value.en == "The record is “b”; it cannot become “a”"
    mapped = StateMachine("tests.mapped", {"a": ()}, labels={"a": ("甲", "A")})
    assert mapped.label("a") == ("甲", "A") and mapped.label("zzz") == ("zzz", "zzz")
    called = StateMachine("tests.called", {"a": ()}, labels=lambda s: bi(f"{s}中", f"{s}-en"))
    assert called.label("a") == ("a中", "a-en")
    assert MACHINE.label("not-a-choice") == ("not-a-choice", "not-a-choice")


# --- actor_of ---------------------------------------------------------------------------------------------------

class _User:
    is_authenticated = True
    pk = 42
    role = "clerk"
    audit_label = "clerk01"


def test_actor_of_takes_the_request_user_and_the_client_address():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7")
    request.user = _User()
    assert actor_of(request) == Actor(id=42, label="clerk01", role="clerk", ip="10.0.0.7")


def test_actor_of_prefers_the_given_user_and_is_anonymous_without_one():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.8")
    request.user = AnonymousUser()
    assert actor_of(request) == Actor(id=None, label="anonymous", role="anonymous", ip="10.0.0.8")
    assert actor_of(request, _User()).id == 42
    bare = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9")  # no request.user at all (the API before auth)
    assert actor_of(bare).role == "anonymous"


@override_settings(JIAOGUAN_TRUSTED_PROXY_HOPS=1)
def test_actor_of_reads_the_address_behind_a_trusted_proxy():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert actor_of(request, _User()).ip == "203.0.113.5"


# --- parse_key_list ---------------------------------------------------------------------------------------------

K32 = base64.b64encode(b"k" * 32).decode()
J32 = base64.b64encode(b"j" * 32).decode()


def test_parse_key_list_keeps_the_order_first_in_use():
    assert parse_key_list(f" new:{K32} , old:{J32},", env_name="X_KEYS", what="key") == [
        ("new", b"k" * 32), ("old", b"j" * 32)]
    assert parse_key_list(f"a:{base64.b64encode(b'x' * 16).decode()}", env_name="X", what="k", length=16)


@pytest.mark.parametrize("spec, message", [
    ("", "X_KEYS is empty"),
    (" , ", "X_KEYS is empty"),
    (K32, "kid:base64key"),
    (f":{K32}", "kid:base64key"),
    (f"bad id:{K32}", "at most 32 letters"),
    (f"{'k' * 33}:{K32}", "at most 32 letters"),
    ("a:not base64!", "not valid base64"),
    (f"a:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
    (f"a:{K32},a:{J32}", "duplicate key id"),
])
def test_parse_key_list_refuses(spec, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_key_list(spec, env_name="X_KEYS", what="key")


# --- Refusal ----------------------------------------------------------------------------------------------------

def test_refusal_is_a_value_with_both_languages():
    refusal = Refusal("tests.not_now", "现在不行", "Not now")
    assert refusal.as_dict() == {"code": "tests.not_now", "zh": "现在不行", "en": "Not now"}
    assert refusal.message("en") == "Not now" and refusal.message("en-us") == "Not now"
    assert refusal.message("zh-hans") == "现在不行"
    assert refusal == Refusal("tests.not_now", "现在不行", "Not now")
    with pytest.raises(AttributeError):
        refusal.code = "changed"  # type: ignore[misc]


# --- api_once / once_for ----------------------------------------------------------------------------------------

class _Person:
    def __init__(self, pk: int) -> None:
        self.pk = pk


class _Run:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> tuple[int, dict[str, int]]:
        self.calls += 1
        return 201, {"call": self.calls}


@pytest.mark.django_db
def test_once_for_replays_the_first_result_under_the_user_scope():
    run = _Run()
    first = once_for(_Person(7), "letters.send", key="key-000001", fingerprint=b"a", run=run)
    again = once_for(_Person(7), "letters.send", key="key-000001", fingerprint=b"a", run=run)
    assert first == again == (201, {"call": 1}) and run.calls == 1
    assert user_scope(_Person(7), "letters.send") == "user:7:letters.send"  # stored scopes stay byte-identical
    assert IdempotencyKey.objects.filter(scope="user:7:letters.send", key="key-000001").count() == 1


@pytest.mark.django_db
def test_once_for_scopes_keys_per_user_and_per_action():
    run = _Run()
    once_for(_Person(7), "letters.send", key="key-000002", fingerprint=b"a", run=run)
    other_user = once_for(_Person(8), "letters.send", key="key-000002", fingerprint=b"a", run=run)
    other_action = once_for(_Person(7), "letters.void", key="key-000002", fingerprint=b"a", run=run)
    assert other_user == (201, {"call": 2}) and other_action == (201, {"call": 3}) and run.calls == 3


@pytest.mark.django_db
def test_once_for_refuses_a_missing_key_and_a_reused_one_with_another_body():
    with pytest.raises(InvalidInput) as missing:
        once_for(_Person(7), "letters.send", key=None, fingerprint=b"a", run=_Run())
    assert missing.value.code == "core.idempotency_key"
    once_for(_Person(7), "letters.send", key="key-000003", fingerprint=b"a", run=_Run())
    with pytest.raises(InvalidInput) as mismatch:
        once_for(_Person(7), "letters.send", key="key-000003", fingerprint=b"b", run=_Run())
    assert mismatch.value.code == "core.idempotency_mismatch"


@pytest.mark.django_db
def test_api_once_reads_the_header_and_answers_a_status_replayed_per_user():
    run = _Run()
    request = RequestFactory().post("/api/v1/x", HTTP_IDEMPOTENCY_KEY="key-000004")
    first = api_once(request, _Person(9), "letters.send", fingerprint=request.body, run=run)
    again = api_once(request, _Person(9), "letters.send", fingerprint=request.body, run=run)
    assert isinstance(first, Status) and isinstance(again, Status)
    assert (first.status_code, first.value) == (again.status_code, again.value) == (201, {"call": 1})
    other = api_once(request, _Person(10), "letters.send", fingerprint=request.body, run=run)
    assert other.value == {"call": 2} and run.calls == 2
    assert set(IdempotencyKey.objects.values_list("scope", flat=True)) == {"user:9:letters.send",
                                                                          "user:10:letters.send"}
    with pytest.raises(InvalidInput):
        api_once(RequestFactory().post("/api/v1/x"), _Person(9), "letters.send", fingerprint=b"", run=run)
