import pytest

from jiaoguan.core import clock
from jiaoguan.eastern.demo import demo_eastern
from jiaoguan.eastern.models import Area, BookingDay, Checkpoint

pytestmark = pytest.mark.django_db


def test_demo_is_idempotent():
    made = demo_eastern(now=clock.now())
    assert made.areas == ["dapeng", "meisha"] and len(made.days) == 10 and len(made.checkpoints) == 2
    again = demo_eastern(now=clock.now())
    assert again.days == [] and again.checkpoints == []
    assert Area.objects.count() == 2 and BookingDay.objects.count() == 10 and Checkpoint.objects.count() == 2
