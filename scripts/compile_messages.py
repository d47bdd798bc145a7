"""Compile every django.po under src/ into django.mo with Babel (no system gettext needed)."""
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

root = Path(__file__).resolve().parent.parent / "src"
for po_path in sorted(root.glob("**/locale/*/LC_MESSAGES/django.po")):
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        continue
    with po_path.open("rb") as f:
        catalog = read_po(f)
    with mo_path.open("wb") as f:
        write_mo(f, catalog)
    print(f"compiled {po_path.relative_to(root)}")
