"""Sampler and pruner names -> Optuna objects. One table each; schema, help and errors read them."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import optuna

from automl.errors import suggest


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's GridSampler without its ``study.stop()`` once the grid is walked.

    automl's runner caps the budget at the grid's size itself, and runs trials with ask/tell (to claim budget
    slots atomically across workers), where ``study.stop()`` is an error outside ``study.optimize``.
    """

    def after_trial(self, study, trial, state, values):  # noqa: ANN001 - Optuna's signature
        return None


# name -> (Optuna class, short description)
SAMPLERS: dict[str, tuple[Callable[..., optuna.samplers.BaseSampler], str]] = {
    "tpe": (optuna.samplers.TPESampler, "Tree-structured Parzen Estimator (default for one objective)"),
    "random": (optuna.samplers.RandomSampler, "independent uniform sampling"),
    "grid": (GridSampler, "every combination of choices / stepped ranges"),
    "cmaes": (optuna.samplers.CmaEsSampler, "CMA evolution strategy (numeric params)"),
    "gp": (optuna.samplers.GPSampler, "Gaussian-process Bayesian optimization"),
    "qmc": (optuna.samplers.QMCSampler, "quasi-Monte Carlo (Sobol/Halton)"),
    "nsga2": (optuna.samplers.NSGAIISampler, "NSGA-II genetic algorithm (default for multi-objective)"),
    "nsga3": (optuna.samplers.NSGAIIISampler, "NSGA-III genetic algorithm (many objectives)"),
}

PRUNERS: dict[str, tuple[Callable[..., optuna.pruners.BasePruner], str]] = {
    "median": (optuna.pruners.MedianPruner, "stop a trial worse than the median of earlier ones at the same step"),
    "percentile": (optuna.pruners.PercentilePruner, "like median with another percentile (default 25)"),
    "sha": (optuna.pruners.SuccessiveHalvingPruner, "asynchronous successive halving"),
    "hyperband": (optuna.pruners.HyperbandPruner, "Hyperband over successive-halving brackets"),
    "threshold": (optuna.pruners.ThresholdPruner, "stop when the value crosses a bound"),
    "none": (optuna.pruners.NopPruner, "no pruning"),
}

# Defaults applied when the study file gives no options (the user's options always win).
PRUNER_DEFAULTS: dict[str, dict[str, Any]] = {
    "median": {"n_startup_trials": 5, "n_warmup_steps": 10},
    "percentile": {"percentile": 25.0, "n_startup_trials": 5, "n_warmup_steps": 10},
    "hyperband": {"min_resource": 10},
    "sha": {"min_resource": 10},
}
DEFAULT_SAMPLER = "tpe"
DEFAULT_MULTI_SAMPLER = "nsga2"
DEFAULT_PRUNER = "median"


def pruner_defaults(prepared: Any) -> dict[str, dict[str, Any]]:
    """The trainer's own pruner settings for this study (its ``pruner_defaults(fixed)`` hook, optional for plugins):
    warm-up is measured in the trainer's steps, which only the trainer knows the length of."""
    hook = getattr(prepared.trainer, "pruner_defaults", None)
    return dict(hook(prepared.fixed)) if hook else {}


def study_pruner(prepared: Any) -> optuna.pruners.BasePruner:
    """The study file's pruner with the trainer's defaults; a trainer's ``wrap_pruner`` hook may wrap it (model
    selection compares a trial only with its own family's)."""
    pruner = make_pruner(prepared.spec.pruner, n_objectives=len(prepared.metrics), defaults=pruner_defaults(prepared))
    wrap = getattr(prepared.trainer, "wrap_pruner", None)
    return wrap(pruner) if wrap else pruner


def split_name(value: str | Mapping[str, Any] | None, default: str) -> tuple[str, dict[str, Any]]:
    if value is None:
        return default, {}
    if isinstance(value, str):
        return value, {}
    opts = dict(value)
    return str(opts.pop("name")), opts


def accepted_options(cls: Callable[..., Any]) -> list[str]:
    return [n for n in inspect.signature(cls).parameters if n not in ("self", "args", "kwargs")]


@functools.cache
def _option_types(cls: Callable[..., Any]) -> dict[str, Any]:
    """Option name -> pydantic TypeAdapter of its annotation, for the options whose annotation resolves
    (Optuna writes them as strings; one naming a type only imported for type checking is left unchecked)."""
    import collections.abc
    import typing

    from pydantic import TypeAdapter
    from pydantic.errors import PydanticSchemaGenerationError

    init = getattr(cls, "__init__", cls)
    namespace = {**vars(collections.abc), **vars(typing), **getattr(init, "__globals__", {})}
    out = {}
    for name, p in inspect.signature(cls).parameters.items():
        ann = p.annotation
        if ann is inspect.Parameter.empty:
            continue
        try:
            tp = eval(ann, namespace) if isinstance(ann, str) else ann  # noqa: S307 - Optuna's own annotation text
            out[name] = TypeAdapter(tp, config={"arbitrary_types_allowed": True})
        except (NameError, AttributeError, TypeError, SyntaxError, PydanticSchemaGenerationError):
            continue
    return out


def convert_options(cls: Callable[..., Any], opts: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The options converted to the types the constructor's signature declares ('5' -> 5), and
    (option, message) for each that does not convert ('abc' for an int)."""
    from pydantic import ValidationError

    types = _option_types(cls)
    out, problems = {}, []
    for name, value in opts.items():
        if name not in types:
            out[name] = value
            continue
        try:
            out[name] = types[name].validate_python(value)
        except ValidationError as e:
            wanted = str(inspect.signature(cls).parameters[name].annotation)
            problems.append((name, f"must be {wanted} for {cls.__name__} (got {value!r}: {e.errors()[0]['msg'].lower()})"))
    return out, problems


def _construction_problem(kind: str, cls: Callable[..., Any], name: str, opts: dict[str, Any]) -> str | None:
    """What the constructor itself rejects (Optuna's own range checks: percentile 0..100, n_startup_trials >= 0,
    a bound for threshold, ...): built once here, before anything is written, and thrown away."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls({}, **opts) if name == "grid" else cls(**opts)
    except (ValueError, TypeError, OverflowError) as e:
        fix = "change that value" if opts else f"give it options, e.g. {{name: {name}, <option>: <value>}}"
        return f"Optuna's {cls.__name__} refuses it: {str(e).rstrip('.')}; {fix}"
    except ImportError as e:
        return f"{cls.__name__} needs a package that is not installed ({e}); pip install it or pick another {kind}"
    return None


def option_problems(kind: str, value: Any, table: Mapping[str, Any], default: str) -> list[tuple[str, str]]:
    """Unknown names or options, options of the wrong type, and values the constructor rejects, as (field,
    message) pairs for the study-file error."""
    if value is None:
        return []
    if not isinstance(value, (str, dict)):
        return [(kind, f"must be a name or a mapping with a name (got {value!r})")]
    if isinstance(value, dict) and "name" not in value:
        return []  # reported by the structural check
    name, opts = split_name(value, default)
    if name not in table:
        field = kind if isinstance(value, str) else f"{kind}.name"
        return [(field, f"unknown {kind} {name!r}" + suggest(name, list(table)))]
    cls = table[name][0]
    valid = accepted_options(cls)
    out = []
    for opt in opts:
        if opt not in valid or opt in ("search_space",):
            out.append((f"{kind}.{opt}", f"is not an option of {cls.__name__}" + suggest(opt, valid)))
    if out:
        return out
    if kind == "pruner" and name == "percentile":
        opts.setdefault("percentile", 25.0)  # as make_pruner does
    opts, wrong = convert_options(cls, opts)
    out += [(f"{kind}.{opt}", m) for opt, m in wrong]
    if not out:
        problem = _construction_problem(kind, cls, name, opts)
        if problem:  # name the option Optuna's message names, if it names one
            named = [o for o in sorted(opts, key=len, reverse=True) if o.lower() in problem.split(": ", 1)[-1].lower()]
            out.append((f"{kind}.{named[0]}" if named and isinstance(value, dict) else kind, problem))
    return out


def make_sampler(
    value: str | Mapping[str, Any] | None,
    *,
    seed: int | None,
    n_objectives: int,
    grid: Mapping[str, list[Any]] | None = None,
) -> optuna.samplers.BaseSampler:
    name, opts = split_name(value, DEFAULT_MULTI_SAMPLER if n_objectives > 1 else DEFAULT_SAMPLER)
    cls = SAMPLERS[name][0]
    opts = convert_options(cls, opts)[0]
    if seed is not None and "seed" in accepted_options(cls):
        opts.setdefault("seed", seed)
    if name == "grid":
        return cls(dict(grid or {}), **opts)
    return cls(**opts)


def make_pruner(
    value: str | Mapping[str, Any] | None,
    *,
    n_objectives: int,
    defaults: Mapping[str, dict[str, Any]] | None = None,
) -> optuna.pruners.BasePruner:
    """The study file's pruner. A pruner named without options gets ``defaults[name]`` (the trainer's, see
    :func:`pruner_defaults`) or else PRUNER_DEFAULTS."""
    name, opts = pruner_choice(value, n_objectives=n_objectives, defaults=defaults)
    return PRUNERS[name][0](**convert_options(PRUNERS[name][0], opts)[0])


def pruner_choice(
    value: str | Mapping[str, Any] | None,
    *,
    n_objectives: int,
    defaults: Mapping[str, dict[str, Any]] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The pruner's name and the options it is built with (what :func:`make_pruner` makes; the report shows it)."""
    if n_objectives > 1:  # Optuna cannot prune multi-objective trials
        return "none", {}
    name, opts = split_name(value, DEFAULT_PRUNER)
    if not opts:
        opts = dict((defaults or {}).get(name) or PRUNER_DEFAULTS.get(name, {}))
    elif name == "percentile":
        opts.setdefault("percentile", 25.0)
    return name, opts


def sampler_choice(value: str | Mapping[str, Any] | None, *, seed: int | None, n_objectives: int) -> tuple[str, dict[str, Any]]:
    """The sampler's name and the options it is built with, seed included (see :func:`make_sampler`)."""
    name, opts = split_name(value, DEFAULT_MULTI_SAMPLER if n_objectives > 1 else DEFAULT_SAMPLER)
    if seed is not None and "seed" in accepted_options(SAMPLERS[name][0]):
        opts.setdefault("seed", seed)
    return name, opts
