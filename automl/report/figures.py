"""Figures from a study: Optuna's visualization where it has one. Data first, then the figure.

Each ``*_data(study, ...)`` function returns plain, JSON-friendly values (tests call them directly) or
raises :class:`NotDrawable` with the sentence the page shows instead of the figure. Each
``*_figure(study, data)`` draws that data, with ``optuna.visualization`` wherever it has the figure.
:func:`build_panels` runs them all behind one guard, so a study that cannot give a figure yields a reason,
never an exception. plotly is imported lazily (through optuna.visualization) only when a figure is drawn.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.importance import BaseImportanceEvaluator
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from automl import attrs
from automl.errors import ReportError

# The parallel-coordinate plot draws one SVG line per trial: beyond this many the page gets sluggish.
PARALLEL_MAX_LINES = 300
# Learning curves drawn at most (each is up to ~100 points); the best complete ones and the latest pruned ones.
CURVES_MAX = 200
# Optuna's contour is a dense (unique x) x (unique y) grid: 3,600 trials made a 150 MiB figure. Cap its input.
CONTOUR_MAX_TRIALS = 100
# Bars of the timeline (one per trial): the most recent ones.
TIMELINE_MAX_BARS = 1000

from automl.report.evaluators import IMPORTANCE_EVALUATORS  # noqa: E402 - one table, see automl/report/evaluators.py


class NotDrawable(Exception):
    """A figure cannot be drawn for this study; the message is the sentence shown instead."""


@dataclass
class Panel:
    """One section of the report: a figure, or the reason it is not there."""

    key: str
    title: str
    figure: Any | None = None  # plotly.graph_objects.Figure
    data: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # shown under the title (e.g. how lines were thinned)
    reason: str = ""  # why there is no figure


# ---------------------------------------------------------------------------------------------- helpers


def objective_names(study: optuna.Study) -> list[str]:
    """Names of the objectives: automl's ``automl:metric`` attr, else Optuna's metric names, else value/value_i."""
    n = len(study.directions)
    names = attrs.read(study).metric_names(n)
    if names is not None:
        return names
    if study.metric_names is not None and len(study.metric_names) == n:
        return list(study.metric_names)
    return ["value"] if n == 1 else [f"value_{i}" for i in range(n)]


def complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Complete trials whose values are all finite."""
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.values is not None and all(math.isfinite(v) for v in t.values)
    ]


def duration_s(t: FrozenTrial) -> float | None:
    return t.duration.total_seconds() if t.duration is not None else None


def _target(objective: int | str) -> Callable[[FrozenTrial], float]:
    if objective == "duration":
        return lambda t: d if (d := duration_s(t)) is not None else float("nan")
    return lambda t: t.values[objective]  # type: ignore[index]


def _target_name(study: optuna.Study, objective: int | str) -> str:
    return "duration (s)" if objective == "duration" else objective_names(study)[int(objective)]


def _sort_key(study: optuna.Study, objective: int = 0) -> Callable[[FrozenTrial], float]:
    sign = 1.0 if study.directions[objective] == StudyDirection.MINIMIZE else -1.0
    return lambda t: sign * t.values[objective]


def _view(study: optuna.Study, trials: list[FrozenTrial]) -> optuna.Study:
    """An in-memory study holding ``trials`` (a thinned copy for figures), with the objective names set."""
    view = optuna.create_study(directions=study.directions, storage=optuna.storages.InMemoryStorage())
    view.add_trials(trials)
    view.set_metric_names(objective_names(study))
    return view


def step_unit(study: optuna.Study) -> str:
    """What one learning-curve step is (``automl:step_unit``: boosting round, epoch), else "step"."""
    unit = study.user_attrs.get(attrs.STEP_UNIT)
    return unit if isinstance(unit, str) and unit else "step"


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence Optuna's log lines and experimental warnings while figures are computed."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        optuna.logging.set_verbosity(level)


def _need_complete(study: optuna.Study, at_least: int = 1) -> list[FrozenTrial]:
    trials = complete_trials(study)
    if not study.get_trials(deepcopy=False):
        raise NotDrawable("The study has no trials yet.")
    if len(trials) < at_least:
        states = {}
        for t in study.get_trials(deepcopy=False):
            states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
        counts = ", ".join(f"{v} {k}" for k, v in sorted(states.items()))
        raise NotDrawable(
            f"Needs at least {at_least} complete trial{'s' if at_least > 1 else ''} with finite values; "
            f"the study has {len(trials)} ({counts})."
        )
    return trials


# ------------------------------------------------------------------------------------------- importance


class _Fixed(BaseImportanceEvaluator):
    """Hands precomputed importances to ``plot_param_importances`` so the figure draws exactly our data."""

    def __init__(self, importances: dict[str, float]) -> None:
        self._importances = importances

    def evaluate(self, study: optuna.Study, params: list[str] | None = None, *, target: Any = None) -> dict[str, float]:
        return dict(self._importances)


def _evaluator(name: str, seed: int = 0) -> BaseImportanceEvaluator:
    if name == "fanova":
        return optuna.importance.FanovaImportanceEvaluator(seed=seed)
    if name == "pedanova":
        return optuna.importance.PedAnovaImportanceEvaluator()
    raise ReportError(f"unknown importance evaluator {name!r}; choose one of: {', '.join(IMPORTANCE_EVALUATORS)}")


def importance_data(study: optuna.Study, objective: int | str = 0, evaluator: str = "pedanova") -> dict[str, Any]:
    """Parameter importances (normalized, largest first) for an objective index or ``"duration"``."""
    _evaluator(evaluator)  # unknown name: ReportError before anything else
    trials = _need_complete(study, 2)
    if objective == "duration":
        trials = [t for t in trials if duration_s(t) is not None]
        if len(trials) < 2:
            raise NotDrawable("Fewer than 2 complete trials have a recorded duration.")
    varying = sorted(
        p for p in {p for t in trials for p in t.params} if len({repr(t.params.get(p)) for t in trials}) > 1
    )
    if not varying:
        raise NotDrawable("No parameter takes more than one value across the complete trials, so none can matter.")
    params = varying
    if evaluator == "fanova":  # fANOVA only assesses parameters present in every complete trial
        params = [p for p in varying if all(p in t.params for t in trials)]
        if not params:
            raise NotDrawable("fANOVA needs a parameter present in every complete trial; all of them are conditional.")
    target = _target(objective)
    values = [target(t) for t in trials]
    if len(set(values)) < 2:
        raise NotDrawable(f"Every complete trial has the same {_target_name(study, objective)}, so no parameter explains it.")
    with _quiet():
        try:
            imp = optuna.importance.get_param_importances(
                study, evaluator=_evaluator(evaluator), params=params, target=target
            )
        except (ValueError, RuntimeError, ZeroDivisionError) as e:
            raise NotDrawable(f"{IMPORTANCE_EVALUATORS[evaluator]} could not rank the parameters: {e}") from e
    imp = dict(sorted(imp.items(), key=lambda kv: -kv[1]))
    return {
        "evaluator": IMPORTANCE_EVALUATORS[evaluator],
        "objective": objective,
        "target": _target_name(study, objective),
        "trials": len(trials),
        "importances": imp,
    }


def importance_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    # The bars come from ``data`` (the _Fixed evaluator); Optuna reads the study only for each parameter's
    # distribution name in the hover text, deep-copying every trial per parameter (7 s at 5,000 trials).
    # A view with one complete trial per parameter gives it the same names at no cost.
    target = _target(data["objective"])
    sample: dict[int, FrozenTrial] = {}
    for p in data["importances"]:
        t = next((t for t in complete_trials(study) if p in t.params and math.isfinite(target(t))), None)
        if t is not None:
            sample[t.number] = t
    fig = optuna.visualization.plot_param_importances(
        _view(study, list(sample.values())),
        evaluator=_Fixed(data["importances"]),
        params=list(data["importances"]),
        target=target,
        target_name=data["target"],
    )
    fig.update_layout(title=f"{data['evaluator']} importance for {data['target']} ({data['trials']} complete trials)")
    return fig


# ---------------------------------------------------------------------------------------------- history


def history_data(study: optuna.Study, objective: int = 0) -> dict[str, Any]:
    """Per complete trial: number, value and best-so-far for one objective."""
    trials = _need_complete(study)
    minimize = study.directions[objective] == StudyDirection.MINIMIZE
    numbers, values, best = [], [], []
    cur: float | None = None
    for t in trials:
        v = t.values[objective]
        if cur is None or (v < cur if minimize else v > cur):
            cur = v
        numbers.append(t.number)
        values.append(v)
        best.append(cur)
    return {"objective": objective, "target": _target_name(study, objective), "number": numbers, "value": values, "best": best}


def history_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    if len(study.directions) == 1:
        return optuna.visualization.plot_optimization_history(study, target_name=data["target"])
    import plotly.graph_objects as go

    fig = optuna.visualization.plot_optimization_history(
        study, target=_target(data["objective"]), target_name=data["target"]
    )
    # With a target Optuna draws no best-so-far line; add ours from the data.
    fig.add_trace(go.Scatter(x=data["number"], y=data["best"], mode="lines", name="Best so far"))
    return fig


def history_time_data(study: optuna.Study, objective: int = 0) -> dict[str, Any]:
    """Per complete trial in order of completion: seconds since the study's first trial started, value, best so far."""
    trials = [t for t in _need_complete(study) if t.datetime_complete is not None]
    starts = [t.datetime_start for t in study.get_trials(deepcopy=False) if t.datetime_start is not None]
    if not trials or not starts:
        raise NotDrawable("No complete trial has a recorded end time.")
    t0 = min(starts)
    minimize = study.directions[objective] == StudyDirection.MINIMIZE
    seconds, values, best, numbers = [], [], [], []
    cur: float | None = None
    for t in sorted(trials, key=lambda t: t.datetime_complete):
        v = t.values[objective]
        if cur is None or (v < cur if minimize else v > cur):
            cur = v
        seconds.append((t.datetime_complete - t0).total_seconds())
        values.append(v)
        best.append(cur)
        numbers.append(t.number)
    return {"objective": objective, "target": _target_name(study, objective), "seconds": seconds, "value": values,
            "best": best, "number": numbers}


def history_time_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=data["seconds"], y=data["value"], mode="markers", name=data["target"],
                             text=[f"trial {n}" for n in data["number"]], marker={"color": "#1f77b4", "size": 6}))
    fig.add_trace(go.Scatter(x=data["seconds"], y=data["best"], mode="lines", name="Best so far",
                             line={"color": "#d62728", "shape": "hv"}))
    fig.update_layout(title=f"Best {data['target']} against wall-clock time", template="plotly_white",
                      xaxis={"title": "seconds since the first trial started"}, yaxis={"title": data["target"]})
    return fig


# ------------------------------------------------------------------------------------ parallel coordinate


def parallel_data(study: optuna.Study, max_lines: int = PARALLEL_MAX_LINES) -> dict[str, Any]:
    """The trials the parallel-coordinate plot draws: all of them, or the best ``max_lines`` (Pareto front first)."""
    trials = _need_complete(study)
    params = sorted({p for t in trials for p in t.params})
    if not params:
        raise NotDrawable("The trials have no parameters.")
    chosen = trials
    if len(trials) > max_lines:
        first = set()
        if len(study.directions) > 1:
            first = {t.number for t in study.best_trials}
        ranked = sorted(trials, key=lambda t: (t.number not in first, _sort_key(study)(t)))
        chosen = sorted(ranked[:max_lines], key=lambda t: t.number)
    return {
        "params": params,
        "trials": [t.number for t in chosen],
        "total": len(trials),
        "thinned": len(chosen) < len(trials),
    }


def parallel_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    if data["thinned"] or len(study.directions) > 1:
        wanted = set(data["trials"])
        study = _view(study, [t for t in complete_trials(study) if t.number in wanted])
    names = objective_names(study)
    return optuna.visualization.plot_parallel_coordinate(study, params=data["params"], target_name=names[0])


# -------------------------------------------------------------------------------------------- slice, EDF


def slice_data(study: optuna.Study, objective: int = 0) -> dict[str, Any]:
    """Parameters with the number of complete trials that set each (slice plot: one panel per parameter)."""
    trials = _need_complete(study)
    counts: dict[str, int] = {}
    for t in trials:
        for p in t.params:
            counts[p] = counts.get(p, 0) + 1
    if not counts:
        raise NotDrawable("The trials have no parameters.")
    return {"objective": objective, "target": _target_name(study, objective), "params": dict(sorted(counts.items()))}


def slice_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    target = None if len(study.directions) == 1 else _target(data["objective"])
    fig = optuna.visualization.plot_slice(study, params=list(data["params"]), target=target, target_name=data["target"])
    fig.update_layout(height=420, width=None)
    fig.update_xaxes(nticks=5, tickfont_size=10)  # log axes got a tick per decade and minor ticks, cramped
    return fig


def edf_data(study: optuna.Study, objective: int = 0) -> dict[str, Any]:
    """Sorted values of one objective and the fraction of complete trials at or below each."""
    trials = _need_complete(study)
    values = sorted(t.values[objective] for t in trials)
    n = len(values)
    return {"objective": objective, "target": _target_name(study, objective), "values": values,
            "fraction": [(i + 1) / n for i in range(n)]}


def edf_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    target = None if len(study.directions) == 1 else _target(data["objective"])
    return optuna.visualization.plot_edf(study, target=target, target_name=data["target"])


# ---------------------------------------------------------------------------------------------- contour


def contour_data(
    study: optuna.Study, importances: dict[str, float] | None = None, objective: int = 0,
    max_trials: int = CONTOUR_MAX_TRIALS,
) -> dict[str, Any]:
    """The two most important parameters (importance order, else name order) that vary together in >= 2 trials.

    Beyond ``max_trials`` trials that set both, the contour is drawn from the best half of that many plus
    the rest spread evenly over the others (Optuna's contour grid grows with the square of the trial count).
    """
    trials = _need_complete(study)
    names = sorted({p for t in trials for p in t.params})
    order = [p for p in (importances or {}) if p in names] + [p for p in names if p not in (importances or {})]
    varying = [p for p in order if len({repr(t.params[p]) for t in trials if p in t.params}) > 1]
    if len(varying) < 2:
        raise NotDrawable(
            f"A contour needs two parameters that vary; this study has {len(varying)} ({', '.join(varying) or 'none'})."
        )
    for i, a in enumerate(varying):
        for b in varying[i + 1:]:
            both = [t for t in trials if a in t.params and b in t.params]
            if len({repr(t.params[a]) for t in both}) > 1 and len({repr(t.params[b]) for t in both}) > 1:
                chosen = both
                if len(both) > max_trials:
                    ranked = sorted(both, key=lambda t: t.values[objective] * (
                        1 if study.directions[objective] == StudyDirection.MINIMIZE else -1))
                    best, rest = ranked[: max_trials // 2], sorted(ranked[max_trials // 2:], key=lambda t: t.number)
                    k = max_trials - len(best)
                    spread = [rest[int(j * len(rest) / k)] for j in range(k)]
                    chosen = sorted(best + spread, key=lambda t: t.number)
                return {"objective": objective, "target": _target_name(study, objective), "params": [a, b],
                        "trials": [t.number for t in chosen], "total": len(both), "thinned": len(chosen) < len(both),
                        "by_importance": bool(importances)}
    raise NotDrawable("No two parameters vary together in the same trials (conditional parameters never co-occur).")


def contour_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    if data["thinned"]:
        wanted = set(data["trials"])
        study = _view(study, [t for t in complete_trials(study) if t.number in wanted])
    target = None if len(study.directions) == 1 else _target(data["objective"])
    return optuna.visualization.plot_contour(study, params=data["params"], target=target, target_name=data["target"])


# ---------------------------------------------------------------------------------------- learning curves


def _curve(t: optuna.trial.FrozenTrial) -> tuple[list[int], list[float]]:
    """A trial's validation curve: the ``learning_curve`` user attribute automl stores once per trial (every
    reported step, also those no pruner needed and so never sent to ``trial.report``), else Optuna's
    intermediate values (studies made by other tools)."""
    lc = t.user_attrs.get("learning_curve")
    if isinstance(lc, list) and lc:
        pts = {}
        for row in lc:
            if isinstance(row, dict) and isinstance(row.get("step"), int):
                v = row.get("value")
                pts[row["step"]] = float(v) if isinstance(v, (int, float)) else float("nan")
        if pts:
            steps = sorted(pts)
            return steps, [pts[s] for s in steps]
    steps = sorted(t.intermediate_values)
    return steps, [t.intermediate_values[s] for s in steps]


def curves_data(study: optuna.Study, max_curves: int = CURVES_MAX) -> dict[str, Any]:
    """Validation curves per trial (steps, values, state, extras such as train_loss from ``learning_curve``).

    Beyond ``max_curves`` trials: the best complete ones and the most recent pruned ones, half each.
    """
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    trials = [t for t in study.get_trials(deepcopy=False) if t.state in states and _curve(t)[0]]
    if not trials:
        if not study.get_trials(deepcopy=False):
            raise NotDrawable("The study has no trials yet.")
        raise NotDrawable("No trial recorded a learning curve: the trainer reported no value while it trained.")
    total = len(trials)
    if total > max_curves:
        pruned = [t for t in trials if t.state != TrialState.COMPLETE]
        done = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]
        keep_pruned = pruned[-(max_curves // 2):]
        done.sort(key=_sort_key(study))
        keep = done[: max_curves - len(keep_pruned)] + keep_pruned
        trials = sorted(keep, key=lambda t: t.number)
    curves = []
    for t in trials:
        steps, values = _curve(t)
        extras: dict[str, list[Any]] = {}
        lc = t.user_attrs.get("learning_curve")
        if isinstance(lc, list):
            for row in lc:
                if isinstance(row, dict):
                    for k, v in row.items():
                        if k not in ("step", "value"):
                            extras.setdefault(k, []).append([row.get("step"), v])
        curves.append({"number": t.number, "state": t.state.name, "steps": steps, "values": values, "extras": extras})
    max_step = max(c["steps"][-1] for c in curves)
    return {
        "metric": objective_names(study)[0],
        "step_unit": step_unit(study),
        "curves": curves,
        "pruned": [c["number"] for c in curves if c["state"] == "PRUNED"],
        "max_step": max_step,
        "total": total,
        "thinned": len(curves) < total,
    }


def curves_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    """The validation curves: complete trials blue, pruned ones red ending in an ×."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for c in data["curves"]:
        n = len(c["steps"])
        if c["state"] == "PRUNED":
            line, marker = ({"color": "#d62728", "width": 1.5},
                            {"symbol": ["circle"] * (n - 1) + ["x"], "size": [3] * (n - 1) + [11], "color": "#d62728"})
            opacity, group = 1.0, "pruned"
        else:
            line, marker, opacity, group = {"color": "#1f77b4", "width": 1}, {"size": 3, "color": "#1f77b4"}, 0.6, c["state"].lower()
        fig.add_trace(go.Scatter(x=c["steps"], y=c["values"], mode="lines+markers", name=f"Trial{c['number']}",
                                 line=line, marker=marker, opacity=opacity, legendgroup=group))
    fig.update_layout(title=f"Validation {data['metric']} per {data['step_unit']} (pruned trials in red, cut short at ×)",
                      xaxis={"title": data["step_unit"], "range": [0, data["max_step"] * 1.02 + 1]},
                      yaxis={"title": f"validation {data['metric']}"}, showlegend=len(data["curves"]) <= 20)
    return fig


def extras_data(study: optuna.Study) -> dict[str, Any]:
    """Training-side curves recorded next to the validation metric (e.g. ``train_loss``) in ``learning_curve``."""
    curves = curves_data(study)
    names = sorted({k for c in curves["curves"] for k in c["extras"]})
    if not names:
        raise NotDrawable("No trial recorded extra learning-curve values (such as train_loss) in its learning_curve.")
    return {"names": names, "curves": [c for c in curves["curves"] if c["extras"]], "step_unit": curves["step_unit"]}


def extras_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(data["names"]), subplot_titles=data["names"])
    for col, name in enumerate(data["names"], start=1):
        for c in data["curves"]:
            pts = [p for p in c["extras"].get(name, []) if isinstance(p[1], (int, float))]
            if not pts:
                continue
            pruned = c["state"] == "PRUNED"
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines",
                                     name=f"Trial{c['number']}", showlegend=False, opacity=0.8 if pruned else 0.5,
                                     line={"color": "#d62728" if pruned else "#1f77b4", "width": 1}), row=1, col=col)
        fig.update_xaxes(title_text=data["step_unit"], row=1, col=col)
    fig.update_layout(title="Training-side learning curves (pruned trials in red)", template="plotly_white")
    return fig


# ------------------------------------------------------------------------------------- timeline, Pareto


def timeline_data(study: optuna.Study, max_bars: int = TIMELINE_MAX_BARS) -> dict[str, Any]:
    """Trials that have a start time; the timeline shows the most recent ``max_bars``."""
    started = [t for t in study.get_trials(deepcopy=False) if t.datetime_start is not None]
    if not started:
        raise NotDrawable("No trial has a start time." if study.get_trials(deepcopy=False) else "The study has no trials yet.")
    states: dict[str, int] = {}
    for t in started:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    return {"total": len(started), "shown": min(len(started), max_bars), "states": states,
            "thinned": len(started) > max_bars}


def timeline_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    return optuna.visualization.plot_timeline(study, n_recent_trials=data["shown"] if data["thinned"] else None)


def pareto_data(study: optuna.Study) -> dict[str, Any]:
    """The Pareto-optimal trials of a multi-objective study with their values."""
    n = len(study.directions)
    if n not in (2, 3):
        raise NotDrawable(f"A Pareto-front plot shows 2 or 3 objectives; this study has {n}.")
    _need_complete(study)
    front = sorted(study.best_trials, key=lambda t: t.number)
    return {"names": objective_names(study), "directions": [d.name.lower() for d in study.directions],
            "front": [t.number for t in front], "values": [list(t.values) for t in front]}


def pareto_figure(study: optuna.Study, data: dict[str, Any]) -> Any:
    fig = optuna.visualization.plot_pareto_front(study, target_names=data["names"])
    # Optuna colours points by trial number with a colour bar per trace ("Trial", "Best Trial"): for the front
    # that bar says nothing, and two bars crowd the plot; the hover text keeps each point's trial number.
    fig.update_traces(marker_showscale=False)
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return fig


# ------------------------------------------------------------------------------------------------ panels


def _panel(key: str, title: str, study: optuna.Study, data_fn: Callable[[], dict[str, Any]],
           fig_fn: Callable[[optuna.Study, dict[str, Any]], Any], note: Callable[[dict[str, Any]], str] | None = None) -> Panel:
    panel = Panel(key, title)
    with _quiet():
        try:
            panel.data = data_fn()
            panel.figure = fig_fn(study, panel.data)
            panel.note = note(panel.data) if note else ""
        except NotDrawable as e:
            panel.reason = str(e)
        except Exception as e:  # noqa: BLE001 - a figure that fails must not take the report down; the page says why
            panel.figure = None
            panel.reason = f"This figure could not be drawn for this study ({type(e).__name__}: {e})."
    return panel


def build_panels(study: optuna.Study, importance: str = "pedanova", max_lines: int = PARALLEL_MAX_LINES) -> list[Panel]:
    """Every section of the report in page order; each either has a figure or says why not."""
    _evaluator(importance)
    names = objective_names(study)
    multi = len(names) > 1
    panels: list[Panel] = []
    if multi:
        panels.append(_panel("pareto", "Pareto front", study, lambda: pareto_data(study), pareto_figure,
                             lambda d: f"{len(d['front'])} Pareto-optimal trials (in the table: those with pareto = yes)."))
    imp_first: dict[str, float] | None = None

    def caveat(d: dict[str, Any]) -> str:
        return conditional_caveat(study, list(d["importances"]))

    for i, name in enumerate(names):
        p = _panel(f"importance-{i}", f"Hyperparameter importance for {name}", study,
                   lambda i=i: importance_data(study, i, importance), importance_figure,
                   lambda d: f"{d['evaluator']} on {d['trials']} complete trials; importances sum to 1." + caveat(d))
        if i == 0 and p.figure is not None:
            imp_first = p.data["importances"]
        panels.append(p)
    panels.append(_panel("importance-duration", "Hyperparameter importance for trial duration", study,
                         lambda: importance_data(study, "duration", importance), importance_figure,
                         lambda d: "Which parameters make trials slow (seconds per complete trial)." + caveat(d)))
    panels.append(_panel("parallel", "Parallel coordinates", study, lambda: parallel_data(study, max_lines),
                         parallel_figure,
                         lambda d: (f"Showing the best {len(d['trials'])} of {d['total']} complete trials "
                                    "(thinned so the page stays responsive)." if d["thinned"]
                                    else f"All {_n(d['total'], 'complete trial')}.")))
    for i, name in enumerate(names):
        suffix = f" ({name})" if multi else ""
        panels.append(_panel(f"history-{i}", f"Optimization history{suffix}", study, lambda i=i: history_data(study, i),
                             history_figure, lambda d: f"Best {d['target']} so far as a line, by trial number."))
        panels.append(_panel(f"history-time-{i}", f"Best value against wall-clock time{suffix}", study,
                             lambda i=i: history_time_data(study, i), history_time_figure,
                             lambda d: f"Each complete trial at the time it ended; the line is the best {d['target']} so far."))
    panels.append(_panel("slice", "Slice plots", study, lambda: slice_data(study, 0), slice_figure,
                         lambda d: f"{d['target']} against each parameter (a point per complete trial that set it)."))
    panels.append(_panel("contour", "Contour of the two most important parameters", study,
                         lambda: contour_data(study, imp_first, 0), contour_figure,
                         lambda d: f"{d['params'][0]} × {d['params'][1]}"
                         + ("" if d["by_importance"] else " (importance unavailable: first two parameters by name)")
                         + (f"; drawn from {len(d['trials'])} of the {d['total']} complete trials that set both "
                            f"(the best {len(d['trials']) // 2} and an even spread of the rest)." if d["thinned"]
                            else f"; {_n(d['total'], 'complete trial')}.")))
    panels.append(_panel("curves", "Learning curves", study, lambda: curves_data(study),
                         curves_figure,
                         lambda d: (f"Validation {d['metric']} after each {d['step_unit']}"
                                    + (" (the first objective: the one the trainer reports while it trains)" if multi else "")
                                    + (f". {_n(len(d['pruned']), 'pruned trial')} in red, stopped early. " if d["pruned"]
                                       else ". No trial was pruned. ")
                                    + (f"Showing {len(d['curves'])} of {d['total']} curves (best complete and latest "
                                       "pruned)." if d["thinned"] else f"All {d['total']} curves."))))
    panels.append(_panel("extras", "Training-side curves", study, lambda: extras_data(study), extras_figure))
    for i, name in enumerate(names):
        suffix = f" ({name})" if multi else ""
        panels.append(_panel(f"edf-{i}", f"Empirical distribution of {name}", study, lambda i=i: edf_data(study, i),
                             edf_figure, lambda d: f"Fraction of complete trials with {d['target']} at or below x."))
    panels.append(_panel("timeline", "Timeline", study, lambda: timeline_data(study), timeline_figure,
                         lambda d: (f"The most recent {d['shown']} of {d['total']} trials." if d["thinned"]
                                    else f"All {_n(d['total'], 'trial')}.")))
    return panels


def conditional_caveat(study: optuna.Study, params: list[str]) -> str:
    """The caveat for parameters set only in some complete trials (``when:``), or "" when none of ``params`` is."""
    trials = complete_trials(study)
    cond = [p for p in params if any(p not in t.params for t in trials)]
    if not cond:
        return ""
    return (f" {', '.join(cond)} {'is' if len(cond) == 1 else 'are'} set only in some trials (conditional): "
            "its importance compares only the trials that set it, so read it with care.")


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")

