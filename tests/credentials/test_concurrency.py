"""PostgreSQL, real parallel connections: racing issuers of one source get one credential; racing revokers, one
revocation."""
from __future__ import annotations

import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError
from jiaoguan.core.models import AuditEntry
from jiaoguan.credentials import services
from jiaoguan.credentials.models import Credential
from tests.concurrency import in_threads
from tests.credentials.conftest import holder, issue

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_six_issuers_of_one_source_get_one_credential():
    user = holder()
    results = in_threads(6, lambda i: issue(user, source_id="RACE-1"))
    assert all(isinstance(r, Credential) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Credential.objects.count() == 1 == AuditEntry.objects.filter(action="credential.issue").count()


def test_two_revokers_one_wins():
    user = holder()
    c = issue(user)
    results = in_threads(2, lambda i: services.credential_revoke(
        credential_id=c.pk, actor=Actor(id=900 + i, label=f"approver{i}", role="approver"), reason=f"理由{i}"))
    won = [r for r in results if isinstance(r, Credential)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 1 and len(lost) == 1 and lost[0].code == "credentials.already_revoked", results
    assert AuditEntry.objects.filter(action="credential.revoke").count() == 1
