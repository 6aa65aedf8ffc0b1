"""The contenders: one function each, driving its tuner through that tuner's own documented API.

Every contender tunes LightGBM on the same split with the same metric, trial budget and wall-clock budget, one
thread per fit, and returns a :class:`RunResult`: each evaluation's validation value with its time since the
start, and the test score of its final choice. The baselines share one evaluation function (automl's LightGBM
trainer used as a plain ``lgb.train`` with early stopping on the validation split, no pruning), so they differ
only in the search; automl runs through ``automl.runner`` with its defaults (no ``params``: its own space,
sampler and pruner). LightGBMTuner builds its own ``lgb.train`` calls on Datasets of the same split.

Internal API: trial mode runs automl in-process (runner, studyfile), the peers score with automl's metric table and
LightGBM metric names (metrics, trainers.lightgbm), and the wall-clock study file is checked against the published
schema (schema).
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A typical hand-written LightGBM space: Optuna's own example (optuna-examples lightgbm_simple.py) plus the
#: learning rate. (name, kind, low, high, log)
TYPICAL_SPACE: list[tuple[str, str, float, float, bool]] = [
    ("learning_rate", "float", 0.01, 0.3, True),
    ("lambda_l1", "float", 1e-8, 10.0, True),
    ("lambda_l2", "float", 1e-8, 10.0, True),
    ("num_leaves", "int", 2, 256, False),
    ("feature_fraction", "float", 0.4, 1.0, False),
    ("bagging_fraction", "float", 0.4, 1.0, False),
    ("bagging_freq", "int", 1, 7, False),
    ("min_child_samples", "int", 5, 100, False),
]


@dataclass
class Budget:
    trials: int
    timeout: float  # seconds of wall clock per run
    rounds: int  # num_boost_round of every fit
    early_stopping: int  # early_stopping_rounds of every fit


@dataclass
class RunResult:
    contender: str
    task: str
    seed: int
    evals: list[dict[str, Any]] = field(default_factory=list)  # {"t": s, "value": v or None (pruned), "state"}
    test: float | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why the contender did not run
    budget: float | None = None  # wall-clock mode: the run's time limit B (None: a one-fit baseline, every B)

    @property
    def best_valid(self) -> float | None:
        vals = [e["value"] for e in self.evals if e["value"] is not None]
        return min(vals) if vals else None


class Evaluator:
    """One LightGBM fit per call: the validation value; remembers the best model to score on test once."""

    def __init__(self, prepared: Any, budget: Budget, seed: int):
        self.trainer, self.data, self.metric = prepared.trainer, prepared.data, prepared.metrics[0]
        self.task = prepared.task
        self.budget, self.seed = budget, seed
        self.evals: list[dict[str, Any]] = []
        self.best: tuple[float, Any] | None = None
        self.t0 = time.perf_counter()

    def fit(self, params: dict[str, Any]) -> Any:
        from automl.trainers import FitContext

        p = {**params, "num_threads": 1, "num_boost_round": self.budget.rounds,
             "early_stopping_rounds": self.budget.early_stopping}
        ctx = FitContext(metric=self.metric, task=self.task, threads=1, seed=self.seed)
        return self.trainer.fit(p, self.data, lambda *a, **k: None, ctx)

    def __call__(self, params: dict[str, Any]) -> float:
        result = self.fit(params)
        value = float(self.trainer.evaluate(result, self.data, "valid", [self.metric])[0])
        self.record(value)
        if math.isfinite(value) and (self.best is None or value < self.best[0]):
            self.best = (value, result)
        return value

    def record(self, value: float | None, state: str = "complete") -> None:
        self.evals.append({"t": round(time.perf_counter() - self.t0, 4), "value": value, "state": state})

    def test_of(self, result: Any) -> float:
        return float(self.trainer.evaluate(result, self.data, "test", [self.metric])[0])

    def finish(self, out: RunResult) -> RunResult:
        out.evals = self.evals
        out.seconds = round(time.perf_counter() - self.t0, 3)
        if self.best is not None:
            out.test = self.test_of(self.best[1])
        return out


def _check_minimize(prepared: Any) -> None:
    if prepared.metrics[0].direction != "minimize":
        raise ValueError("the suite compares minimized metrics (rmse, logloss)")


# -- Optuna samplers on the typical space ------------------------------------------------------------------
def _optuna_suggest(trial: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind, low, high, log in TYPICAL_SPACE:
        if kind == "int":
            out[name] = trial.suggest_int(name, int(low), int(high), log=log)
        else:
            out[name] = trial.suggest_float(name, low, high, log=log)
    return out


def _optuna(make_sampler: Callable[[int], Any]) -> Callable[..., RunResult]:
    def run(name: str, prepared: Any, budget: Budget, seed: int) -> RunResult:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        ev = Evaluator(prepared, budget, seed)
        study = optuna.create_study(direction="minimize", sampler=make_sampler(seed))
        study.optimize(lambda trial: ev(_optuna_suggest(trial)), n_trials=budget.trials, timeout=budget.timeout)
        return ev.finish(RunResult(name, "", seed))

    return run


def _tpe(seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


def _random(seed: int) -> Any:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def _gp(seed: int) -> Any:
    import optuna

    return optuna.samplers.GPSampler(seed=seed)


def _cmaes(seed: int) -> Any:
    import optuna

    return optuna.samplers.CmaEsSampler(seed=seed)


# -- hyperopt ---------------------------------------------------------------------------------------------
def run_hyperopt(name: str, prepared: Any, budget: Budget, seed: int) -> RunResult:
    import numpy as np
    from hyperopt import STATUS_OK, Trials, fmin, hp, tpe

    space = {}
    for pname, kind, low, high, log in TYPICAL_SPACE:
        if kind == "int":
            space[pname] = hp.quniform(pname, low, high, 1)
        elif log:
            space[pname] = hp.loguniform(pname, math.log(low), math.log(high))
        else:
            space[pname] = hp.uniform(pname, low, high)
    ints = {n for n, kind, *_ in TYPICAL_SPACE if kind == "int"}
    ev = Evaluator(prepared, budget, seed)

    def objective(params: dict[str, Any]) -> dict[str, Any]:
        p = {k: int(v) if k in ints else float(v) for k, v in params.items()}
        return {"loss": ev(p), "status": STATUS_OK}

    fmin(objective, space, algo=tpe.suggest, max_evals=budget.trials, timeout=budget.timeout, trials=Trials(),
         rstate=np.random.default_rng(seed), show_progressbar=False)
    return ev.finish(RunResult(name, "", seed))


# -- FLAML ------------------------------------------------------------------------------------------------
def run_flaml(name: str, prepared: Any, budget: Budget, seed: int) -> RunResult:
    import warnings

    with warnings.catch_warnings():  # "flaml.automl is not available": we use flaml.tune only
        warnings.simplefilter("ignore", UserWarning)
        from flaml import CFO, tune

    config = {}
    for pname, kind, low, high, log in TYPICAL_SPACE:
        if kind == "int":
            config[pname] = tune.lograndint(int(low), int(high) + 1) if log else tune.randint(int(low), int(high) + 1)
        else:
            config[pname] = tune.loguniform(low, high) if log else tune.uniform(low, high)
    # CFO starts from the cheap corner and grows from there (FLAML's own lgbm space starts at num_leaves=4).
    low_cost = {"num_leaves": 4}
    ev = Evaluator(prepared, budget, seed)

    def evaluate(cfg: dict[str, Any]) -> dict[str, float]:
        return {"loss": ev(dict(cfg))}

    algo = CFO(metric="loss", mode="min", space=config, low_cost_partial_config=low_cost, seed=seed)
    tune.run(evaluate, config=config, metric="loss", mode="min", search_alg=algo, num_samples=budget.trials,
             time_budget_s=budget.timeout, verbose=0)
    return ev.finish(RunResult(name, "", seed))


# -- optuna-integration's LightGBMTuner (stepwise: feature_fraction, num_leaves, bagging, ...) -------------------
class _BudgetReached(Exception):
    pass


def run_lgbm_tuner(name: str, prepared: Any, budget: Budget, seed: int) -> RunResult:
    import lightgbm as lgb
    import optuna
    from optuna_integration.lightgbm import LightGBMTuner

    from automl.trainers.lightgbm import NATIVE

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data, metric = prepared.data, prepared.metrics[0]
    native = NATIVE[metric.name][0][data.task]
    params = {"objective": {"regression": "regression", "binary": "binary", "multiclass": "multiclass"}[data.task],
              "metric": native, "verbosity": -1, "num_threads": 1, "seed": seed, "deterministic": True,
              "force_col_wise": True, "feature_pre_filter": False}
    if data.task == "multiclass":
        params["num_class"] = data.n_classes
    ev = Evaluator(prepared, budget, seed)
    train = lgb.Dataset(data.train.X, data.train.y, free_raw_data=False)
    valid = lgb.Dataset(data.valid.X, data.valid.y, reference=train, free_raw_data=False)

    def record(study: Any, trial: Any) -> None:
        ev.record(trial.value if trial.value is not None else None, trial.state.name.lower())
        # LightGBMTuner has no trial budget of its own: stop after ours. (Count here: ``study`` is the tuner's
        # per-step view, whose ``trials`` holds only the current step's trials.)
        if len(ev.evals) >= budget.trials:
            raise _BudgetReached

    tuner = LightGBMTuner(params, train, num_boost_round=budget.rounds, valid_sets=[valid], valid_names=["valid"],
                          callbacks=[lgb.early_stopping(budget.early_stopping, verbose=False)],
                          time_budget=max(1, int(budget.timeout)), optuna_seed=seed, show_progress_bar=False,
                          optuna_callbacks=[record])
    try:
        tuner.run()
    except _BudgetReached:
        pass
    out = RunResult(name, "", seed)
    best = {k: v for k, v in tuner.best_params.items() if k not in ("metric", "num_threads", "verbosity")}
    refit = ev.fit(best)  # the final choice, refit with the suite's trainer to score it on test
    out.extra["refit_valid"] = float(ev.trainer.evaluate(refit, data, "valid", [metric])[0])
    ev.best = (out.extra["refit_valid"], refit)
    return ev.finish(out)


# -- automl with its defaults -------------------------------------------------------------------------------
def run_automl(name: str, prepared: Any, budget: Budget, seed: int, *, spec: dict[str, Any]) -> RunResult:
    """A study spec without ``params`` through automl.runner (in-memory storage): automl's space, sampler, pruner."""
    from automl import runner, studyfile

    spec = {**spec, **ABLATIONS.get(name, {})}
    prep = runner.prepare(studyfile.parse(spec, "<bench>"))
    out = RunResult(name, "", seed)
    t0 = time.perf_counter()

    def on_trial(study: Any, trial: Any) -> None:
        value = trial.value if trial.state.name == "COMPLETE" else None
        out.evals.append({"t": round(time.perf_counter() - t0, 4), "value": value, "state": trial.state.name.lower()})

    outcome = runner.run(prep, "memory", trials=budget.trials, timeout=budget.timeout, progress=False, on_trial=on_trial)
    out.seconds = round(time.perf_counter() - t0, 3)
    scores = outcome.test_scores
    if scores:
        out.test = float(next(iter(scores.values()))[prep.metrics[0].name])
    out.extra["pruning"] = {"seed": seed, **pruning_savings(outcome.study.trials)}
    return out


def pruning_savings(trials: list[Any]) -> dict[str, Any]:
    """Boosting rounds the pruned trials did not train, estimated from the complete trials' median length."""
    import statistics

    complete = [t.user_attrs.get("rounds_trained") for t in trials if t.state.name == "COMPLETE"]
    complete = [int(r) for r in complete if r]
    pruned = [int(t.user_attrs.get("pruned_at_step", 0)) for t in trials if t.state.name == "PRUNED"]
    trained = sum(complete) + sum(pruned)
    typical = statistics.median(complete) if complete else 0
    saved = sum(max(0.0, typical - r) for r in pruned)
    return {
        "trials": len(trials), "pruned": len(pruned), "rounds_trained": trained, "rounds_saved_est": round(saved, 1),
        "saved_fraction": round(saved / (trained + saved), 4) if trained + saved else 0.0,
    }


#: automl with one default changed (opt-in contenders, ``--contenders automl,automl-nopruner,...``): the
#: ablations that chose the defaults; each is a study-file override, so any of them is also a user's study file.
ABLATIONS: dict[str, dict[str, Any]] = {
    "automl-nopruner": {"pruner": "none"},
    # automl's LightGBM pruning default before the full run (the generic PRUNER_DEFAULTS), called "automl-v0" in
    # benchmarks/results/suite-full.md; "automl-warmup" is what the LightGBM trainer now uses by default.
    "automl-warmup10": {"pruner": {"name": "median", "n_startup_trials": 5, "n_warmup_steps": 10}},
    "automl-warmup": {"pruner": {"name": "median", "n_startup_trials": 10, "n_warmup_steps": 200}},
    "automl-mv": {"pruner": "none", "sampler": {"name": "tpe", "multivariate": True}},
    "automl-mv-warmup": {"pruner": {"name": "median", "n_startup_trials": 10, "n_warmup_steps": 200},
                         "sampler": {"name": "tpe", "multivariate": True}},
}


# -- the table --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[..., RunResult]
    description: str
    needs: str | None = None  # module that must be importable


CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in [
        Contender("automl", run_automl, "automl defaults (study spec without params: its space, TPE, median pruner)"),
        Contender("optuna-tpe", _optuna(_tpe), "Optuna TPESampler (defaults) on a typical hand-written space"),
        Contender("random", _optuna(_random), "Optuna RandomSampler on the typical space"),
        Contender("optuna-gp", _optuna(_gp), "Optuna GPSampler on the typical space"),
        Contender("optuna-cmaes", _optuna(_cmaes), "Optuna CmaEsSampler on the typical space"),
        Contender("hyperopt-tpe", run_hyperopt, "hyperopt fmin(tpe.suggest) on the typical space", "hyperopt"),
        Contender("flaml-cfo", run_flaml, "FLAML tune.run with CFO on the typical space", "flaml"),
        Contender("lgbm-tuner", run_lgbm_tuner, "optuna-integration LightGBMTuner (stepwise), stopped at the trial budget"),
    ]
}
#: The contenders a run uses unless ``--contenders`` names others (the ablations are opt-in).
DEFAULT_CONTENDERS = list(CONTENDERS)
CONTENDERS.update({
    name: Contender(name, run_automl, f"automl with {override} (ablation)") for name, override in ABLATIONS.items()
})


def available(c: Contender) -> str | None:
    """None when the contender can run, else why not."""
    if c.needs and importlib.util.find_spec(c.needs) is None:
        return f"{c.needs} is not installed (pip install -e '.[bench]')"
    return None


# == wall-clock mode (issue 14): what each tool hands over after B seconds, scored on rows it never saw ==========
@dataclass
class WallBudget:
    seconds: float  # the run's time limit B
    rounds: int  # num_boost_round of the tuners' fits (LightGBM's own defaults baseline keeps its 100)
    early_stopping: int  # early_stopping_rounds of the tuners' fits on their validation split or folds


@dataclass
class Split:
    """One task-seed's dev/test split: ``dev_path`` is the file the contenders see; the test rows are scored only.

    ``X_*`` have text columns as pandas categories (categories learned on dev, reused for test: the conversion
    pandas 3 needs before LightGBM); ``y_*`` are the raw target values; ``classes`` are the dev classes, sorted.
    """

    task: str  # regression | binary | multiclass
    metric: str  # rmse | logloss (automl's default for the task)
    target: str
    dev_path: Any  # Path of the dev table (Parquet)
    test_path: Any  # Path of the test rows (Parquet), target included, for `automl predict`
    X_dev: Any
    y_dev: Any
    X_test: Any
    y_test: Any
    classes: list[Any] | None
    work: Any  # a folder for this task-seed's files

    def codes(self, y: Any) -> Any:
        """Class labels -> 0..k-1 in ``classes`` order (classification); the values as floats (regression)."""
        import numpy as np

        if self.classes is None:
            return np.asarray(y, dtype=float)
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup[v] for v in y], dtype=int)

    def score(self, pred: Any, classes: list[Any] | None = None) -> float:
        """The suite's metric on the test rows. ``pred``: values (regression) or class probabilities, one column
        per class in ``classes`` order (default: this split's), reordered here to the split's classes."""
        import numpy as np

        from automl.metrics import METRICS

        p = np.asarray(pred, dtype=float)
        if self.classes is not None:
            if p.ndim == 1:  # P(second class) of a binary model
                p = np.column_stack([1 - p, p])
            if classes is not None:
                col = {str(c): i for i, c in enumerate(classes)}
                p = p[:, [col[str(c)] for c in self.classes]]
            p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)  # float32 probabilities of some tools
            if self.task == "binary":
                p = p[:, 1]
        return METRICS[self.metric].score(self.task, self.codes(self.y_test), p)


def _lgb_params(split: Split, seed: int) -> dict[str, Any]:
    params = {"objective": split.task, "metric": {"regression": "rmse", "binary": "binary_logloss",
                                                  "multiclass": "multi_logloss"}[split.task],
              "verbosity": -1, "num_threads": 1, "seed": seed, "deterministic": True, "force_col_wise": True,
              "feature_pre_filter": False}
    if split.task == "multiclass":
        params["num_class"] = len(split.classes)
    return params


def wall_lgbm_tuner(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """optuna-integration's LightGBMTuner, ``time_budget=B``, on an 80/20 train/valid split of dev (stratified for
    classification, split seed = the run seed), early stopping on valid; its best booster scored on test."""
    import lightgbm as lgb
    import optuna
    from optuna_integration.lightgbm import LightGBMTuner
    from sklearn.model_selection import train_test_split

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = RunResult(name, "", seed)
    t0 = time.perf_counter()
    y = split.codes(split.y_dev)
    tr, va = train_test_split(range(len(y)), test_size=0.2, random_state=seed,
                              stratify=y if split.classes is not None else None)
    train = lgb.Dataset(split.X_dev.iloc[tr], y[tr], free_raw_data=False)
    valid = lgb.Dataset(split.X_dev.iloc[va], y[va], reference=train, free_raw_data=False)

    def record(study: Any, trial: Any) -> None:
        out.evals.append({"t": round(time.perf_counter() - t0, 4), "value": trial.value, "state": trial.state.name.lower()})

    tuner = LightGBMTuner(_lgb_params(split, seed), train, num_boost_round=budget.rounds, valid_sets=[valid],
                          valid_names=["valid"], callbacks=[lgb.early_stopping(budget.early_stopping, verbose=False)],
                          time_budget=max(1, int(budget.seconds)), optuna_seed=seed, show_progress_bar=False,
                          optuna_callbacks=[record])
    tuner.run()
    booster = tuner.get_best_booster()
    out.test = split.score(booster.predict(split.X_test))  # at its early-stopped best iteration
    out.seconds = round(time.perf_counter() - t0, 3)
    out.extra["best_params"] = {k: v for k, v in tuner.best_params.items() if not isinstance(v, (list, dict))}
    return out


def wall_lgbm_tuner_cv(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """optuna-integration's LightGBMTunerCV (5 folds, stratified for classification, ``time_budget=B``), then one
    refit on all of dev with its best params and the CV's best number of rounds, scored on test."""
    import lightgbm as lgb
    import optuna
    from optuna_integration.lightgbm import LightGBMTunerCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = RunResult(name, "", seed)
    t0 = time.perf_counter()
    params = _lgb_params(split, seed)
    dev = lgb.Dataset(split.X_dev, split.codes(split.y_dev), free_raw_data=False)

    def record(study: Any, trial: Any) -> None:
        out.evals.append({"t": round(time.perf_counter() - t0, 4), "value": trial.value, "state": trial.state.name.lower()})

    tuner = LightGBMTunerCV(params, dev, num_boost_round=budget.rounds, nfold=5, stratified=split.classes is not None,
                            seed=seed, callbacks=[lgb.early_stopping(budget.early_stopping, verbose=False)],
                            time_budget=max(1, int(budget.seconds)), optuna_seed=seed, show_progress_bar=False,
                            optuna_callbacks=[record], return_cvbooster=True)
    tuner.run()
    rounds = max(1, int(tuner.get_best_booster().best_iteration))
    final = lgb.train({**params, **tuner.best_params}, lgb.Dataset(split.X_dev, split.codes(split.y_dev)),
                      num_boost_round=rounds)
    out.test = split.score(final.predict(split.X_test))
    out.seconds = round(time.perf_counter() - t0, 3)
    out.extra["refit_rounds"] = rounds
    return out


def wall_lgbm_default(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """One LightGBM fit with LightGBM's own defaults (scikit-learn API: 100 rounds, 31 leaves, rate 0.1) on all of
    dev; it ignores the budget."""
    import lightgbm as lgb

    out = RunResult(name, "", seed)
    t0 = time.perf_counter()
    if split.classes is None:
        model = lgb.LGBMRegressor(n_jobs=1, random_state=seed, verbose=-1).fit(split.X_dev, split.codes(split.y_dev))
        out.test = split.score(model.predict(split.X_test))
    else:
        model = lgb.LGBMClassifier(n_jobs=1, random_state=seed, verbose=-1).fit(split.X_dev, split.codes(split.y_dev))
        out.test = split.score(model.predict_proba(split.X_test))
    out.seconds = round(time.perf_counter() - t0, 3)
    return out


def wall_flaml_zeroshot(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """``flaml.default``'s zero-shot LGBMRegressor/LGBMClassifier (hyperparameters chosen from the data's
    meta-features, one fit) on all of dev; it ignores the budget. Needs ``flaml[autozero]``."""
    from flaml.default import LGBMClassifier, LGBMRegressor

    out = RunResult(name, "", seed)
    t0 = time.perf_counter()
    if split.classes is None:
        model = LGBMRegressor(n_jobs=1, random_state=seed, verbose=-1).fit(split.X_dev, split.codes(split.y_dev))
        out.test = split.score(model.predict(split.X_test))
    else:
        model = LGBMClassifier(n_jobs=1, random_state=seed, verbose=-1).fit(split.X_dev, split.codes(split.y_dev))
        out.test = split.score(model.predict_proba(split.X_test))
    out.seconds = round(time.perf_counter() - t0, 3)
    return out


def wall_flaml(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """``flaml.AutoML().fit(..., time_budget=B, estimator_list=["lgbm"], n_jobs=1)``: FLAML's own LightGBM space,
    low-cost start and default ``eval_method`` (holdout or CV by data size); its model predicts the test rows.
    The evaluations come from FLAML's log file (``flaml.automl.data.get_output_from_log``)."""
    from flaml import AutoML
    from flaml.automl.data import get_output_from_log

    out = RunResult(name, "", seed)
    log = split.work / f"flaml-{budget.seconds:g}-{seed}.log"
    t0 = time.perf_counter()
    automl = AutoML()
    automl.fit(split.X_dev, split.y_dev, task="regression" if split.classes is None else "classification",
               metric="rmse" if split.metric == "rmse" else "log_loss", time_budget=budget.seconds,
               estimator_list=["lgbm"], n_jobs=1, seed=seed, verbose=0, log_file_name=str(log))
    if split.classes is None:
        out.test = split.score(automl.predict(split.X_test))
    else:
        out.test = split.score(automl.predict_proba(split.X_test), classes=list(automl.classes_))
    out.seconds = round(time.perf_counter() - t0, 3)
    if log.exists():
        times, _best, losses, _configs, _metrics = get_output_from_log(str(log), budget.seconds)
        out.evals = [{"t": round(float(t), 4), "value": float(v), "state": "complete"} for t, v in zip(times, losses, strict=True)]
    out.extra["best_valid_loss"] = float(automl.best_loss)
    return out


#: The Python of a virtual environment with AutoGluon (``pip install 'autogluon.tabular[lightgbm]' torch==2.13.0``):
#: AutoGluon pins pandas < 3, so it cannot share automl's environment.
AUTOGLUON_PYTHON_ENV = "AUTOML_BENCH_AUTOGLUON_PYTHON"


def wall_autogluon(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """AutoGluon ``TabularPredictor(...).fit(dev, time_limit=B, presets="medium_quality", num_cpus=1)`` in its own
    interpreter (``$AUTOML_BENCH_AUTOGLUON_PYTHON``, see benchmarks/suite/autogluon_fit.py); ``seconds`` is the whole
    process (start-up and prediction included), as automl's."""
    import os
    import subprocess

    import pandas as pd

    python = os.environ.get(AUTOGLUON_PYTHON_ENV)
    if not python:
        raise ContenderFailed(f"set ${AUTOGLUON_PYTHON_ENV} to the python of a virtual environment with AutoGluon")
    out = RunResult(name, "", seed)
    preds = split.work / f"autogluon-{budget.seconds:g}.csv"
    script = Path(__file__).with_name("autogluon_fit.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([python, str(script), str(split.dev_path), str(split.test_path), split.target, split.task,
                           str(budget.seconds), str(seed), str(preds)], env=env, capture_output=True, text=True)
    out.seconds = round(time.perf_counter() - t0, 3)
    if proc.returncode != 0:
        raise ContenderFailed(f"autogluon exited {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}")
    frame = pd.read_csv(preds)
    models = Path(f"{preds}.models.json")
    if models.exists():  # which models AutoGluon trained in the time, and the one it predicts with
        import json

        out.extra.update(json.loads(models.read_text()))
    if split.classes is None:
        out.test = split.score(frame["prediction"].to_numpy(dtype=float))
    else:
        labels = [c[len("proba_"):] for c in frame.columns]
        by_text = {str(c): c for c in split.classes}
        out.test = split.score(frame.to_numpy(dtype=float), classes=[by_text.get(label, label) for label in labels])
    return out


def wall_flaml_default(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """``flaml.AutoML().fit(time_budget=B, n_jobs=1)`` with FLAML's default estimator list (LightGBM, XGBoost,
    random forest, extra trees, ...): what a FLAML user compares ``model: auto`` with."""
    from flaml import AutoML

    out = RunResult(name, "", seed)
    t0 = time.perf_counter()
    automl = AutoML()
    automl.fit(split.X_dev, split.y_dev, task="regression" if split.classes is None else "classification",
               metric="rmse" if split.metric == "rmse" else "log_loss", time_budget=budget.seconds, n_jobs=1,
               seed=seed, verbose=0)
    if split.classes is None:
        out.test = split.score(automl.predict(split.X_test))
    else:
        out.test = split.score(automl.predict_proba(split.X_test), classes=list(automl.classes_))
    out.seconds = round(time.perf_counter() - t0, 3)
    out.extra["best_estimator"] = automl.best_estimator
    return out


def _automl_study(split: Split, budget: WallBudget, seed: int) -> dict[str, Any]:
    """The study file a user writes for "the best model in B seconds": the dev file, no test split, LightGBM with
    automl's own space, ``timeout: B``; ``trials`` only while automl's StudySpec still requires it."""
    from automl.schema import study_schema

    spec: dict[str, Any] = {
        "name": f"wallclock-{seed}",
        "data": {"path": str(split.dev_path), "target": split.target, "task": split.task, "test_size": 0, "seed": seed},
        "model": "lightgbm",
        "timeout": budget.seconds,
        "seed": seed,
        "fixed": {"num_threads": 1},  # one thread, as every contender (automl would take all cores by default)
    }
    if "trials" in study_schema().get("required", []):  # the published study-file schema
        spec["trials"] = 1_000_000_000  # "as many as fit in the timeout"
    return spec


class ContenderFailed(Exception):
    """A contender's tool exited with an error: the run is recorded as skipped with the reason."""


def _cli(args: list[str], cwd: Any) -> float:
    """One ``automl`` command in a fresh process (one thread); its wall seconds from spawn to exit."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "automl", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ContenderFailed(f"automl {' '.join(args)} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}")
    return time.perf_counter() - t0


def wall_automl_auto(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """automl choosing the model family too (``model: auto``: linear, LightGBM, extra trees, random forest) and
    handing over its ensemble; LightGBM's and the forests' fits on one thread, as every contender."""
    return wall_automl(name, split, budget, seed, overrides=auto_overrides())


# every family's thread setting (XGBoost and CatBoost join `auto` when installed; until 2026-12-02 they were left at
# automl's rule, all cores from 20,000 rows, so on diamonds and flights their first trials had 2 threads)
ONE_THREAD = {"lightgbm": "num_threads", "random-forest": "n_jobs", "extra-trees": "n_jobs", "xgboost": "nthread",
              "catboost": "thread_count"}


def auto_overrides() -> dict[str, Any]:
    """The study-file keys of ``model: auto`` on one thread, for the families installed here."""
    from automl.trainers.auto import installed_families

    return {"model": "auto", "fixed": {f"{f}.{ONE_THREAD[f]}": 1 for f in installed_families() if f in ONE_THREAD}}


def wall_automl_single(name: str, split: Split, budget: WallBudget, seed: int) -> RunResult:
    """Ablation: automl handing over its best trial alone (``ensemble: false``), not the ensemble."""
    return wall_automl(name, split, budget, seed, overrides={"ensemble": False})


def _exported_test(split: Split, export: Path, pred: Path) -> float:
    """The test score of ``automl predict``'s output ``pred`` for the model in ``export``, the suite's metric."""
    import json

    import pandas as pd

    preds = pd.read_csv(pred)
    if split.classes is None:
        return split.score(preds["prediction"].to_numpy(dtype=float))
    classes = json.loads((export / "predict.json").read_text())["classes"]
    return split.score(preds[[f"proba_{c}" for c in classes]].to_numpy(dtype=float), classes=classes)


def single_test(split: Split, work: Path) -> dict[str, Any]:
    """The test score of the study's best single trial (``automl export --no-ensemble``, refit on dev as the
    ensemble's members are, then ``automl predict``) for a run that handed over an ensemble: the ensemble against
    its own best member on the rows neither saw. Its seconds are not the contender's."""
    t0 = time.perf_counter()
    _cli(["export", str(work / "study.yaml"), "-o", str(work / "export-single"), "--no-ensemble"], work)
    _cli(["predict", str(work / "export-single"), str(split.test_path), "-o", str(work / "pred-single.csv")], work)
    return {"single_test": _exported_test(split, work / "export-single", work / "pred-single.csv"),
            "single_seconds": round(time.perf_counter() - t0, 3)}


def wall_automl(name: str, split: Split, budget: WallBudget, seed: int, overrides: dict[str, Any] | None = None) -> RunResult:
    """What a user does: write a study file, then ``automl run --export DIR`` (search, refit on dev, export: one
    process) and ``automl predict`` on the test rows (a second fresh process); ``seconds`` is their end-to-end wall
    time from spawn to exit (start-up, search, refit, prediction)."""
    import json

    import optuna
    import yaml

    out = RunResult(name, "", seed)
    work = split.work / f"{name}-{budget.seconds:g}"
    work.mkdir(parents=True, exist_ok=True)
    spec = {**_automl_study(split, budget, seed), **(overrides or {})}
    study_file = work / "study.yaml"
    study_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    started = time.time()
    steps = {"run": _cli(["run", str(study_file), "--export", str(work / "export")], work)}  # run + export, one process
    steps["predict"] = _cli(["predict", str(work / "export"), str(split.test_path), "-o", str(work / "pred.csv")], work)
    out.seconds = round(sum(steps.values()), 3)
    out.extra["steps_seconds"] = {k: round(v, 3) for k, v in steps.items()}
    out.test = _exported_test(split, work / "export", work / "pred.csv")
    study = optuna.load_study(study_name=spec["name"], storage=f"sqlite:///{work / (spec['name'] + '.db')}")
    info = json.loads((work / "export" / "predict.json").read_text())
    by_number = {t.number: t for t in study.trials}
    if any("model" in t.params for t in study.trials):  # model: auto: the trials per family, what was handed over
        from collections import Counter

        out.extra["families"] = dict(Counter(t.params.get("model") for t in study.trials if t.state.name == "COMPLETE"))
    members = info.get("ensemble") or []
    out.extra["handed_over"] = ([{"trial": m["trial"], "weight": round(m["weight"], 3),
                                  **({"model": by_number[m["trial"]].params.get("model")} if "model" in by_number[m["trial"]].params else {})}
                                 for m in members] if members else "best trial")
    if members:  # issue 17: how often the ensemble beats its own best single trial on test (outside `seconds`)
        out.extra.update(single_test(split, work))
    for t in sorted(study.trials, key=lambda t: t.number):
        if t.datetime_complete is None:
            continue
        value = t.value if t.state == optuna.trial.TrialState.COMPLETE else None
        out.evals.append({"t": round(t.datetime_complete.timestamp() - started, 4), "value": value,
                          "state": t.state.name.lower()})
    return out


@dataclass(frozen=True)
class WallContender:
    name: str
    run: Callable[..., RunResult]
    description: str
    needs: str | None = None  # module that must be importable
    one_fit: bool = False  # ignores the budget: runs once per task-seed and counts at every budget
    optional: bool = False  # an ablation: runs only when named in --contenders


WALLCLOCK: dict[str, WallContender] = {
    c.name: c
    for c in [
        WallContender("automl", wall_automl, "automl run --export + automl predict (study file: dev data, test_size 0, "
                      "lightgbm, no params, timeout B), each a fresh process"),
        WallContender("automl-auto", wall_automl_auto, "automl as above with model: auto (linear, lightgbm, extra-trees, "
                      "random-forest; the family is searched too) and its ensemble", optional=True),
        WallContender("flaml-all", wall_flaml_default, "flaml.AutoML().fit(time_budget=B, n_jobs=1) with its default "
                      "estimator list (issue 17's comparison)", "flaml.automl", optional=True),
        WallContender("autogluon", wall_autogluon, "AutoGluon TabularPredictor(presets='medium_quality', time_limit=B, "
                      "num_cpus=1) in $AUTOML_BENCH_AUTOGLUON_PYTHON's environment", optional=True),
        WallContender("automl-single", wall_automl_single, "ablation: automl as above with ensemble: false (the best "
                      "trial alone)", optional=True),
        WallContender("flaml", wall_flaml, 'flaml.AutoML().fit(time_budget=B, estimator_list=["lgbm"], n_jobs=1), '
                      "default eval_method", "flaml.automl"),
        WallContender("lgbm-tuner", wall_lgbm_tuner, "optuna-integration LightGBMTuner(time_budget=B), 80/20 split of dev"),
        WallContender("lgbm-tuner-cv", wall_lgbm_tuner_cv, "optuna-integration LightGBMTunerCV(nfold=5, time_budget=B), "
                      "refit on dev with the CV's best rounds"),
        WallContender("lgbm-default", wall_lgbm_default, "one LightGBM fit with its defaults (100 rounds) on dev",
                      one_fit=True),
        WallContender("flaml-zeroshot", wall_flaml_zeroshot, "flaml.default zero-shot LGBM (one fit) on dev",
                      "flaml.default", one_fit=True),
    ]
}


def wall_available(c: WallContender) -> str | None:
    """None when the wall-clock contender can run, else why not."""
    if c.needs is None:
        return None
    try:
        found = importlib.util.find_spec(c.needs) is not None
    except ModuleNotFoundError:
        found = False
    if found and c.needs == "flaml.automl":  # plain flaml ships flaml.automl but AutoML needs the extra's packages
        try:
            from flaml import AutoML  # noqa: F401
        except ImportError as e:
            return f"flaml.AutoML cannot load ({e}); pip install 'flaml[automl]'"
    if not found:
        return f"{c.needs} is not importable (pip install -e '.[bench]'{'; flaml[autozero]' if 'default' in c.needs else ''})"
    return None
