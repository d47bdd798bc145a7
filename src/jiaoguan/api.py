"""The JSON API at /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs): wiring only."""
from ninja import NinjaAPI, Schema, Status

from jiaoguan.applications.api import router as applications_router
from jiaoguan.bookings.api import router as bookings_router
from jiaoguan.core.api_errors import document_errors, install_error_handlers
from jiaoguan.core.api_render import LocalTimeRenderer
from jiaoguan.core.audit import audit_health
from jiaoguan.core.audit_api import router as audit_router
from jiaoguan.core.inputs import bound_inputs
from jiaoguan.counters.api import router as counters_router
from jiaoguan.credentials.api import router as credentials_router
from jiaoguan.eastern.api import router as eastern_router
from jiaoguan.exams.api import router as exams_router
from jiaoguan.identity.api import router as identity_router
from jiaoguan.inspections.api import router as inspections_router
from jiaoguan.payments.api import router as payments_router
from jiaoguan.plates.api import router as plates_router
from jiaoguan.postal.api import router as postal_router
from jiaoguan.records.api import router as records_router
from jiaoguan.registry.api import router as registry_router
from jiaoguan.violations.api import router as violations_router

api = NinjaAPI(
    title="Jiaoguan API 交管平台接口",
    version="1.0.0",
    description="Citizens' and partners' API. Errors are JSON: {code, message, fields?}; "
    "messages follow Accept-Language (zh-hans default, en).",
    urls_namespace="api-v1",
    renderer=LocalTimeRenderer(),
)
install_error_handlers(api)


class HealthOut(Schema):
    status: str


@api.get("/health", tags=["system"], auth=None, response=HealthOut, summary="Liveness check")
def health(request):
    return {"status": "ok"}


class AuditHealthOut(Schema):
    status: str  # "ok" or "alarm"
    unsealed: int
    oldest_unsealed_seconds: float | None
    threshold_seconds: int
    tree_size: int
    last_head_size: int


@api.get("/health/audit", tags=["system"], auth=None, response={200: AuditHealthOut, 503: AuditHealthOut},
         summary="Audit log sealing: 503 when an entry has waited longer than the threshold 审计日志封存状态")
def health_audit(request):
    h = audit_health()
    body = {"status": "ok" if h.ok else "alarm", "unsealed": h.unsealed,
            "oldest_unsealed_seconds": None if h.oldest_unsealed_seconds is None
            else min(h.oldest_unsealed_seconds, 10**9), "threshold_seconds": h.threshold_seconds,
            "tree_size": h.tree_size, "last_head_size": h.last_head_size}
    return Status(200 if h.ok else 503, body)


# The apps' routers: the citizen's records (the read model) first, then identity's, violations' and payments' (their
# paths are matched first, as before).
api.add_router("/", records_router)
api.add_router("/", identity_router)
api.add_router("/", violations_router)
api.add_router("/", payments_router)
for router in (bookings_router, exams_router, inspections_router, counters_router, eastern_router, plates_router,
               applications_router, postal_router, credentials_router, registry_router, audit_router):
    api.add_router("/", router)

# Once every router is mounted: every int, date and date-time input gets bounds (core.inputs), and every operation
# documents the API's error responses (core.api_errors). Bad input is a 4xx, never a 500.
bound_inputs(api)
document_errors(api)
