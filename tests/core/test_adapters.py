"""core.adapters: the settings-named adapter registry shared by payment channels and postal carriers."""
from __future__ import annotations

import pytest

from jiaoguan.core.adapters import Adapters
from jiaoguan.core.i18n import bi


class Fake:
    label = bi("模拟", "Fake")


def test_load_by_dotted_path_once_and_answer_by_name():
    reg: Adapters[Fake] = Adapters("fake")
    reg.load({"f": "tests.core.test_adapters.Fake"})
    first = reg["f"]
    reg.load({"f": "tests.core.test_adapters.Fake"})  # ready() may run again: the instance is kept
    assert reg["f"] is first and "f" in reg and list(reg) == ["f"]
    assert reg.get("nope") is None and "nope" not in reg
    assert reg.label("f") is Fake.label and reg.label("nope") == "nope"
    with pytest.raises(KeyError):
        reg["nope"]


def test_a_test_may_swap_an_adapter(monkeypatch):
    reg: Adapters[object] = Adapters("fake")
    reg.load({"f": "tests.core.test_adapters.Fake"})
    other = object()
    with monkeypatch.context() as m:
        m.setitem(reg, "f", other)
        assert reg["f"] is other
    assert isinstance(reg["f"], Fake)


def test_the_apps_use_it():
    from jiaoguan.payments import channels
    from jiaoguan.postal import carriers

    assert isinstance(channels._CHANNELS, Adapters) and "sim" in channels._CHANNELS
    assert isinstance(carriers._CARRIERS, Adapters) and "sim" in carriers._CARRIERS
