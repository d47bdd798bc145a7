"""The audit log's public API (/api/v1/audit/...): what an outside auditor needs without the whole log — the
public keys, the latest signed tree head, a consistency proof from a head it saved (docs/audit.md)."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import Out
from jiaoguan.core.audit import ProofUnavailable, audit_consistency_proof, audit_public_keys, head_as_dict
from jiaoguan.core.errors import NotFound
from jiaoguan.core.models import AuditTreeHead

router = Router(tags=["audit"])


class AuditKeyOut(Out):
    kid: str
    alg: str
    public_key: str  # raw Ed25519 public key, base64url


class AuditHeadOut(Out):
    log: str
    tree_size: int
    timestamp: str
    root_hash: str
    chain_hash: str
    algorithm: str
    key_id: str
    signature: str  # base64url Ed25519 signature over core.audit.head_message(...)


class AuditConsistencyOut(Out):
    first: int
    second: int
    first_root: str
    proof: list[str]
    head: AuditHeadOut


class AuditProofOut(Out):
    """An entry's content, its digest and its RFC 9162 audit path to a signed head."""

    entry: dict[str, Any]
    digest: str
    entry_id: int
    leaf_index: int
    leaf_hash: str
    tree_size: int
    path: list[str]
    head: AuditHeadOut


class ConsistencyQuery(Schema):
    first: int = Field(..., ge=1, le=2**62, description="the tree size of the head you saved")


def _no_head(exc: Exception) -> NotFound:
    return NotFound("core.audit_no_head", "没有可用的签名树头", f"No signed tree head for this: {exc}")


@router.get("audit/keys", auth=None, response={200: list[AuditKeyOut], **ERRORS},
            summary="The audit log's public keys (Ed25519) 审计日志公钥")
def keys(request: HttpRequest) -> list[dict[str, str]]:
    return audit_public_keys()


@router.get("audit/heads/latest", auth=None, response={200: AuditHeadOut, **ERRORS},
            summary="The latest signed tree head of the audit log 最新签名树头")
def latest_head(request: HttpRequest) -> dict[str, Any]:
    head = AuditTreeHead.objects.order_by("-tree_size").first()
    if head is None:
        raise _no_head(ProofUnavailable("the log has no signed head yet"))
    return head_as_dict(head)


@router.get("audit/consistency", auth=None, response={200: AuditConsistencyOut, **ERRORS},
            summary="Proof that the log extends a head you saved (RFC 9162 consistency proof) 一致性证明")
def consistency(request: HttpRequest, query: Query[ConsistencyQuery]) -> dict[str, Any]:
    try:
        return audit_consistency_proof(query.first)
    except ProofUnavailable as exc:
        raise _no_head(exc) from None
