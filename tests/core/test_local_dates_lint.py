"""A calendar date taken from an aware UTC datetime is impossible to miss (issue 9 §1).

``clock.now()``, ``timezone.now()`` and datetimes read back from the database are aware and in UTC: between 00:00
and 08:00 Beijing time their ``.date()`` (and ``.year``/``.month``/``.day``, ``strftime``, ``f"{now:%Y%m%d}"``) is
*yesterday*. This test walks src/ with ``ast`` and fails on those forms applied to

- a call of ``now()``/``utcnow()`` (``clock.now()``, ``timezone.now()``, ``datetime.now(...)``, ``now()``),
- a name bound to one of those calls in the same function (or module), or a name/parameter called ``now``,
- a datetime field by the project's naming rule (``*_at``: ``slot.starts_at.date()``, ``paid_at``…).

The local date is ``clock.today()`` / ``clock.localdate(at)``; local formatting goes through ``clock.localtime(at)``.
"""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "jiaoguan"
DATE_PARTS = {"year", "month", "day"}
DATE_DIRECTIVES = ("%Y", "%y", "%m", "%d", "%j", "%a", "%A", "%b", "%B", "%x", "%c", "%F", "%D")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    code: str
    what: str

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: {self.what} of an aware UTC datetime: `{self.code}` — between 00:00 and "
                f"08:00 Beijing time that is yesterday's date. Use clock.today() / clock.localdate(at) / "
                f"clock.localtime(at) (jiaoguan.core.clock).")


def _is_now_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    return name in {"now", "utcnow"}


def _own_nodes(node: ast.AST):
    """The nodes of a function (or module) body, without the bodies of the functions nested in it."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        n = stack.pop()
        yield n
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(n))


class _Scan(ast.NodeVisitor):
    def __init__(self, path: str, source: str) -> None:
        self.path, self.source = path, source
        self.scopes: list[set[str]] = [set()]
        self.findings: list[Finding] = []

    # -- what counts as an aware UTC datetime --------------------------------------------------------------------
    def utc(self, node: ast.AST) -> bool:
        if _is_now_call(node):
            return True
        if isinstance(node, ast.Name):
            return node.id == "now" or node.id.endswith("_at") or any(node.id in s for s in self.scopes)
        if isinstance(node, ast.Attribute):
            return node.attr.endswith("_at")
        return False

    def bound(self, node: ast.AST) -> set[str]:
        """Names bound to a now() call in this function body (not in nested functions)."""
        names: set[str] = set()
        for n in _own_nodes(node):
            if isinstance(n, ast.Assign) and _is_now_call(n.value):
                names |= {t.id for t in n.targets if isinstance(t, ast.Name)}
            elif isinstance(n, (ast.AnnAssign, ast.NamedExpr)) and n.value is not None and _is_now_call(n.value):
                if isinstance(n.target, ast.Name):
                    names.add(n.target.id)
        return names

    def report(self, node: ast.AST, what: str) -> None:
        code = ast.get_source_segment(self.source, node) or ast.unparse(node)
        self.findings.append(Finding(self.path, node.lineno, code.splitlines()[0], what))

    # -- scopes --------------------------------------------------------------------------------------------------
    def visit_Module(self, node: ast.Module) -> None:
        self.scopes = [self.bound(node)]
        self.generic_visit(node)

    def _function(self, node) -> None:
        self.scopes.append(self.bound(node))
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    # -- the forms -----------------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Attribute) and self.utc(f.value):
            if f.attr == "date" and not node.args and not node.keywords:
                self.report(node, ".date()")
            elif f.attr == "strftime" and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) and any(d in node.args[0].value for d in DATE_DIRECTIVES):
                self.report(node, "strftime with a date")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in DATE_PARTS and isinstance(node.ctx, ast.Load) and self.utc(node.value):
            self.report(node, f".{node.attr}")
        self.generic_visit(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        spec = node.format_spec
        text = "".join(v.value for v in spec.values if isinstance(v, ast.Constant)) if spec is not None else ""
        if any(d in text for d in DATE_DIRECTIVES) and self.utc(node.value):
            self.report(node.value, f"an f-string date ({text!r})")
        self.generic_visit(node)


def scan(source: str, path: str = "<src>") -> list[Finding]:
    s = _Scan(path, source)
    s.visit(ast.parse(source))
    return s.findings


def scan_tree(root: Path = SRC) -> list[Finding]:
    found: list[Finding] = []
    for file in sorted(root.rglob("*.py")):
        if "migrations" in file.parts or file.name == "clock.py" and file.parent.name == "core":
            continue
        found += scan(file.read_text(encoding="utf-8"), str(file.relative_to(root.parent.parent)))
    return found


def test_no_date_taken_from_an_aware_utc_datetime_in_src():
    found = scan_tree()
    assert not found, "A calendar date taken from a UTC datetime:\n" + "\n".join(map(str, found))


# -- the scanner itself ------------------------------------------------------------------------------------------

BAD = {
    "the demo bug (issue 9)": """
        def demo_applications(*, now):
            today = now.date() if isinstance(now, dt.datetime) else now
    """,
    "clock.now().date()": "d = clock.now().date()",
    "timezone.now().date()": "d = timezone.now().date()",
    "a name bound to clock.now()": """
        def f():
            moment = clock.now()
            return moment.date()
    """,
    "datetime.now(utc).date()": "d = dt.datetime.now(dt.timezone.utc).date()",
    "a field's .date()": "d = slot.starts_at.date()",
    "a trade number with the UTC date": 'no = f"SIM{trade.paid_at:%Y%m%d}{pk:010d}"',
    "strftime of now": 'no = clock.now().strftime("%Y%m%d")',
    ".year of now": "year = clock.now().year",
    "a *_at name's .day": "d = paid_at.day",
}
GOOD = {
    "clock.today()": "d = clock.today()",
    "clock.localdate": "d = clock.localdate(slot.starts_at)",
    "local time formatted": 'no = f"SIM{clock.localtime(trade.paid_at):%Y%m%d}"',
    "a time of day is no date": 's = f"{now:%H:%M}"',
    "a plain date's .year": "y = clock.today().year",
    "a naive datetime from a form": "d = cleaned['when'].date()",
    "a name bound elsewhere is not this function's": """
        def f():
            moment = clock.now()
        def g(moment):
            return moment.date()
    """,
}


@pytest.mark.parametrize("source", BAD.values(), ids=BAD.keys())
def test_the_scanner_finds(source):
    assert scan(textwrap.dedent(source))


@pytest.mark.parametrize("source", GOOD.values(), ids=GOOD.keys())
def test_the_scanner_lets_pass(source):
    assert scan(textwrap.dedent(source)) == []


def test_the_message_says_where_and_what_to_use():
    [finding] = scan("today = now.date()", "src/jiaoguan/applications/demo.py")
    text = str(finding)
    assert text.startswith("src/jiaoguan/applications/demo.py:1: .date()") and "`now.date()`" in text
    assert "clock.localdate" in text and "yesterday" in text
