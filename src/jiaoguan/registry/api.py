"""registry API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): partners' signed requests."""
from ninja import Router

router = Router(tags=["registry"])
