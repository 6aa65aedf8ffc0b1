"""The exception types users see. Only ``automl.cli`` turns them into messages and exit codes."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = [
    "AutomlError", "Problem", "StudyFileError", "DataError", "SearchSpaceChangedError", "StorageError",
    "TooManyFailuresError", "TrialFailed", "AutomlWarning", "DataChangedWarning", "ReportError", "OutputError",
    "DataWarning", "PortfolioError",
]


class AutomlError(Exception):
    """Base class of every error automl raises on purpose (exit code 1 in the CLI)."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One problem in a study file: where it is and what to do about it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class StudyFileError(AutomlError):
    """A study file (or what it points to) is invalid. Carries every problem found, one line each."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataError(StudyFileError):
    """The data a study file points to is missing, unreadable or does not fit the study."""


class SearchSpaceChangedError(AutomlError):
    """Resuming a study whose search space differs from the stored one."""

    exit_code = 2


class StorageError(AutomlError):
    """A storage URL that cannot be opened, or a study that is not in it."""

    exit_code = 2


class TooManyFailuresError(AutomlError):
    """The run stopped because too many trials failed in a row."""


class TrialFailed(Exception):
    """Raised inside a trial to fail it with a reason (e.g. NaN loss); the study goes on."""


class AutomlWarning(UserWarning):
    """Something the user should know that does not stop the command; the CLI prints it as one line."""


class DataChangedWarning(AutomlWarning):
    """Resuming a study whose data file changed since the study was created."""


class ReportError(AutomlError):
    """A report option that cannot be honoured (e.g. an unknown importance evaluator)."""

    exit_code = 2


class OutputError(AutomlError):
    """A file or folder the command must write cannot be written (no permission, not a folder, ...)."""

    exit_code = 2


class DataWarning(AutomlWarning):
    """The data was used, but differently from how it reads (datetimes as numbers, unseen categories)."""


class PortfolioError(AutomlError):
    """A warm-start portfolio file that is malformed, mined on reserved data, or outside the trainer's space."""


def suggest(name: str, options: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for a close match, else a list of the valid options."""
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; valid: {', '.join(str(o) for o in options)}"
