"""The ``automl:*`` study and trial attribute keys, one constant each, and a typed reader of a study's automl
metadata. Every module reads and writes the keys through these names (tests/test_architecture.py greps for
any other ``"automl:..."`` literal), so a key is renamed, or documented, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# -- study user attributes, written when automl creates a study (automl.run.study) ---------------------------
VERSION = "automl:version"  # the automl version that created the study
MODEL = "automl:model"  # the trainer's name (study file ``model:``)
METRIC = "automl:metric"  # the metric names, one per objective
TASK = "automl:task"  # regression | binary | multiclass | a trainer's own task
DATA = "automl:data"  # the data file, as the study file wrote it
DATA_FINGERPRINT = "automl:data_fingerprint"  # sha256 of the data file (a resume warns when it changed)
STUDY_FILE = "automl:study_file"  # the study file's content, URL passwords masked
MANIFEST = "automl:manifest"  # versions, git commit, fingerprints, seeds (automl.manifest)
SPACE = "automl:space"  # the search space's fingerprint (a resume refuses a changed space)
#: Written last when a study is created, so a study without it was left half-created.
COMPLETE = "automl:complete"
#: On a trial: where its parameters came from; on the study: how many warm-start trials were queued.
WARM_START = "automl:warm_start"
# -- written at the end of a run (automl.run.session) --------------------------------------------------------
TEST_SCORES = "automl:test_scores"  # {trial number: {metric: value}} of the best trial(s) on the test split
TEST_SCORES_OF = "automl:test_scores_of"  # which model those scores are of
ENSEMBLE = "automl:ensemble"  # the ensemble chosen at the end of a run (automl.ensemble)
# -- what the report shows, written by automl.report.record (at creation, on resume, at the end) ----------------
VERSIONS = "automl:versions"  # {package: version} of the run that created the study
STEP_UNIT = "automl:step_unit"  # what one reported step is: "boosting round", "epoch", ...
SETTINGS = "automl:settings"  # sampler and pruner (name, class, options), seeds, fixed parameters
DATA_FACTS = "automl:data_facts"  # file, rows per split, columns by kind, CV folds
BASELINES = "automl:baselines"  # {"defaults": {...}, "constant": {...}} scored on the test split
# -- trial system attributes -----------------------------------------------------------------------------------
#: Journal storages have no heartbeat table: workers write time.time() here every heartbeat interval.
HEARTBEAT = "automl:heartbeat"
#: Study system attribute: the run's trial budget, which an ``automl storage-proxy`` claim gate enforces.
BUDGET = "automl:budget"


@dataclass(frozen=True)
class StudyMeta:
    """What automl stored on a study, each field typed and None (or empty) when absent or malformed: a study
    made by plain Optuna reads as ``StudyMeta()`` with ``by_automl`` False."""

    version: str | None = None
    model: str | list[str] | None = None  # a list: model selection across those trainers
    metric: list[str] | None = None
    task: str | None = None
    data: str | None = None
    data_fingerprint: str | None = None
    study_file: dict[str, Any] | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    space: Any = None
    complete: bool = False
    warm_start: int | None = None
    test_scores: dict[int, dict[str, float]] = field(default_factory=dict)
    test_scores_of: str | None = None
    versions: dict[str, Any] | None = None

    @property
    def by_automl(self) -> bool:
        """Whether automl (a run, or ``make_objective``'s first trial) wrote its attributes on the study."""
        return self.model is not None

    def metric_names(self, n_objectives: int) -> list[str] | None:
        """The stored metric names if there is one per objective, else None."""
        return list(self.metric) if self.metric is not None and len(self.metric) == n_objectives else None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def read(source: Any) -> StudyMeta:
    """The automl metadata of ``source``: an Optuna study (its ``user_attrs``) or a mapping of user attributes."""
    ua = source if isinstance(source, dict) else source.user_attrs
    metric = ua.get(METRIC)
    if isinstance(metric, str):
        metric = [metric]
    tests = ua.get(TEST_SCORES)
    warm = ua.get(WARM_START)
    return StudyMeta(
        version=_str(ua.get(VERSION)),
        model=ua.get(MODEL) if isinstance(ua.get(MODEL), (str, list)) else None,
        metric=[str(m) for m in metric] if isinstance(metric, list) else None,
        task=_str(ua.get(TASK)),
        data=_str(ua.get(DATA)),
        data_fingerprint=_str(ua.get(DATA_FINGERPRINT)),
        study_file=ua.get(STUDY_FILE) if isinstance(ua.get(STUDY_FILE), dict) else None,
        manifest=ua.get(MANIFEST) if isinstance(ua.get(MANIFEST), dict) else {},
        space=ua.get(SPACE),
        complete=ua.get(COMPLETE) is True,
        warm_start=warm if isinstance(warm, int) and not isinstance(warm, bool) else None,
        test_scores={int(k): v for k, v in tests.items()} if isinstance(tests, dict) else {},
        test_scores_of=_str(ua.get(TEST_SCORES_OF)),
        versions=ua.get(VERSIONS) if isinstance(ua.get(VERSIONS), dict) else None,
    )
