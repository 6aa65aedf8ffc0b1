"""The reproducibility manifest: library versions, the study file's git commit, fingerprints, seeds.

Stored as the study user attribute ``automl:manifest`` at the start of every run and written as
``manifest.json`` by ``automl export``. Versions come from package metadata, so torch is never imported.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from automl import attrs

MANIFEST_ATTR = attrs.MANIFEST
#: Distributions whose versions decide what a study or an exported model does.
PACKAGES = ("automl", "optuna", "optuna-integration", "lightgbm", "torch", "scikit-learn", "numpy", "pandas")


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None when absent), plus python's."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def sha256(path: str | Path) -> str | None:
    """Full sha256 of a file's bytes, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def git_info(path: str | Path) -> dict[str, Any] | None:
    """The commit of the git repository holding ``path`` and whether that file has uncommitted changes.

    None when the file is not in a git work tree (or git is not installed).
    """
    p = Path(path).resolve()
    folder = p if p.is_dir() else p.parent

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--", str(p))
    return {"commit": commit, "dirty": bool(status), "root": git("rev-parse", "--show-toplevel")}


def build(spec: Any, data: Any = None, **extra: Any) -> dict[str, Any]:
    """The manifest of a study spec (and its loaded data): versions, git, fingerprints, seeds.

    ``extra`` items (e.g. ``test_scores``, ``trial``) are added as they are.
    """
    study_file = Path(spec.source) if spec.source else None
    data_path = Path(getattr(data, "path", "") or spec.data_path)
    out: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "git": git_info(study_file) if study_file else None,
        "study": spec.study_name,
        "model": spec.model,
        "study_file": {"path": str(study_file.resolve()) if study_file else None,
                       "sha256": sha256(study_file) if study_file else None},
        "data_file": {"path": str(data_path), "sha256": sha256(data_path)},
        "seeds": {"sampler": spec.seed, "split": spec.data.seed, "trainer": spec.seed or 0},
    }
    out.update(extra)
    return out


def on_resume(study: Any, prepared: Any) -> None:
    """Warn when the data file changed since the study was created; record this run's manifest."""
    import warnings

    from automl.errors import DataChangedWarning

    stored = attrs.read(study).data_fingerprint
    now = getattr(prepared.data, "fingerprint", "")
    if stored and now and stored != now:
        warnings.warn(
            DataChangedWarning(
                f"{prepared.spec.label}: data.path: {prepared.spec.data.path} changed since study "
                f"{study.study_name!r} was created (fingerprint {stored} -> {now}); its trials were scored on the "
                "old data, so old and new values may not compare; use a new study name to start afresh"
            ),
            stacklevel=3,
        )
    study.set_user_attr(MANIFEST_ATTR, build(prepared.spec, prepared.data))
