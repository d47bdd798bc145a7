import pytest


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Run a step and then what its commit would run: the outbox's dispatch, so records.handlers rebuild."""

    def run(step):
        with django_capture_on_commit_callbacks(execute=True):
            return step()

    return run
