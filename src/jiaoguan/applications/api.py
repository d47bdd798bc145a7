"""applications API (ninja Router mounted at /api/v1/ by jiaoguan/api.py)."""
from ninja import Router

router = Router(tags=["applications"])
