"""A throw-away PostgreSQL server (Debian's, ``pg_config --bindir``): ``initdb`` into a temp dir,
``pg_ctl`` on a free loopback port, trust authentication for its one user. The mirror's tests
and benchmark use it; it can be killed with SIGKILL and started again on the same data.

As root, ``initdb`` and ``postgres`` refuse to run: they run as ``nobody`` (``runuser``), the
data directory theirs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "seamless"


def bindir() -> Path:
    """Where PostgreSQL's programs are, or a RuntimeError saying how to install them."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise RuntimeError("PostgreSQL is not installed (no pg_config): sudo apt-get install postgresql")
    return Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Postgres:
    """One server: :meth:`start`, :meth:`kill` (SIGKILL, as a crash), :meth:`close` (and its files)."""

    def __init__(self, base: str | Path | None = None) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="seamless-pg-", dir=base))
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:  # postgres will not run as root
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            os.chmod(self.root, 0o700)
            self._as = ["runuser", "-u", "nobody", "--"]
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync")

    def _run(self, *cmd: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self._as, *cmd], capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(cmd[0]).name} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}"
            )
        return done

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def database(self, name: str) -> str:
        """A new database on this server; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def start(self, timeout_s: float = 60.0) -> Postgres:
        """Start (again) on the same data; returns once it accepts connections. Right after a
        kill the old server's processes may still hold its shared memory: tried until they are gone."""
        deadline = time.monotonic() + timeout_s
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        while True:
            try:
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
                )
                return self
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """SIGKILL the server (the postmaster; its backends exit once they see it gone)."""
        pid = self.pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.pid() is not None:
            subprocess.run(
                [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
            )

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
