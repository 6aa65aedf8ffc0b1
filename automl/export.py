"""Export a study's best model and predict with it.

``export``: retrain the chosen trial's configuration on train+valid (the trainer's ``final_params`` turns
the trial's parameters into the refit's, e.g. LightGBM's best iteration without early stopping), score it
once on the test split, and write a directory:

    model/          the trainer's native files (LightGBM: model.txt), written by ``trainer.save_model``
    params.json     the trial's parameters, the fixed ones and what the refit used
    predict.json    what ``predict`` needs: trainer, task, target, features, categories, classes, metrics
    manifest.json   versions, git commit, sha256 of the data and study files, seeds, test scores, and the
                    sha256 of every other file of the export (``predict`` refuses files that do not match)

The directory is written beside the target and swapped into place (automl.fsutil), so a killed export
leaves the previous export or the new one. Feature names are the data file's; ``predict.json`` maps any
that trainers cannot take (LightGBM refuses ``"``, ``,``, ``:``, ...) to the internal names the model uses.

``predict``: load that directory, encode new rows as the training split was, and return predictions with
the original class labels (and one probability column per class for classification).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl import attrs
from automl.data import refit_data  # noqa: F401 - automl.export.refit_data, as before
from automl.errors import AutomlError, DataError, DataWarning, OutputError, Problem

FORMAT_VERSION = 1
MODEL_DIR = "model"
PREDICT_FILE = "predict.json"
PARAMS_FILE = "params.json"
MANIFEST_FILE = "manifest.json"
TEST_ROWS_FILE = "test_rows.csv"
TEST_ROWS_JSONL = "test_rows.jsonl"  # a language-model export's held-back prompts (automl.lm.predict reads them)
EXPORT_ENTRIES = {MODEL_DIR, PREDICT_FILE, PARAMS_FILE, MANIFEST_FILE, TEST_ROWS_FILE, TEST_ROWS_JSONL}
#: The task of language-model exports (automl.lm.data.TASK): predict reads and writes JSONL of prompts.
LM_TASK = "lm"
#: How ``manifest.json`` names the model its ``test_scores`` belong to (the run's own test score is of the
#: best trial's model trained on the train split only).
TEST_SCORES_OF = "refit on train+valid"


class ExportError(AutomlError):
    """The study cannot be exported (no finished trial, unknown trial, trainer without save/load)."""

    exit_code = 2


@dataclass
class Exported:
    directory: Path
    trial: int  # the exported trial; of an ensemble, its heaviest member
    params: dict[str, Any]
    test_scores: dict[str, float] = field(default_factory=dict)
    valid_values: dict[str, float] = field(default_factory=dict)
    ensemble: list[tuple[int, float]] | None = None  # [(trial number, weight)] when an ensemble was exported


def _plain(v: Any) -> Any:
    """numpy scalars -> Python scalars, so labels and categories survive JSON."""
    return v.item() if hasattr(v, "item") else v


def choose_trial(study: Any, number: int | None = None) -> Any:
    """The trial to export: ``number`` if given, else the best trial (multi-objective: the Pareto-optimal
    trial that is best on the first metric)."""
    from optuna.trial import TrialState

    if number is not None:
        for t in study.get_trials(deepcopy=False):
            if t.number == number:
                if t.state != TrialState.COMPLETE:
                    raise ExportError(f"trial {number} of study {study.study_name!r} is {t.state.name}, not COMPLETE")
                return t
        raise ExportError(f"study {study.study_name!r} has no trial {number}")
    try:
        if len(study.directions) == 1:
            return study.best_trial
        front = study.best_trials
    except ValueError as e:
        if "feasible" in str(e):
            raise ExportError(f"study {study.study_name!r} has no trial that meets its constraints; loosen them, run "
                              "more trials, or export one with --trial N") from None
        front = []
    if not front:
        raise ExportError(f"study {study.study_name!r} has no completed trial yet; run it first")
    sign = 1 if study.directions[0].name == "MINIMIZE" else -1
    return min(front, key=lambda t: (sign * t.values[0], t.number))




def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, default=_plain) + "\n", encoding="utf-8")


def raw_rows(data: Any, split: str = "test") -> pd.DataFrame:
    """A split's rows as they were in the data file (category codes back to values, the file's column
    names, the target decoded; datetimes stay seconds since 1970 UTC, which ``predict`` accepts)."""
    part = getattr(data, split)
    X = part.X.copy()
    for col in data.categories:
        X[col] = X[col].astype("object")
    X.columns = [data.user_name(c) for c in X.columns]
    y = part.y if not data.classes else np.asarray(data.classes, dtype=object)[part.y]
    X[data.target] = y
    if getattr(part, "w", None) is not None and getattr(data, "weight_column", None):
        X[data.weight_column] = part.w  # so that predicting these rows reproduces the weighted test score
    return X


def file_hashes(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory`` except the manifest, by '/'-separated relative path."""
    from automl.manifest import sha256

    return {
        p.relative_to(directory).as_posix(): sha256(p) or ""
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.relative_to(directory).as_posix() != MANIFEST_FILE
    }


def check_target_folder(out: Path) -> None:
    """Refuse to replace a file, or a folder holding anything but a previous export's files."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file; give a folder for the export")
    if out.is_dir():
        try:
            foreign = sorted(p.name for p in out.iterdir() if p.name not in EXPORT_ENTRIES)
        except OSError as e:
            raise OutputError(f"cannot read {out}: {e.strerror}; choose a folder you can write to") from None
        if foreign:
            raise OutputError(f"{out} holds files that are not part of an export ({', '.join(foreign[:5])}); "
                              "export into a new or empty folder, or a previous export's folder")


def export(
    spec: Any,
    out_dir: str | Path,
    *,
    storage: str | None = None,
    trial: int | None = None,
    test_rows: bool = False,
    prepared: Any = None,
    refits: dict[int, Any] | None = None,
    ensemble: bool | None = None,
    fitted_ensemble: Any = None,
) -> Exported:
    """Retrain a study's best (or given) trial on train+valid, score it on test, and write ``out_dir``.

    ``prepared`` (the study file already prepared) and ``refits`` ({trial number: fit result on train+valid},
    from :func:`automl.run.session.record_test_scores`) let ``automl run --export`` skip loading and fitting again.

    ``ensemble``: None exports the study's ensemble (automl.ensemble) when the run chose one (it beat the best
    trial on validation) and no ``trial`` is given; True requires it; False exports the best trial alone.
    ``fitted_ensemble``: the run's ensemble with its members already refit."""
    from automl import ensemble as ensemble_mod
    from automl import manifest
    from automl import storage as storage_mod
    from automl.cpu import threads_per_worker
    from automl.spec import prepare
    from automl.trainers.base import FitContext

    prepared = prepared if prepared is not None else prepare(spec)
    url = storage_mod.resolve_url(storage, spec)
    study = storage_mod.load_study(storage_mod.open_storage(url, must_exist=True), spec.study_name, url)
    ens = None
    if ensemble is not False and trial is None:
        ens = fitted_ensemble if fitted_ensemble is not None else ensemble_mod.stored(study)
    if ensemble and trial is not None:
        raise ExportError("--ensemble exports the study's ensemble, --trial one trial: give one of them")
    if ensemble and ens is None:
        raise ExportError(f"study {study.study_name!r} has no ensemble (none beat its best trial on validation, or the "
                          "study is not cross-validated); export without --ensemble")
    if ens is not None:
        done = _export_ensemble(spec, out_dir, study, url, prepared, ens, refits, test_rows)
        if done is not None:
            return done
        if ensemble:
            raise ExportError("the study's ensemble, refit on train+valid, exceeds its constraints; export without --ensemble")
    chosen = choose_trial(study, trial)
    trainer, data = prepared.trainer, prepared.data
    stored = attrs.read(study).data_fingerprint
    if stored and getattr(data, "fingerprint", "") and stored != data.fingerprint:
        import warnings

        from automl.errors import DataChangedWarning

        warnings.warn(DataChangedWarning(
            f"{spec.label}: data.path: {spec.data.path} changed since study {study.study_name!r} was created; "
            "the export is trained and scored on the file as it is now"), stacklevel=2)
    if getattr(type(trainer), "save_model", None) in (None, _base_hook("save_model")):
        raise ExportError(f"trainer {trainer.name!r} cannot export models (it defines no save_model/load_model)")
    out = Path(out_dir)
    check_target_folder(out)
    params = {**prepared.fixed, **chosen.params}
    final = trainer.final_params(params, chosen.user_attrs)
    merge = getattr(trainer, "refit_data", None) or refit_data
    full = merge(data)
    ctx = FitContext(metric=prepared.metrics[0], task=prepared.task, threads=threads_per_worker(1),
                     seed=spec.seed or 0)
    # `automl run --export` hands over the refit its test score was measured on (same params, data and seed).
    result = (refits or {}).get(chosen.number) or trainer.fit(final, full, lambda *a, **k: None, ctx)
    limits = getattr(spec, "constraints", None)
    measured: dict[str, float] = {}
    if limits:
        from automl import constraints

        # The refit (on more rows) is measured again: a model over a limit is never handed over unasked.
        measured = constraints.measure(limits, trainer, result, full.train.X)
        over = {n: v for n, v in constraints.excess(limits, measured).items() if v > 0}
        if over and trial is None:
            nxt = _next_feasible(study, chosen, prepared)
            if nxt is None:
                raise ExportError("the best feasible trial's refit exceeds " + ", ".join(
                    f"{n} (measured {measured[n]:g}, max {limits[n].max:g})" for n in over)
                    + "; no other feasible trial is left to try: loosen the constraint or export with --trial N")
            return export(spec, out_dir, storage=storage, trial=nxt, test_rows=test_rows, prepared=prepared,
                          refits=refits, ensemble=False)
    scores: dict[str, float] = {}
    if getattr(full, "test", None) is not None:
        values = trainer.evaluate(result, full, "test", prepared.metrics)
        scores = {m.name: float(v) for m, v in zip(prepared.metrics, values, strict=True) if math.isfinite(v)}

    from automl.fsutil import atomic_folder

    names = [m.name for m in prepared.metrics]
    valid_values = dict(zip(names, chosen.values, strict=True))
    with atomic_folder(out) as tmp:
        (tmp / MODEL_DIR).mkdir()
        trainer.save_model(result, tmp / MODEL_DIR)
        _write_json(tmp / PARAMS_FILE, {"trial": chosen.number, "params": dict(chosen.params),
                                        "fixed": prepared.fixed, "final": final})
        _write_json(tmp / PREDICT_FILE, _predict_info(spec, prepared, names))
        if test_rows and full.test is not None and data.task == LM_TASK:
            (tmp / TEST_ROWS_JSONL).write_text("".join(json.dumps({"prompt": e.prompt, "completion": e.completion},
                                                                  ensure_ascii=False) + "\n" for e in data.test.examples),
                                               encoding="utf-8")
        elif test_rows and full.test is not None:
            raw_rows(data).to_csv(tmp / TEST_ROWS_FILE, index=False)
        _write_json(tmp / MANIFEST_FILE, manifest.build(
            spec, data, trial=chosen.number, storage=storage_mod.mask(url), valid_values=valid_values,
            test_scores=scores, test_scores_of=TEST_SCORES_OF,
            test_rows=len(full.test) if full.test is not None else 0,
            train_rows=len(full.train), result_info={k: _plain(v) for k, v in result.info.items()},
            **({"constraints": {"measured": measured, "max": {n: c.max for n, c in limits.items()}}} if limits else {}),
            files=file_hashes(tmp),
        ))
    return Exported(out, chosen.number, final, scores, valid_values)


def _next_feasible(study: Any, after: Any, prepared: Any) -> int | None:
    """The next feasible complete trial by value after ``after`` (single objective), or None."""
    from optuna.trial import TrialState

    from automl.constraints import feasible

    if len(study.directions) > 1:
        return None
    sign = -1 if prepared.metrics[0].greater_is_better else 1
    ranked = sorted((t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if feasible(t)),
                    key=lambda t: (sign * t.value, t.number))
    numbers = [t.number for t in ranked]
    i = numbers.index(after.number) + 1 if after.number in numbers else 0
    return numbers[i] if i < len(numbers) else None


def _predict_info(spec: Any, prepared: Any, names: list[str]) -> dict[str, Any]:
    """What ``predict`` needs besides the model: the trainer, the task and, for a table, its columns (the file's
    names), their kinds, categories and classes."""
    data, trainer = prepared.data, prepared.trainer
    info = {"format_version": FORMAT_VERSION, "trainer": trainer.name, "model": spec.model, "task": data.task}
    if getattr(trainer, "data_kind", "tabular") != "tabular":  # JSONL prompts: no columns, no classes
        return {**info, "data_kind": trainer.data_kind, "classes": None, "metrics": names}
    user = getattr(data, "user_name", lambda c: c)
    return {
        **info,
        "target": data.target,
        "features": [user(c) for c in data.features],
        "internal_names": {user(c): c for c in data.features if user(c) != c},
        "numeric": [user(c) for c in data.features if c not in data.categories],
        "datetimes": [user(c) for c in getattr(data, "datetimes", [])],
        "categories": {user(k): [_plain(v) for v in cats] for k, cats in data.categories.items()},
        "classes": [_plain(c) for c in data.classes] if data.classes else None,
        "metrics": names,
        "id": getattr(data, "id_column", None),
        "weight": _weight_name(data),
    }


def _weight_name(data: Any) -> str | None:
    return getattr(data, "weight_column", None)


def _member_dir(number: int) -> str:
    return f"trial-{number}"


def _export_ensemble(spec: Any, out_dir: str | Path, study: Any, url: str, prepared: Any, ens: Any,
                     refits: dict[int, Any] | None, test_rows: bool) -> Exported | None:
    """Write the study's ensemble: each member refit on train+valid under ``model/trial-N/``, the weights in
    ``predict.json`` (``ensemble``), the members' parameters in ``params.json``."""
    from automl import ensemble as ensemble_mod
    from automl import manifest
    from automl import storage as storage_mod
    from automl.fsutil import atomic_folder

    trainer, data = prepared.trainer, prepared.data
    if not ensemble_mod.exportable(trainer):
        raise ExportError(f"trainer {trainer.name!r} cannot export models (it defines no save_model/load_model)")
    out = Path(out_dir)
    check_target_folder(out)
    ensemble_mod.refit(prepared, study, ens, refits)
    full = refit_data(data)
    limits = getattr(spec, "constraints", None)
    if limits:
        from automl import constraints

        total = {n: 0.0 for n in limits}
        for number, _w in ens.members:
            for n, v in constraints.measure(limits, trainer, ens.results[number], full.train.X).items():
                total[n] += v
        if any(v > 0 for v in constraints.excess(limits, total).values()):
            return None  # the members together are over a limit: the best feasible trial alone instead
    scores: dict[str, float] = {}
    if getattr(full, "test", None) is not None:
        pred = ensemble_mod.predict(trainer, ens, full.test.X)
        values = {m.name: float(m.score(prepared.task, full.test.y, pred, full.test.w)) for m in prepared.metrics}
        scores = {k: v for k, v in values.items() if math.isfinite(v)}
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    names = [m.name for m in prepared.metrics]
    members = []
    for number, weight in ens.members:
        t = by_number[number]
        params = {**prepared.fixed, **t.params}
        members.append({"trial": number, "weight": weight, "params": dict(t.params),
                        "final": trainer.final_params(params, t.user_attrs), "valid": t.value})
    with atomic_folder(out) as tmp:
        (tmp / MODEL_DIR).mkdir()
        for number, _w in ens.members:
            d = tmp / MODEL_DIR / _member_dir(number)
            d.mkdir()
            trainer.save_model(ens.results[number], d)
        _write_json(tmp / PARAMS_FILE, {"ensemble": members, "fixed": prepared.fixed})
        info = _predict_info(spec, prepared, names)
        info["ensemble"] = [{"trial": n, "weight": w, "dir": _member_dir(n)} for n, w in ens.members]
        _write_json(tmp / PREDICT_FILE, info)
        if test_rows and full.test is not None:
            raw_rows(data).to_csv(tmp / TEST_ROWS_FILE, index=False)
        _write_json(tmp / MANIFEST_FILE, manifest.build(
            spec, data, trial=ens.members[0][0], storage=storage_mod.mask(url),
            valid_values={names[0]: ens.valid}, test_scores=scores, test_scores_of=TEST_SCORES_OF,
            test_rows=len(full.test) if full.test is not None else 0, train_rows=len(full.train),
            ensemble={"members": [{"trial": n, "weight": w} for n, w in ens.members],
                      "best_single": {"trial": ens.best_single[0], "valid": ens.best_single[1]}},
            files=file_hashes(tmp),
        ))
    return Exported(out, ens.members[0][0], members[0]["final"], scores, {names[0]: ens.valid},
                    ensemble=list(ens.members))


def _base_hook(name: str) -> Any:
    from automl.trainers.base import TabularTrainer

    return getattr(TabularTrainer, name)


@dataclass
class Loaded:
    """An exported model, ready to predict."""

    directory: Path
    info: dict[str, Any]
    trainer: Any
    result: Any

    @property
    def task(self) -> str:
        return self.info["task"]

    @property
    def classes(self) -> list[Any] | None:
        return self.info.get("classes")


def load(directory: str | Path) -> Loaded:
    """Read an export directory back (the trainer that wrote it must be installed)."""
    from automl import trainers

    d = Path(directory)
    path = d / PREDICT_FILE
    if not path.exists():
        raise ExportError(f"{d} is not an automl export (no {PREDICT_FILE}); create one with `automl export`")
    verify(d)
    info = json.loads(path.read_text(encoding="utf-8"))
    if info.get("format_version", 0) > FORMAT_VERSION:
        raise ExportError(f"{d} was written by a newer automl (format {info['format_version']}); upgrade automl")
    try:
        trainer = trainers.get(info["trainer"])
    except KeyError:
        raise ExportError(f"{d} needs trainer {info['trainer']!r}, which is not installed") from None
    if info.get("ensemble"):
        from automl.ensemble import Ensemble

        members = [(int(m["trial"]), float(m["weight"])) for m in info["ensemble"]]
        ens = Ensemble(members, float("nan"), (members[0][0], float("nan")))
        ens.results = {n: trainer.load_model(d / MODEL_DIR / _member_dir(n)) for n, _w in members}
        return Loaded(d, info, trainer, ens)
    return Loaded(d, info, trainer, trainer.load_model(d / MODEL_DIR))


def verify(d: Path) -> None:
    """Refuse an export whose files do not belong together: each file must match the sha256 that
    ``manifest.json`` recorded when the export was written (exports from before those hashes pass)."""
    try:
        manifest = json.loads((d / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{d} has no {MANIFEST_FILE}; the export is incomplete: export it again") from None
    except (OSError, ValueError) as e:
        raise ExportError(f"{d / MANIFEST_FILE} cannot be read ({str(e).splitlines()[0]}); export again") from None
    recorded = manifest.get("files") if isinstance(manifest, dict) else None
    if recorded is None:
        return
    now = file_hashes(d)
    bad = sorted(n for n in set(recorded) | set(now) if recorded.get(n) != now.get(n))
    if bad:
        raise ExportError(f"{d}: {', '.join(bad[:5])} do(es) not match {MANIFEST_FILE} (changed, missing or added "
                          "since the export was written); the files do not belong together: export again")


def prepare_rows(loaded: Loaded, X: pd.DataFrame, label: str = "data") -> pd.DataFrame:
    """Check the columns (the data file's names) and encode them exactly as the training split was;
    returns the frame with the names the model was trained with."""
    import warnings

    from automl.data import datetime_seconds, encode_features

    info = loaded.info
    X = X.rename(columns=str)
    missing = [c for c in info["features"] if c not in X.columns]
    if missing:
        raise DataError([Problem(label, "columns", f"missing feature column(s) {', '.join(map(repr, missing))}; "
                                                   f"the model needs {', '.join(info['features'])}")])
    dates = set(info.get("datetimes", []))
    problems = [
        Problem(label, f"columns.{c}", f"must be numeric, as in training (got {X[c].dtype} values such as {X[c].dropna().iloc[0]!r})")
        for c in info["numeric"]
        if c not in dates and not pd.api.types.is_numeric_dtype(X[c]) and X[c].notna().any()
    ]
    X = X[info["features"]].copy()
    for c in dates:
        try:
            X[c] = datetime_seconds(X[c])
        except (ValueError, TypeError) as e:
            problems.append(Problem(label, f"columns.{c}", f"must hold dates, as in training ({str(e).splitlines()[0]})"))
    if problems:
        raise DataError(problems)
    for c in info["numeric"]:
        if c not in dates and not pd.api.types.is_numeric_dtype(X[c]):  # an all-empty column reads as text
            X[c] = pd.to_numeric(X[c], errors="coerce")
    unseen = []
    for c, cats in info["categories"].items():  # a value unseen in training is missing to the model
        new = X[c].notna() & ~X[c].isin(cats)
        if new.any():
            unseen.append(f"{c!r} {int(new.sum())} row(s) (e.g. {X[c][new].iloc[0]!r})")
        X[c] = X[c].astype("object").where(~new & X[c].notna(), None)
    if unseen:
        warnings.warn(DataWarning(f"{label}: categories never seen in training, predicted as missing values: "
                                  + "; ".join(unseen)), stacklevel=3)
    X = encode_features(X, info["categories"])
    return X.rename(columns=info.get("internal_names", {}))


def predict_frame(loaded: Loaded, X: pd.DataFrame, label: str = "data") -> pd.DataFrame:
    """Predictions for the rows of ``X``: ``prediction`` (original labels for classification) and, for
    classification, ``proba_<label>`` per class."""
    from automl.metrics import BINARY, MULTICLASS

    Xe = prepare_rows(loaded, X, label)
    from automl.ensemble import Ensemble, predict

    if isinstance(loaded.result, Ensemble):
        raw = predict(loaded.trainer, loaded.result, Xe)
    else:
        raw = np.asarray(loaded.trainer.predict(loaded.result, Xe), dtype=float)
    if loaded.task == BINARY:
        proba = np.column_stack([1 - raw, raw])
        idx = (raw >= 0.5).astype(int)  # the threshold automl.metrics uses for labels
    elif loaded.task == MULTICLASS:
        proba = raw
        idx = raw.argmax(axis=1)
    else:
        return pd.DataFrame({"prediction": raw}, index=X.index)
    classes = loaded.classes
    out = pd.DataFrame({"prediction": np.asarray(classes, dtype=object)[idx]}, index=X.index)
    for i, c in enumerate(classes):
        out[f"proba_{c}"] = proba[:, i]
    return out


def model_input(loaded: Loaded, predictions: pd.DataFrame) -> np.ndarray:
    """Turn a predictions frame back into what ``Metric.score`` takes (values or probabilities)."""
    from automl.metrics import BINARY, MULTICLASS

    if loaded.task == BINARY:
        return predictions[f"proba_{loaded.classes[1]}"].to_numpy(dtype=float)
    if loaded.task == MULTICLASS:
        return predictions[[f"proba_{c}" for c in loaded.classes]].to_numpy(dtype=float)
    return predictions["prediction"].to_numpy(dtype=float)


def score(loaded: Loaded, predictions: pd.DataFrame, y_raw: pd.Series, weight: Any = None) -> dict[str, float]:
    """The export's metrics on rows whose target is known (rows with an unknown label are an error); ``weight``:
    the rows' weights (the study's ``data.weight`` column, when the file has it)."""
    from automl.metrics import METRICS

    task = loaded.task
    if loaded.classes:
        lookup = {c: i for i, c in enumerate(loaded.classes)}
        lookup.update({str(c): i for i, c in enumerate(loaded.classes)})
        unknown = sorted({str(v) for v in y_raw if v not in lookup})
        if unknown:
            raise DataError([Problem("data", loaded.info["target"], f"labels not seen in training: {', '.join(unknown[:5])}")])
        y = np.array([lookup[v] for v in y_raw], dtype=int)
    else:
        y = y_raw.to_numpy(dtype=float)
    p = model_input(loaded, predictions)
    return {m: METRICS[m].score(task, y, p, weight) for m in loaded.info.get("metrics", []) if m in METRICS}


def read_rows(path: Path) -> pd.DataFrame:
    """Rows to predict from a .csv or .parquet file (no target column needed)."""
    from automl.data import read_frame

    return read_frame(path, str(path), "")


@dataclass
class Predicted:
    predictions: pd.DataFrame
    scores: dict[str, float]


def predict_file(directory: str | Path, data_path: str | Path, out_path: str | Path | None = None) -> Predicted:
    """Predict the rows of a CSV/Parquet file; write them to ``out_path`` (CSV) if given.

    When the file has the target column, the export's metrics are computed on it too. A language-model export
    reads a JSONL file of prompts and writes JSONL with a completion per row (automl.lm.predict).
    """
    loaded = load(directory)
    if loaded.task == LM_TASK:
        from automl.lm import predict as lm_predict

        rows, scores = lm_predict.predict(loaded, Path(data_path), out_path)
        return Predicted(pd.DataFrame(rows), scores)
    df = read_rows(Path(data_path))
    preds = predict_frame(loaded, df, str(data_path))
    id_col = loaded.info.get("id")
    if id_col and id_col in df.columns:  # the row identifier, passed through next to the predictions
        preds.insert(0, id_col, df[id_col].to_numpy())
    target = loaded.info["target"]
    scores = {}
    if target in df.columns and df[target].notna().all():
        wcol = loaded.info.get("weight")
        weight = df[wcol].to_numpy(dtype=float) if wcol and wcol in df.columns else None
        scores = score(loaded, preds, df[target], weight)
    if out_path is not None:
        from automl.fsutil import atomic_write_text

        atomic_write_text(out_path, preds.to_csv(index=False))
    return Predicted(preds, scores)
