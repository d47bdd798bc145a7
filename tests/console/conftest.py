import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _language_back_to_default():
    """Django's LocaleMiddleware leaves the last request's language active in the thread: an English request
    here would otherwise turn later tests (any app's) English. Start and end each test in the default."""
    translation.deactivate()
    yield
    translation.deactivate()
