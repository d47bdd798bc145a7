"""Identity API: registration, login, me, licences, vehicles, bindings."""
from ninja import Router

router = Router(tags=["identity"])
