"""Atomic writes of the files and folders users keep (reports, exports, predictions).

Everything is written beside its target under a hidden temporary name, then moved into place with one
``rename``: a process killed at any moment leaves the old complete file/folder or the new complete one,
never a mix. A folder replaces an existing one with Linux's ``renameat2(RENAME_EXCHANGE)`` (one atomic
swap); where that call is missing, two renames leave a gap of microseconds in which the target is absent.
Temporaries carry the writer's pid, so the next write beside the same target removes those of dead writers.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from automl.errors import OutputError

_TAG = ".automl-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _prefix(target: Path) -> str:
    return f".{target.name}{_TAG}{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this machine still runs (a zombie its parent has not reaped counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def clean_leftovers(target: Path) -> None:
    """Remove temporaries beside ``target`` left by writers that were killed."""
    head = f".{target.name}{_TAG}"
    with contextlib.suppress(OSError):
        for p in target.parent.iterdir():
            if not p.name.startswith(head):
                continue
            pid = p.name[len(head):].split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        p.unlink()


def _fail(target: Path, e: OSError) -> OutputError:
    why = e.strerror or e.__class__.__name__
    blocker = next((a for a in target.parents if a.exists() and not a.is_dir()), None)
    if blocker is not None:
        why = f"{blocker} is a file, not a folder"
    return OutputError(f"cannot write {target}: {why}; choose a folder you can write to")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file beside it and ``os.replace``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(target)
        fd, tmp = tempfile.mkstemp(prefix=_prefix(target), suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise _fail(target, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _fail(target, e) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the call is unavailable."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (38, 22, 95):  # ENOSYS, EINVAL, EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it replaces ``path`` in one swap.

    An exception inside the block leaves ``path`` as it was and removes the temporary folder.
    """
    target = Path(path).absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(target)
        tmp = Path(tempfile.mkdtemp(prefix=_prefix(target), dir=target.parent))
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as e:
        raise _fail(target, e) from None
    try:
        yield tmp
        for root, _dirs, files in os.walk(tmp):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    os.fsync(f.fileno())
        if not target.exists():
            os.rename(tmp, target)
        elif _exchange(tmp, target):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old folder
        else:
            old = Path(tempfile.mkdtemp(prefix=_prefix(target), dir=target.parent))
            os.rename(target, old / "old")
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(target.parent)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _fail(target, e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
