import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploads the fuzz run makes go to a temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The fuzz run calls the real WSGI handler, which closes the database connection at the end of each request
    (and so the test's transaction); Django's own test client switches that off in the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
