"""Issue 15 item 12: a storage password never leaves. Every URL form (user:pass, ?password=, an empty user
name, a raw or percent-encoded '@' in the password) is masked, and every byte automl writes is grepped for
it: stdout, stderr, the SQLite file, a pg_dump of a real PostgreSQL database (tests/pg.py), report, export."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from automl import storage as storage_mod
from automl.cli import app

runner = CliRunner()

MASKED = [
    ("postgresql+psycopg://bob:s3cret@db.example:5432/optuna", "postgresql+psycopg://bob:***@db.example:5432/optuna"),
    ("postgresql+psycopg://:s3cret@db.example/optuna", "postgresql+psycopg://:***@db.example/optuna"),
    ("postgresql+psycopg://bob:s3@cr@et@db.example/optuna", "postgresql+psycopg://bob:***@db.example/optuna"),
    ("postgresql+psycopg://bob:s3%40cret@db.example/optuna", "postgresql+psycopg://bob:***@db.example/optuna"),
    ("mysql+pymysql://bob:s3/cret@db.example/optuna", "mysql+pymysql://bob:***@db.example/optuna"),
    ("postgresql+psycopg://bob@db.example/optuna?password=s3cret&sslmode=require",
     "postgresql+psycopg://bob@db.example/optuna?password=***&sslmode=require"),
    ("postgresql+psycopg://db.example/optuna?sslmode=require&user=bob&PASSWORD=s3cret",
     "postgresql+psycopg://db.example/optuna?sslmode=require&user=bob&PASSWORD=***"),
    ("sqlite:////data/a@b.db", "sqlite:////data/a@b.db"),
    ("journal:///runs/x.log", "journal:///runs/x.log"),
]


@pytest.mark.parametrize(("url", "shown"), MASKED)
def test_mask_covers_every_url_form(url, shown):
    assert storage_mod.mask(url) == shown
    assert storage_mod.mask(f"error at {url} (refused)") == f"error at {shown} (refused)"


def _files_bytes(*roots: Path) -> bytes:
    out = b""
    for root in roots:
        paths = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for p in paths:
            out += p.read_bytes()
    return out


def _leaks(pieces: list[str], *blobs: str | bytes) -> dict[str, int]:
    found = {}
    for piece in pieces:
        n = sum((b if isinstance(b, bytes) else b.encode()).count(piece.encode()) for b in blobs)
        if n:
            found[piece] = n
    return found


def _study(tmp_path: Path, regression_csv: Path, storage: str) -> Path:
    doc = {"data": {"path": regression_csv.name, "target": "y"}, "model": "lightgbm", "trials": 2, "seed": 0,
           "storage": storage, "params": {"learning_rate": {"type": "float", "low": 0.05, "high": 0.3}},
           "fixed": {"num_boost_round": 10, "num_threads": 1}}
    path = tmp_path / "sec.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _commands(path: Path, tmp_path: Path, storage: list[str], capfd) -> str:
    """run, best, trials, report (by file and by --storage/--study), export: all their output."""
    texts = []
    flags = storage
    for args in (["run", path, "--no-progress", *flags], ["best", path, *flags], ["trials", path, *flags],
                 ["report", path, "-o", tmp_path / "r.html", *flags],
                 ["export", path, "-o", tmp_path / "ex", *flags]):
        res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert res.exit_code == 0, (args, res.output)
        texts.append(res.output)
    texts.append("".join(capfd.readouterr()))
    return "\n".join(texts)


PW = "Pw" + secrets.token_hex(6)
FILE_FORMS = {
    "userinfo": f"postgresql+psycopg://bob:{PW}@127.0.0.1:1/optuna",
    "empty-user": f"postgresql+psycopg://:{PW}@127.0.0.1:1/optuna",
    "raw-at": f"postgresql+psycopg://bob:{PW}@x{PW[::-1]}@127.0.0.1:1/optuna",
    "query": f"postgresql+psycopg://bob@127.0.0.1:1/optuna?sslmode=disable&password={PW}",
}


@pytest.mark.parametrize("form", list(FILE_FORMS))
def test_a_password_in_the_study_file_is_in_no_byte_written_to_another_storage(form, tmp_path, regression_csv,
                                                                               capfd):
    """The file names a PostgreSQL storage; the run uses SQLite (--storage): the stored study-file copy,
    the report and the export must not carry the file's password."""
    path = _study(tmp_path, regression_csv, FILE_FORMS[form])
    db = tmp_path / "local.db"
    out = _commands(path, tmp_path, ["--storage", f"sqlite:///{db}"], capfd)
    assert "2 trials added" in out
    files = _files_bytes(*tmp_path.glob("local.db*"), tmp_path / "r.html", tmp_path / "ex")
    assert _leaks([PW, PW[::-1]], out, files) == {}
    import optuna

    stored = optuna.load_study(study_name="sec", storage=f"sqlite:///{db}").user_attrs["automl:study_file"]
    assert stored["storage"] == storage_mod.mask(FILE_FORMS[form]) and "***" in stored["storage"]


# -- a real PostgreSQL server ------------------------------------------------------------------------------
def _pg_dump(server, db: str, user: str = "automl", password: str | None = None) -> bytes:
    env = {**os.environ, "PGPASSWORD": password or server.password}
    r = subprocess.run([str(server.bindir / "pg_dump"), "-h", "127.0.0.1", "-p", str(server.port), "-U", user, db],
                       capture_output=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert b"automl:study_file" in r.stdout  # the dump holds the study's attributes
    return r.stdout


def _pg_role(server, password: str) -> str:
    name = "r_" + secrets.token_hex(4)
    with psycopg.connect(host="127.0.0.1", port=server.port, user="automl", password=server.password,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{password}'")
    return name


@pytest.mark.slow
@pytest.mark.parametrize("form", ["userinfo", "query", "encoded-at"])
@pytest.mark.parametrize("where", ["file", "flag"])
def test_no_byte_written_holds_the_postgresql_password(postgres_server, form, where, tmp_path, regression_csv,
                                                       capfd):
    server = postgres_server
    db = server.create_database()
    user, pw = "automl", server.password
    host = f"127.0.0.1:{server.port}"
    if form == "userinfo":
        url = f"postgresql+psycopg://{user}:{pw}@{host}/{db}"
    elif form == "query":
        url = f"postgresql+psycopg://{user}@{host}/{db}?password={pw}"
    else:  # a password with '@', percent-encoded as it must be
        pw = "Pw@" + secrets.token_hex(6)
        user = _pg_role(server, pw)
        url = f"postgresql+psycopg://{user}:{pw.replace('@', '%40')}@{host}/{db}"
    path = _study(tmp_path, regression_csv, url if where == "file" else "sqlite:///unused.db")
    out = _commands(path, tmp_path, ["--storage", url] if where == "flag" else [], capfd)
    res = runner.invoke(app, ["report", "--storage", url, "--study", "sec", "-o", str(tmp_path / "r2.html")])
    assert res.exit_code == 0, res.output
    assert "2 trials added" in out and "***" in out
    dump = _pg_dump(server, db, user, pw)
    files = _files_bytes(tmp_path / "r.html", tmp_path / "r2.html", tmp_path / "ex")
    pieces = [pw, pw.replace("@", "%40")] + [p for p in pw.split("@") if len(p) > 4]
    assert _leaks(pieces, out, res.output, dump, files) == {}
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.slow
@pytest.mark.parametrize("form", ["empty-user", "raw-at"])
def test_urls_that_cannot_connect_do_not_print_their_password(postgres_server, form, tmp_path, regression_csv,
                                                              capfd):
    server = postgres_server
    db = server.create_database()
    pw = server.password if form == "empty-user" else "Pw" + secrets.token_hex(3) + "@" + secrets.token_hex(6)
    userinfo = f":{pw}" if form == "empty-user" else f"automl:{pw}"
    url = f"postgresql+psycopg://{userinfo}@127.0.0.1:{server.port}/{db}"
    for args in (["run", str(_study(tmp_path, regression_csv, url)), "--no-progress"],
                 ["list", "--storage", url], ["best", "--storage", url, "--study", "sec"]):
        res = runner.invoke(app, args, catch_exceptions=False)
        text = res.output + "".join(capfd.readouterr())
        assert res.exit_code == 2, text
        assert text.startswith("error: ") and len(text.strip().splitlines()) == 1, text
        assert "***@127.0.0.1" in text and "Traceback" not in text
        assert _leaks([pw] + [p for p in pw.split("@") if len(p) > 4], text) == {}
    assert not list(tmp_path.glob("*.db"))
