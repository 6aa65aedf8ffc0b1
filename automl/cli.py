"""The command line: parse arguments, call the library, print. No logic of its own."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

#: When this process started (about: when this module was imported); ``run``'s timeout counts from here.
STARTED = time.time()

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="automl: hyperparameter studies from a YAML file, on Optuna. See `automl run --help`.",
    pretty_exceptions_enable=False,
)

StorageOpt = typer.Option(
    None, "--storage",
    help="Storage URL (sqlite:///f.db, postgresql+psycopg://..., journal:///f.log); default: $AUTOML_STORAGE, else the "
    "study file's storage:. Relative paths in --storage and $AUTOML_STORAGE are relative to the current directory; "
    "only the file's own storage: is relative to the study file.",
)
StudyOpt = typer.Option(None, "--study", help="Study name: read any study in --storage (or $AUTOML_STORAGE) without its study file.")
StudyFileArg = typer.Argument(None, help="The study file (YAML); or --study NAME with --storage URL.", readable=False)


def _version(value: bool) -> None:
    if value:
        import automl

        typer.echo(f"automl {automl.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """automl: hyperparameter studies from a YAML file, on Optuna. See `automl run --help`."""


def _need_study(study_file: Path | None, study_name: str | None) -> None:
    if study_file is None and not study_name:
        typer.echo("error: give a study file, or --study NAME (with --storage URL or $AUTOML_STORAGE)", err=True)
        raise typer.Exit(2)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Typed automl errors become one line per problem on stderr and their exit code; no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from automl.errors import AutomlError, StudyFileError

        try:
            with _automl_warnings():
                return fn(*args, **kwargs)
        except StudyFileError as e:
            for p in e.problems:
                typer.echo(str(p), err=True)
            raise typer.Exit(e.exit_code) from None
        except AutomlError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: finished trials are saved; run the same command again to resume", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, str) and (not v.isprintable() or v != v.strip()):
        return repr(v)  # a stop sequence "\n" or a value with edge spaces, written so it can be seen
    return str(v)


@app.command()
@handle_errors
def run(
    study_file: Path = typer.Argument(..., help="The study file (YAML).", readable=False),
    trials: Optional[int] = typer.Option(None, "--trials", min=1, help="New total of finished trials (default: the file's)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.001, help="Seconds for this invocation."),
    storage: Optional[str] = StorageOpt,
    force: bool = typer.Option(False, "--force", help="Resume even if the search space changed."),
    report: bool = typer.Option(False, "--report", help="Write the HTML report under reports/ at the end."),
    report_path: Optional[Path] = typer.Option(None, "--report-path", help="Where --report writes (default reports/<name>.html)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes sharing the study (each gets cores/N threads); run the same command on other machines to add more."),
    importance: str = typer.Option("pedanova", "--importance", help="Importance evaluator of --report: pedanova or fanova."),
    export_dir: Optional[Path] = typer.Option(None, "--export", help="Then export the best trial into this directory, as `automl export -o DIR` does (reusing the run's refit)."),
) -> None:
    """Create or resume a study and top it up to its budget of finished trials."""
    from automl import api
    from automl.report import IMPORTANCE_EVALUATORS
    from automl.storage import mask

    if importance not in IMPORTANCE_EVALUATORS:
        typer.echo(f"error: --importance must be one of {', '.join(IMPORTANCE_EVALUATORS)} (got {importance!r})", err=True)
        raise typer.Exit(2)

    outcome = api.run_study_outcome(study_file, trials=trials, timeout=timeout, storage=storage, force=force, progress=progress,
                                    jobs=jobs, started=STARTED)
    study = outcome.study
    for line in outcome.died:
        typer.echo(f"warning: {line}; its trial was failed and its parameters retried", err=True)
    if outcome.recovered:
        typer.echo(f"recovered trials left running by a dead process: {outcome.recovered} (their parameters are retried)")
    typer.echo(f"study {study.study_name!r} in {mask(outcome.url)}: {outcome.added} trials added, {outcome.finished} finished ({outcome.stopped_by})")
    _print_best(study, outcome.test_scores)
    ens = outcome.ensemble
    if ens is not None:
        members = ", ".join(f"#{n} x{w:.2f}" for n, w in ens.members)
        metric = outcome.prepared.metrics[0].name if outcome.prepared is not None else "value"
        test = ", ".join(f"{k}={_fmt_value(v)}" for k, v in ens.test.items())
        typer.echo(f"ensemble of {len(ens.members)} trials ({members}): out-of-fold {metric}={_fmt_value(ens.valid)} "
                   f"(best trial alone {_fmt_value(ens.best_single[1])})" + (f", test: {test} (members refit on train+valid)" if test else ""))
    if export_dir is not None:
        from automl import export as export_mod

        done = export_mod.export(outcome.prepared.spec, export_dir, storage=storage, prepared=outcome.prepared,
                                 refits=outcome.refits, fitted_ensemble=outcome.ensemble)
        _print_exported(done)
    if report:
        path = api.write_report(study, report_path or api.default_report_path(study.study_name), importance=importance)
        typer.echo(f"report: {path}")


def _print_best(study: Any, test_scores: dict[int, dict[str, float]] | None = None) -> None:
    from automl.api import best_summary
    from automl.run.session import TEST_OF_ATTR

    summary = best_summary(study)
    if not summary:
        typer.echo("no finished trial yet")
        return
    for b in summary:
        vals = ", ".join(f"{k}={_fmt_value(v)}" for k, v in b["values"].items())
        typer.echo(f"best trial #{b['number']}: {vals}")
        for k, v in b["params"].items():
            typer.echo(f"  {k}: {_fmt_value(v)}")
        scores = (test_scores or {}).get(b["number"]) or b.get("test")
        if scores:
            typer.echo("  test: " + ", ".join(f"{k}={_fmt_value(v)}" for k, v in scores.items())
                       + f" (this trial's model, {study.user_attrs.get(TEST_OF_ATTR, 'trained on the train split')})")


@app.command()
@handle_errors
def validate(study_file: Path = typer.Argument(..., help="The study file (YAML).", readable=False)) -> None:
    """Check a study file and its data without running anything."""
    from automl import api

    prepared = api.prepare_study(study_file)
    d = prepared.data
    rows = f"{len(d.train)}/{len(d.valid)}/{len(d.test) if d.test is not None else 0} rows train/valid/test" if hasattr(d, "train") else ""
    typer.echo(
        f"{study_file}: ok — model {prepared.spec.model}, task {prepared.task}, "
        f"metric {', '.join(m.name for m in prepared.metrics)}, {len(prepared.params)} searched params, {rows}"
    )


@app.command()
@handle_errors
def best(
    study_file: Optional[Path] = StudyFileArg,
    storage: Optional[str] = StorageOpt,
    study_name: Optional[str] = StudyOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The best trial's values and parameters (the Pareto front for multi-objective studies)."""
    from automl import api

    _need_study(study_file, study_name)
    study = api.open_study(study_file, storage=storage, study_name=study_name)
    summary = api.best_summary(study)
    if as_json:
        typer.echo(json.dumps(summary if len(study.directions) > 1 else (summary[0] if summary else None), indent=2, default=str))
        return
    _print_best(study)


@app.command()
@handle_errors
def trials(
    study_file: Optional[Path] = StudyFileArg,
    storage: Optional[str] = StorageOpt,
    study_name: Optional[str] = StudyOpt,
    fmt: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Every trial with its state, values, parameters and user attributes."""
    from automl import api
    if fmt not in ("table", "csv", "json"):
        typer.echo(f"error: --format must be table, csv or json (got {fmt!r})", err=True)
        raise typer.Exit(2)
    _need_study(study_file, study_name)
    study = api.open_study(study_file, storage=storage, study_name=study_name)
    df = api.trials_frame(study)
    df = df.where(df.notna(), None if fmt != "table" else "")  # an inactive parameter is blank/null, not NaN
    if fmt == "csv":
        typer.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        def finite(v: Any) -> Any:  # JSON has no NaN/Infinity
            return None if isinstance(v, float) and not math.isfinite(v) else v

        records = [{k: finite(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
        typer.echo(json.dumps(records, indent=2, default=str))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
            typer.echo(df.to_string(index=False) if len(df) else "no trials")


@app.command("list")
@handle_errors
def list_(
    storage: Optional[str] = typer.Option(
        None, "--storage",
        help="Storage URL (sqlite:///f.db, postgresql+psycopg://..., journal:///f.log), relative to the current "
        "directory; required unless $AUTOML_STORAGE is set.",
    ),
) -> None:
    """The studies in a storage with their sizes and best values."""
    from automl import api

    rows = api.list_studies(storage)
    if not rows:
        typer.echo("no studies")
    for r in rows:
        best = "" if r["best"] is None else f"  best={_fmt_value(r['best'])}"
        typer.echo(f"{r['name']}  {r['finished']} finished / {r['trials']} trials  {r['directions']}{best}")


@app.command()
@handle_errors
def report(
    study_file: Optional[Path] = StudyFileArg,
    storage: Optional[str] = StorageOpt,
    study_name: Optional[str] = StudyOpt,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file (default reports/<name>.html)."),
    importance: str = typer.Option("pedanova", "--importance", help="Importance evaluator: pedanova (Optuna's default) or fanova."),
) -> None:
    """Write the self-contained HTML report of a study."""
    from automl import api

    _need_study(study_file, study_name)
    study = api.open_study(study_file, storage=storage, study_name=study_name)
    path = api.write_report(study, output or api.default_report_path(study.study_name), importance=importance)
    typer.echo(f"report: {path}")


@app.command()
@handle_errors
def export(
    study_file: Optional[Path] = StudyFileArg,
    output: Path = typer.Option(..., "-o", "--output", help="The directory to write (created if needed)."),
    storage: Optional[str] = StorageOpt,
    study_name: Optional[str] = StudyOpt,
    trial: Optional[int] = typer.Option(None, "--trial", help="Export this trial number instead of the best."),
    test_rows: bool = typer.Option(False, "--test-rows", help="Also write the held-back test rows as test_rows.csv."),
    ensemble: Optional[bool] = typer.Option(
        None, "--ensemble/--no-ensemble",
        help="The study's ensemble of its best trials (default: when the run chose one) or the best trial alone."),
) -> None:
    """Retrain the best trial (or the study's ensemble) on train+valid, score it once on test, write model, params and manifest."""
    from automl import api

    _need_study(study_file, study_name)
    done = api.export_study(study_file, output, storage=storage, study_name=study_name, trial=trial, test_rows=test_rows,
                            ensemble=ensemble)
    _print_exported(done)


def _print_exported(done: Any) -> None:
    scores = ", ".join(f"{k}={_fmt_value(v)}" for k, v in done.test_scores.items()) or "no test split"
    if done.ensemble:
        members = ", ".join(f"#{n} x{w:.2f}" for n, w in done.ensemble)
        typer.echo(f"exported an ensemble of {len(done.ensemble)} trials ({members}) to {done.directory} "
                   f"(test: {scores}; members refit on train+valid)")
    else:
        typer.echo(f"exported trial #{done.trial} to {done.directory} (test: {scores}; model refit on train+valid)")


@app.command()
@handle_errors
def predict(
    export_dir: Path = typer.Argument(..., help="A directory written by `automl export`."),
    data: Path = typer.Argument(..., help="Rows to predict (.csv or .parquet; a target column is scored), or for a "
                                "language-model export a .jsonl of {\"prompt\": ...} (a \"completion\" is scored)."),
    output: Path = typer.Option(..., "-o", "--output", help="The predictions CSV (language models: JSONL) to write."),
) -> None:
    """Predict with an exported model: original labels (and one probability column per class); a language model
    writes each input row with its "completion"."""
    _lightgbm_without_its_sklearn_api()
    from automl.export import predict_file

    done = predict_file(export_dir, data, output)
    typer.echo(f"{len(done.predictions)} predictions written to {output}")
    if done.scores:
        typer.echo("score on the given target: " + ", ".join(f"{k}={_fmt_value(v)}" for k, v in done.scores.items()))


def _lightgbm_without_its_sklearn_api() -> None:
    """Import LightGBM with scikit-learn hidden from its probe (lightgbm.compat), in this command only.

    ``automl predict`` needs LightGBM's Booster, not its scikit-learn estimators, and the probe imports
    scikit-learn and SciPy: 0.95 s of a 2.2 s prediction of 114 rows. scikit-learn is importable again right
    after (a scikit-learn member of an ensemble loads it as usual); only this process's ``lightgbm.LGBMModel``
    is without scikit-learn, and the process ends with the command."""
    if "lightgbm" in sys.modules or "sklearn" in sys.modules:
        return
    sys.modules["sklearn"] = None  # type: ignore[assignment] - `import sklearn` raises ImportError meanwhile
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        pass  # not installed: export names the missing package when a model needs it
    finally:
        del sys.modules["sklearn"]


@app.command("trainers")
@handle_errors
def trainers_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The installed trainers (built in and plugins) with their tasks and metrics."""
    from automl import api

    rows = api.list_trainers()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['name']}  ({r['origin']})")
        if "error" in r:
            typer.echo(f"  cannot be loaded: {r['error']}")
            continue
        typer.echo(f"  {r['description']}")
        typer.echo(f"  tasks: {', '.join(r['tasks'])}")
        typer.echo(f"  metrics: {', '.join(r['metrics'])}")


@app.command("storage-proxy")
@handle_errors
def storage_proxy(
    storage: Optional[str] = typer.Option(None, "--storage", help="The SQL storage to serve (postgresql+psycopg://..., sqlite:///...); default $AUTOML_STORAGE."),
    port: int = typer.Option(..., "--port", min=1, max=65535, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface; the proxy has no authentication)."),
    threads: int = typer.Option(16, "--threads", min=1, help="Requests served at once (and database connections kept)."),
) -> None:
    """Serve a storage to workers at grpc://HOST:PORT (Optuna's gRPC proxy), keeping their budget exact."""
    from automl import proxy
    from automl.storage import mask, resolve_url

    url = resolve_url(storage)
    typer.echo(f"storage proxy for {mask(url)} at grpc://{host}:{port} ({threads} threads); Ctrl-C stops it", err=True)
    try:
        proxy.serve(url, host=host, port=port, threads=threads)
    except KeyboardInterrupt:
        typer.echo("storage proxy stopped", err=True)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a study file (automl schema > studies/study.schema.json)."""
    from automl.schema import dumps

    typer.echo(dumps(), nl=False)


@contextlib.contextmanager
def _automl_warnings() -> Any:
    """Print automl's own warnings as one `warning: ...` line on stderr (others as Python prints them)."""
    import warnings

    from automl.errors import AutomlWarning

    with warnings.catch_warnings():
        default = warnings.showwarning

        def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
            if issubclass(category, AutomlWarning):
                typer.echo(f"warning: {message}", err=True)
            else:
                default(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main() -> None:  # console script
    try:
        app()
    finally:
        # Leave the objects of a finished command to the OS: the interpreter's last garbage collection of a
        # run's objects took 0.6 s of a 10 s `run --export` (measured); nothing left needs a finalizer (files and
        # storages are written and closed by then).
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
