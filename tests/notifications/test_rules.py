"""Pure rules: placeholders, rendering, languages, the transition table, backoff, when a message is due."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.notifications import rules

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_placeholders_in_order_without_repeats():
    assert rules.placeholders("验证码{code}，{minutes}分钟；再说一遍{code}") == ["code", "minutes"]
    assert rules.placeholders("no params") == []


@pytest.mark.parametrize("text, problem", [
    ("验证码{code", "stray '{'"),
    ("验证码code}", "stray '}'"),
    ("{code.__class__}", "stray"),
    ("{code!r}", "stray"),
    ("{code:>10}", "stray"),
    ("{0}", "stray"),
    ("{secret}", "unknown placeholder"),
])
def test_check_text_refuses_anything_but_declared_plain_names(text, problem):
    with pytest.raises(rules.TemplateSyntaxProblem, match=problem):
        rules.check_text(text, allowed=["code", "minutes"])


def test_check_text_accepts_declared_names():
    rules.check_text("验证码{code}，{minutes}分钟内有效", allowed=["code", "minutes"])
    rules.check_text("无参数", allowed=[])


@given(value=st.text(max_size=40), tail=st.text(alphabet="abc{}", max_size=10))
def test_rendering_is_literal_and_single_pass(value, tail):
    # a value containing braces or placeholder-like text is inserted as it is, never expanded again
    out = rules.render("A{x}B{y}", {"x": value, "y": tail}, language="zh-hans")
    assert out == f"A{value}B{tail}"


def test_dates_are_written_the_way_each_language_writes_them():
    d = dt.date(2026, 5, 1)
    assert rules.render("{date}", {"date": d}, language="zh-hans") == "2026年5月1日"
    assert rules.render("{date}", {"date": d}, language="en") == "1 May 2026"
    at = dt.datetime(2026, 5, 1, 1, 30, tzinfo=dt.UTC)  # 09:30 in Asia/Shanghai
    assert rules.render("{at}", {"at": at}, language="zh-hans") == "2026年5月1日09:30"
    assert rules.render("{at}", {"at": at}, language="en") == "1 May 2026 09:30"


def test_missing_parameter_is_a_key_error_in_the_pure_renderer():
    with pytest.raises(KeyError):
        rules.render("{code}", {}, language="zh-hans")


@pytest.mark.parametrize("given_, expected", [
    (None, "zh-hans"), ("", "zh-hans"), ("zh", "zh-hans"), ("zh-hans", "zh-hans"), ("zh-cn", "zh-hans"),
    ("en", "en"), ("EN", "en"), ("en-us", "en"), ("fr", "zh-hans"),
])
def test_language_normalisation(given_, expected):
    assert rules.normalise_language(given_) == expected


def test_sms_text_carries_the_signature_and_is_one_line():
    assert rules.sms_text("验证码：123456，\n5分钟内有效", language="zh-hans") == "【交管】验证码：123456， 5分钟内有效"
    assert rules.sms_text("Code 123456", language="en") == "[Jiaoguan] Code 123456"


def test_transition_table():
    C, S, D, F = rules.CREATED, rules.SENDING, rules.DELIVERED, rules.FAILED
    allowed = {(C, S), (S, S), (S, D), (S, C), (S, F)}
    for a in (C, S, D, F):
        for b in (C, S, D, F):
            assert rules.MESSAGES.allows(a, b) == ((a, b) in allowed), (a, b)


@given(attempts=st.integers(min_value=1, max_value=40), base=st.integers(min_value=1, max_value=600))
def test_backoff_doubles_from_the_base_and_is_capped(attempts, base):
    wait = rules.backoff(attempts, base_seconds=base)
    assert wait.total_seconds() == min(base * 2 ** (attempts - 1), rules.BACKOFF_CAP.total_seconds())
    assert rules.backoff(attempts + 1, base_seconds=base) >= wait


def test_backoff_examples():
    assert [rules.backoff(a, base_seconds=30).total_seconds() for a in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_is_due():
    minute = dt.timedelta(minutes=1)
    assert rules.is_due(status="created", next_attempt_at=NOW, sent_at=None, now=NOW)
    assert not rules.is_due(status="created", next_attempt_at=NOW + minute, sent_at=None, now=NOW)
    # sending: only once the attempt is older than the stale limit (a dead worker)
    assert not rules.is_due(status="sending", next_attempt_at=None, sent_at=NOW - minute, now=NOW)
    assert rules.is_due(status="sending", next_attempt_at=None, sent_at=NOW - rules.SENDING_STALE_AFTER, now=NOW)
    assert not rules.is_due(status="delivered", next_attempt_at=None, sent_at=None, now=NOW)
    assert not rules.is_due(status="failed", next_attempt_at=None, sent_at=None, now=NOW)


def test_after_failure():
    assert rules.after_failure(attempts=1, retryable=True, max_attempts=3, base_seconds=30, now=NOW) == (
        "created", NOW + dt.timedelta(seconds=30))
    assert rules.after_failure(attempts=2, retryable=True, max_attempts=3, base_seconds=30, now=NOW) == (
        "created", NOW + dt.timedelta(seconds=60))
    assert rules.after_failure(attempts=3, retryable=True, max_attempts=3, base_seconds=30, now=NOW) == ("failed", None)
    assert rules.after_failure(attempts=1, retryable=False, max_attempts=3, base_seconds=30, now=NOW) == ("failed", None)
