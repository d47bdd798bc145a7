"""docs/security.md's role table is the policy staff and auditors read: it must say exactly what
identity.roles.PERMISSIONS enforces (issue 10: the policy written down and tested)."""
import re
from pathlib import Path

from jiaoguan.identity.roles import PERMISSIONS, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def _documented() -> dict[str, frozenset[str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("<!-- roles:start"):text.index("<!-- roles:end -->")]
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[0] == "permission" and header[1:] == [r.value for r in Role], header
    documented = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name = re.fullmatch(r"`([a-z_.]+)`", cells[0]).group(1)
        documented[name] = frozenset(role for role, cell in zip(header[1:], cells[1:], strict=True) if cell == "✓")
    return documented


def test_the_documented_role_table_is_the_enforced_one():
    enforced = {name: frozenset(str(r) for r in roles) for name, roles in PERMISSIONS.items()}
    assert _documented() == enforced


def test_no_public_role_holds_a_staff_permission():
    documented = _documented()
    assert all(not (roles & {Role.CITIZEN.value, Role.ENTERPRISE.value}) for roles in documented.values())
