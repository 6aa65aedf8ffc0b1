"""The locks of a study's workers: one file lock (the claim beside a SQLite/journal file, and the journal's
append), and a server-side lock for PostgreSQL/MySQL. Each is released by the OS or the server when its
holder dies, kill -9 included, so a dead worker stalls nobody."""

from __future__ import annotations

import os
import threading
import zlib
from typing import Any


class FileLock:
    """An exclusive ``flock`` on a file, opened once and kept open between uses; a thread lock in front of it
    (a ``flock`` shared by the threads of one process excludes none of them). The kernel drops it when the
    process dies.

    A context manager (the claim) and ``acquire() -> True`` / ``release()`` (what Optuna's JournalFileBackend
    calls around each append, as on its own ``BaseJournalFileLock``). Where there is no ``fcntl`` (Windows),
    the ``filelock`` package's lock file stands in."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None
        self._fl: Any = None
        self._thread = threading.Lock()

    def acquire(self) -> bool:
        self._thread.acquire()
        try:
            try:
                import fcntl
            except ImportError:  # Windows
                import filelock

                if self._fl is None:
                    self._fl = filelock.FileLock(self.path, preserve_lock_file=True)
                self._fl.acquire()
                return True
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            return True
        except BaseException:
            self._thread.release()
            raise

    def release(self) -> None:
        try:
            if self._fl is not None:
                self._fl.release()
            elif self._fd is not None:
                import fcntl

                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


def journal_lock(path: str) -> Any:
    """The journal's append lock: a :class:`FileLock` on ``<path>.flock`` (Optuna's default lock file would
    block the other workers for 30 s after one died holding it), or Optuna's lock file where there is no fcntl
    (Windows)."""
    try:
        import fcntl  # noqa: F401
    except ImportError:
        from optuna.storages.journal import JournalFileOpenLock

        return JournalFileOpenLock(path)
    return FileLock(path + ".flock")


class SQLLock:
    """A server-side lock held on its own connection: released on unlock or when the connection drops."""

    def __init__(self, engine: Any, dialect: str, study_name: str):
        self.engine, self.dialect = engine, dialect
        key = zlib.crc32(study_name.encode())
        self.key = key - (1 << 32) if key >= 1 << 31 else key  # PostgreSQL wants a signed int4
        self.name = f"automl:{study_name}"[:64]
        self._conn: Any = None
        self._thread = threading.Lock()

    def __enter__(self) -> None:
        import sqlalchemy

        self._thread.acquire()
        try:
            conn = self.engine.connect()
            if self.dialect == "postgresql":
                conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(1635087471, :k)"), {"k": self.key})
            else:  # mysql
                conn.execute(sqlalchemy.text("SELECT GET_LOCK(:n, -1)"), {"n": self.name})
            conn.commit()
            self._conn = conn
        except BaseException:
            self._thread.release()
            raise

    def __exit__(self, *exc: Any) -> None:
        import sqlalchemy

        conn, self._conn = self._conn, None
        try:
            if self.dialect == "postgresql":
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(1635087471, :k)"), {"k": self.key})
            else:
                conn.execute(sqlalchemy.text("SELECT RELEASE_LOCK(:n)"), {"n": self.name})
            conn.commit()
        finally:
            conn.close()
            self._thread.release()



def lock_for(rdb: Any, study_name: str, path: Any) -> Any:
    """The claim lock of study ``study_name``: the server's lock on PostgreSQL/MySQL (``rdb``: the study's
    RDBStorage, or None), else a file lock beside the storage file ``path``, else (in memory) a thread lock."""
    if rdb is not None and rdb.engine.dialect.name in ("postgresql", "mysql"):
        return SQLLock(rdb.engine, rdb.engine.dialect.name, study_name)
    if path is not None and str(path) != ":memory:":
        return FileLock(f"{path}.claim-lock")
    return threading.Lock()
