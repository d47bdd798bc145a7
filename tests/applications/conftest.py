"""Every applications test runs against the app's catalogue plus the test services in tests/applications/catalogue."""
import pytest

from jiaoguan.applications.catalogue import catalogue_load, catalogue_use
from tests.applications.support import TEST_CATALOGUE


@pytest.fixture(autouse=True)
def test_catalogue():
    from jiaoguan.applications.catalogue import CATALOGUE_DIR

    with catalogue_use(catalogue_load(CATALOGUE_DIR, TEST_CATALOGUE)) as cat:
        yield cat


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def workday(clock):
    """Monday 2026-11-23 10:00 (a working day): time limits are deterministic."""
    import datetime as dt

    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    return clock
