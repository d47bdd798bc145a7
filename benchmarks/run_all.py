"""Run every benchmark in this folder (make bench). Each prints its own figures; this prints a summary."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

here = Path(__file__).resolve().parent
scripts = sorted(p for p in here.glob("bench_*.py"))
failed = []
for script in scripts:
    print(f"\n=== {script.name} ===", flush=True)
    started = time.monotonic()
    rc = subprocess.call([sys.executable, str(script)], cwd=here.parent)
    print(f"--- {script.name}: exit {rc} in {time.monotonic() - started:.0f}s", flush=True)
    if rc:
        failed.append(script.name)
if failed:
    print(f"\nfailed: {', '.join(failed)}")
    sys.exit(1)
