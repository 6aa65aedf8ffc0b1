"""A study in its storage: open or create it (checking a resumed one against the study file), the automl study
attributes, the warm-start trials queued when it is created, and each worker's sampler seed."""

from __future__ import annotations

import zlib
from typing import Any

import optuna
from optuna.trial import TrialState

from automl import attrs, manifest
from automl import storage as storage_mod
from automl.errors import SearchSpaceChangedError
from automl.report import record as report_record
from automl.spec import Prepared

SPACE_ATTR = attrs.SPACE



def open_or_create(prepared: Prepared, url: str, *, force: bool = False, seed: int | None = None,
                   budget: int | None = None) -> optuna.Study:
    """Resume the study if it exists (checking its search space), else create it (queuing at most ``budget``
    warm-start trials)."""
    from automl.run.loop import claim_lock

    spec = prepared.spec
    storage = storage_mod.open_storage(url)
    if storage_mod.is_grpc(storage):
        from automl.proxy import check_gate

        check_gate(storage, url)  # before anything is written: the budget needs automl's proxy
    search = prepared.search
    sampler = search.new_sampler(spec.seed if seed is None else seed)
    pruner = search.new_pruner()
    fp = search.fingerprint
    name = spec.study_name
    if name not in storage_mod.study_names(storage):
        try:
            study = optuna.create_study(
                storage=storage, study_name=name, directions=prepared.directions, sampler=sampler, pruner=pruner,
            )
        except optuna.exceptions.DuplicatedStudyError:
            pass  # created meanwhile by another worker or machine: resume it below, with every check
        else:
            with claim_lock(study, url):  # workers starting at once on a new study queue its warm start once
                complete_attrs(study, prepared, fp, budget=budget)
            return study
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    base_seed = spec.seed if seed is None else seed
    if base_seed is not None and study.trials:
        # A resumed run must not replay the first run's random draws: derive the seed from the history.
        study.sampler = search.new_sampler(base_seed + len(study.trials))
    stored_dirs = [d.name.lower() for d in study.directions]
    if stored_dirs != prepared.directions:
        raise SearchSpaceChangedError(
            f"{spec.label}: metric: the stored study {name!r} optimizes {stored_dirs}, this file {prepared.directions}; "
            "use another name or storage"
        )
    stored = study.user_attrs.get(SPACE_ATTR)
    if stored is not None and not force:
        diff = search.changed_since(stored)
        if diff:
            raise SearchSpaceChangedError(
                f"{spec.label}: params.{diff[0]}: the search space changed since the study was created "
                f"({', '.join(diff)}); rename the study, use another storage, or pass --force"
            )
    if force or stored is None:
        study.set_user_attr(SPACE_ATTR, fp)
    if COMPLETE_ATTR not in study.user_attrs:
        # Killed between creating the study and writing its attributes (or made by plain Optuna): finish it.
        with claim_lock(study, url):
            complete_attrs(study, prepared, fp, budget=budget)
    manifest.on_resume(study, prepared)  # warns if the data file changed; records this run's manifest
    report_record.on_resume(study, prepared)  # metric names, versions, settings, data facts an older study lacks
    return study



#: Written last when a study is created, so a study without it was left half-created (see complete_attrs).
COMPLETE_ATTR = attrs.COMPLETE


def complete_attrs(study: optuna.Study, prepared: Prepared, fp: Any, *, budget: int | None = None) -> None:
    """Write the automl study attributes the study lacks, then the ``automl:complete`` marker.

    Optuna writes each attribute on its own, so a kill between creating a study and its last attribute
    leaves a study without some of them; the next run calls this again and completes it (attributes already
    there, such as an older data fingerprint, are kept so their checks still apply)."""
    have = study.user_attrs
    for k, v in {SPACE_ATTR: fp, **study_attrs(prepared)}.items():
        if k not in have:
            study.set_user_attr(k, v)
    report_record.on_create(study, prepared)  # what the report shows: metric names (Optuna's), settings, data facts
    if all(t.state == TrialState.WAITING for t in study.get_trials(deepcopy=False)):
        enqueue_warm_start(prepared, study, budget=budget)  # queued once, before any trial ran (a study run elsewhere keeps its own)
    study.set_user_attr(COMPLETE_ATTR, True)



WARM_ATTR = attrs.WARM_START  # on a trial: where its parameters came from; on the study: how many were queued


def enqueue_warm_start(prepared: Prepared, study: optuna.Study, *, budget: int | None = None) -> int:
    """Queue the study's warm-start trials (``prepared.search.warm_start``: the trainer's defaults and mined
    portfolio, already restricted to the study's space) as its first trials, each tagged with
    ``automl:warm_start``; the sampler takes over after them.

    Done once, when the study is created (a resume never re-queues). At most ``budget`` are queued, so a short
    study leaves none waiting (the rest of the portfolio is not queued later: a resume hands over to the sampler)."""
    if study.user_attrs.get(WARM_ATTR) is not None:
        return 0
    queued = prepared.search.warm_start[:budget] if budget is not None else prepared.search.warm_start
    for tag, params in queued:
        study.enqueue_trial(params, user_attrs={WARM_ATTR: tag}, skip_if_exists=True)
    study.set_user_attr(WARM_ATTR, len(queued))
    return len(queued)



def study_attrs(prepared: Prepared) -> dict[str, Any]:
    from automl._version import __version__

    spec = prepared.spec
    return {
        attrs.VERSION: __version__,
        attrs.MODEL: spec.model,
        attrs.METRIC: [m.name for m in prepared.metrics],
        attrs.TASK: prepared.task,
        attrs.DATA: str(spec.data.path),
        attrs.DATA_FINGERPRINT: getattr(prepared.data, "fingerprint", ""),
        # The stored copy of the study file, with the passwords of any URL in it (storage:) masked.
        attrs.STUDY_FILE: storage_mod.redact_obj(spec.model_dump(mode="json", exclude_none=True)),
        manifest.MANIFEST_ATTR: manifest.build(spec, prepared.data),
    }



def derive_seed(seed: int | None, index: int) -> int | None:
    """Worker ``index``'s sampler seed: the study seed for worker 0, a fixed mix of both for the others."""
    if seed is None:
        return None
    if index == 0:
        return seed
    return zlib.crc32(f"{seed}:{index}".encode()) & 0x7FFFFFFF



def resume_seed(seed: int | None, study: optuna.Study) -> int | None:
    """The run's base sampler seed: the study file's, offset by the trials the study already holds, so a
    resumed run (single or ``--jobs N``) does not replay the first run's random draws."""
    if seed is None:
        return None
    n = len(study.get_trials(deepcopy=False))
    return seed + n if n else seed



def load_for_worker(prepared: Any, url: str, index: int, seed: int | None = None) -> optuna.Study:
    """Load the (existing) study with this worker's own sampler seed (derived from ``seed``, by default the
    study file's)."""
    spec = prepared.spec
    base = spec.seed if seed is None else seed
    sampler = prepared.search.new_sampler(derive_seed(base, index))
    pruner = prepared.search.new_pruner()
    return optuna.load_study(study_name=spec.study_name, storage=storage_mod.open_storage(url), sampler=sampler, pruner=pruner)
