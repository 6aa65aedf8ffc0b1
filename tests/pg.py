"""A throw-away PostgreSQL cluster for tests: initdb into a temporary folder, start it on 127.0.0.1 at a free
port, drop it at the end of the session. Root cannot run initdb, so as root the cluster belongs to the
``postgres`` user the Debian package creates (``runuser -u postgres``). Fixtures: ``postgres_server``
(session) and ``postgres_url`` (a fresh database per test)."""

from __future__ import annotations

import glob
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

USER = "automl"


def bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries: Debian's /usr/lib/postgresql/<v>/bin, else initdb on PATH."""
    dirs = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin") if (Path(d) / "initdb").exists()]
    if dirs:
        return max(dirs, key=lambda d: int(re.sub(r"\D", "", d.parent.name) or 0))
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, root: Path, bindir: Path, port: int, password: str, prefix: list[str]):
        self.root, self.bindir, self.port, self.password, self.prefix = root, bindir, port, password, prefix

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}:{self.password}@127.0.0.1:{self.port}/{db}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=self.password, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def start(max_connections: int = 200, timeout: float = 120) -> tuple[Server | None, str]:
    """Start a cluster; (server, "") or (None, why not)."""
    bindir = bin_dir()
    if bindir is None:
        return None, "no PostgreSQL server binaries (initdb); `apt-get install postgresql` (done by .ci/run)"
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="automl-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            return None, "running as root and there is no 'postgres' user to own the cluster"
        runuser = shutil.which("runuser")
        prefix = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-s", "/bin/sh", "-c"]
        os.chown(root, pw.pw_uid, pw.pw_gid)
    password = secrets.token_hex(8)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    if prefix:
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    port = free_port()

    def run(*args: str) -> subprocess.CompletedProcess:
        cmd = [*prefix, *args] if prefix[:1] != ["su"] else [*prefix, shlex.join(args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    r = run(str(bindir / "initdb"), "-D", str(root / "data"), "-U", USER, f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
    if r.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        return None, f"initdb failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}"
    opts = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off -c max_connections={max_connections}"
    r = run(str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-t", "60", "-o", opts, "start")
    if r.returncode != 0:
        log = (root / "log").read_text() if (root / "log").exists() else r.stderr
        shutil.rmtree(root, ignore_errors=True)
        return None, f"pg_ctl start failed: {log.strip().splitlines()[-1:]}"
    return Server(root, bindir, port, password, prefix), ""


@pytest.fixture(scope="session")
def postgres_server():
    server, why = start()
    if server is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests, but no server could be started: {why}")
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: Server) -> str:
    """A fresh, empty database on the session's server, as a postgresql+psycopg:// URL with a password."""
    return postgres_server.url(postgres_server.create_database())
