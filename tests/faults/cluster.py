"""A private PostgreSQL cluster for the fault tests: its own data directory in a temporary folder and its own port,
so a test may stop it hard (``pg_ctl stop -m immediate``, as a crash or a restart by operations would) and start it
again without touching the shared server that every other test and engineer uses.

    with private_postgres() as pg:
        url = pg.url("jiaoguan")      # postgres://postgres@127.0.0.1:<port>/jiaoguan, created
        pg.stop(); pg.start()

The server binaries come from JIAOGUAN_PG_BIN (default /usr/lib/postgresql/15/bin). PostgreSQL refuses to run as
root: when the test runs as root, the cluster belongs to the ``postgres`` OS user (runuser). ``available()`` says
why a machine cannot run it, for a skip.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path(os.environ.get("JIAOGUAN_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _owner() -> str | None:
    """The OS user to run the server as: ourselves, or ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return ""
    return "postgres"


def available() -> str | None:
    """None when a private cluster can be started here, else the reason it cannot."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"no PostgreSQL server binaries in {PG_BIN} (set JIAOGUAN_PG_BIN)"
    if _owner() == "":
        return "running as root without a postgres OS user to own the cluster"
    if _owner() and not shutil.which("runuser"):
        return "running as root without runuser"
    return None


class PrivateCluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = _free_port()
        self.owner = _owner()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        if self.owner:
            shutil.chown(self.root, user=self.owner)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        # durable enough for a test (a killed server keeps what the OS has); listen on TCP only, on our port
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                       "fsync = off\nfull_page_writes = off\nmax_connections = 60\nshared_buffers = 32MB\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivateCluster]:
    reason = available()
    if reason:
        raise RuntimeError(reason)
    root = Path(tempfile.mkdtemp(prefix="jg-pg-"))
    cluster = PrivateCluster(root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        for _ in range(20):  # the postmaster may take a moment to let go of its files
            try:
                shutil.rmtree(root)
                break
            except OSError:
                time.sleep(0.1)
