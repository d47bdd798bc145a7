"""Real parallel connections for the PostgreSQL concurrency tests."""
from __future__ import annotations

import threading

from django.db import connection


def in_threads(n: int, fn) -> list:
    """Run fn(0..n-1) in n threads released together (each with its own database connection); return each
    result, or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
