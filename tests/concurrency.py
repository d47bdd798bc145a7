"""Real parallel connections for the PostgreSQL concurrency tests."""
from __future__ import annotations

import threading

from django.db import connection


def in_threads(n: int, fn, *, pool: int | None = None) -> list:
    """Run fn(0..n-1) in n threads released together (each with its own database connection); return each
    result, or the exception it raised. With ``pool``, at most that many hold a connection at once (as a
    connection pool such as pgbouncer would), for rushes larger than the server's connection limit."""
    barrier = threading.Barrier(n)
    gate = threading.BoundedSemaphore(pool or n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        with gate:
            try:
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
