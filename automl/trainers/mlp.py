"""PyTorch multilayer perceptron for tabular data (regression, binary, multiclass).

scikit-learn preprocessing fitted on the training split (impute + standardize numbers, impute + one-hot
categories), per-epoch validation reports for the pruner, early stopping on the validation metric that
restores the best epoch's weights. torch is imported inside functions only: ``automl --help`` and
LightGBM studies never load it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import TrialFailed
from automl.metrics import BINARY, MULTICLASS, REGRESSION
from automl.trainers.base import FitContext, FitResult, Knob, Report, TabularTrainer, _show, _spec_problem  # noqa: F401

ACTIVATIONS = ("relu", "gelu", "silu", "tanh")
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "onecycle")


KNOBS: dict[str, Knob] = {
    "learning_rate": Knob(1e-3, "float", low=0.0, low_open=True),  # peak rate for onecycle
    "batch_size": Knob(64, "int", low=1),
    "epochs": Knob(100, "int", low=1),  # the maximum; early stopping may end sooner
    "patience": Knob(10, "int", low=0),  # epochs without improvement before stopping; 0 = never stop early
    "weight_decay": Knob(0.0, "float", low=0.0),
    "dropout": Knob(0.0, "float", low=0.0, high=1.0),
    "n_layers": Knob(2, "int", low=0),  # hidden layers; 0 = a linear model
    "hidden_size": Knob(64, "int", low=1),
    "activation": Knob("relu", "choice", choices=ACTIVATIONS),
    "optimizer": Knob("adamw", "choice", choices=OPTIMIZERS),
    "momentum": Knob(0.9, "float", low=0.0, high=1.0),  # sgd only
    "lr_schedule": Knob("constant", "choice", choices=SCHEDULES),
    "batch_norm": Knob(False, "choice", choices=(False, True)),
}


def resolve(params: Mapping[str, Any]) -> dict[str, Any]:
    """Every knob's value: the given one, else the default; ints as ints."""
    out = {n: params.get(n, k.default) for n, k in KNOBS.items()}
    for n, k in KNOBS.items():
        if k.kind == "int":
            out[n] = int(out[n])
        elif k.kind == "float":
            out[n] = float(out[n])
    out["batch_norm"] = bool(out["batch_norm"])
    return out


# -- building blocks (module level so tests and export can use them) ----------------------------------
def make_preprocessor(X: Any) -> Any:
    """An unfitted ColumnTransformer: numbers imputed (median) + standardized, categories imputed + one-hot."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def is_cat(s: Any) -> bool:
        return (isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s)
                or pd.api.types.is_bool_dtype(s))

    cat = [c for c in X.columns if is_cat(X[c])]
    num = [c for c in X.columns if c not in cat]
    parts = []
    if num:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num))
    if cat:
        parts.append(("cat", make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        ), cat))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _to_object(X: Any) -> Any:
    """Category columns as object (SimpleImputer's most_frequent cannot fill a pandas Categorical)."""
    import pandas as pd

    X = X.copy()
    for c in X.columns:
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            X[c] = X[c].astype("object").where(X[c].notna(), np.nan)
    return X


def build_module(n_in: int, n_out: int, n_layers: int, hidden_size: int, activation: str, dropout: float,
                 batch_norm: bool) -> Any:
    """Linear -> [BatchNorm1d] -> activation -> [Dropout], n_layers times, then a Linear head."""
    from torch import nn

    act = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}[activation]
    layers: list[Any] = []
    width = n_in
    for _ in range(n_layers):
        layers.append(nn.Linear(width, hidden_size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden_size))
        layers.append(act())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = hidden_size
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


#: Below this many multiply-adds per layer and batch a second thread only adds overhead.
PARALLEL_WORK = 1 << 22


def threads_for(threads: int, batch_size: int, width: int) -> int:
    """``threads`` (cores / parallel workers) for big matrices, 1 for small ones: tiny products gain
    nothing from more threads, and OpenMP threads that spin-wait on shared cores slowed a 150-row
    study 3x (0.63 s vs 0.22 s per fit with 2 threads vs 1 on this 2-core machine)."""
    return max(1, int(threads)) if batch_size * width * width >= PARALLEL_WORK else 1


def make_optimizer(module: Any, p: Mapping[str, Any]) -> Any:
    import torch

    lr, wd = p["learning_rate"], p["weight_decay"]
    if p["optimizer"] == "sgd":
        return torch.optim.SGD(module.parameters(), lr=lr, momentum=p["momentum"], weight_decay=wd)
    cls = torch.optim.AdamW if p["optimizer"] == "adamw" else torch.optim.Adam
    return cls(module.parameters(), lr=lr, weight_decay=wd)


def make_scheduler(opt: Any, p: Mapping[str, Any], total_steps: int) -> Any:
    """Stepped after every batch; None for a constant rate. onecycle peaks at learning_rate and leaves
    momentum alone (the user's momentum/betas are kept)."""
    import torch

    if p["lr_schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    if p["lr_schedule"] == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=p["learning_rate"], total_steps=total_steps,
                                                   cycle_momentum=False)
    return None


class MLPModel:
    """A fitted MLP: the preprocessing, the torch module and how to turn its outputs into predictions."""

    def __init__(self, module: Any, preprocessor: Any, task: str, arch: dict[str, Any],
                 y_mean: float = 0.0, y_std: float = 1.0):
        self.module, self.preprocessor, self.task, self.arch = module, preprocessor, task, arch
        self.y_mean, self.y_std = y_mean, y_std

    def transform(self, X: Any) -> Any:
        import torch

        return torch.as_tensor(self.preprocessor.transform(_to_object(X)), dtype=torch.float32)

    def outputs_to_pred(self, out: Any) -> np.ndarray:
        """Network outputs -> values (regression, original units), P(class 1) (binary), (n, k) probabilities."""
        import torch

        if self.task == REGRESSION:
            return out[:, 0].double().numpy() * self.y_std + self.y_mean
        if self.task == BINARY:
            return torch.sigmoid(out[:, 0].double()).numpy()
        return torch.softmax(out.double(), dim=1).numpy()  # float64, so rows sum to 1 within sklearn's check

    def predict_tensor(self, X: Any) -> np.ndarray:
        import torch

        self.module.eval()
        with torch.no_grad():
            return self.outputs_to_pred(self.module(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for rows encoded like the training split (``data.encode``)."""
        return self.predict_tensor(self.transform(X))

    @property
    def n_parameters(self) -> int:
        return sum(t.numel() for t in self.module.parameters())


MODEL_FILE, PREPROCESS_FILE, ARCH_FILE = "model.pt", "preprocess.joblib", "mlp.json"


class MLPTrainer(TabularTrainer):
    name = "mlp"
    description = "PyTorch multilayer perceptron; per-epoch pruning, early stopping (patience), one-hot + standardized inputs"
    step_unit = "epoch"
    param_names = tuple(KNOBS)

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        # Adam-family with a log-uniform learning rate (the knob that matters most), small widths/depths that
        # suit tables of hundreds to thousands of rows, dropout + weight decay as regularizers. Constant rate
        # so epochs of different trials compare fairly for the pruner.
        return {
            "learning_rate": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
            "batch_size": {"type": "categorical", "choices": [32, 64, 128]},
            "n_layers": {"type": "int", "low": 1, "high": 3},
            "hidden_size": {"type": "int", "low": 16, "high": 256, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 0.4},
            "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
            "activation": {"type": "categorical", "choices": ["relu", "silu"]},
        }

    def default_fixed(self, task: str) -> dict[str, Any]:
        return {"epochs": 100, "patience": 10}

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        """Unknown names (listing the valid ones) and, given a mapping, values a knob cannot take."""
        from automl.errors import suggest

        out = []
        items = names.items() if isinstance(names, Mapping) else ((n, None) for n in names)
        for n, v in items:
            if n not in KNOBS:
                hint = suggest(n, list(KNOBS))
                if not hint.startswith("; valid"):
                    hint += f" (valid: {', '.join(KNOBS)})"
                out.append((n, f"is not a parameter of trainer 'mlp'{hint}"))
            elif v is not None:
                problem = _spec_problem(KNOBS[n], v) if hasattr(v, "type") and hasattr(v, "choices") \
                    else KNOBS[n].value_problem(v)
                if problem:
                    out.append((n, problem))
        return out

    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        import torch

        p = resolve(params)
        t0 = time.perf_counter()
        torch.manual_seed(ctx.seed)
        task = data.task
        pre = make_preprocessor(data.train.X).fit(_to_object(data.train.X))

        y_mean, y_std = 0.0, 1.0
        y = np.asarray(data.train.y)
        if task == REGRESSION:
            y_mean, y_std = float(y.mean()), float(y.std()) or 1.0
            y_train = torch.as_tensor((y - y_mean) / y_std, dtype=torch.float32)
            loss_fn, n_out = torch.nn.MSELoss(), 1
        elif task == BINARY:
            y_train = torch.as_tensor(y, dtype=torch.float32)
            loss_fn, n_out = torch.nn.BCEWithLogitsLoss(), 1
        elif task == MULTICLASS:
            y_train = torch.as_tensor(y, dtype=torch.long)
            loss_fn, n_out = torch.nn.CrossEntropyLoss(), data.n_classes
        else:
            raise TrialFailed(f"the mlp trainer does not handle task {task!r}")
        weighted = data.train.w is not None
        if weighted:  # row weights (data.weight): each row's loss counts by its weight
            loss_fn = type(loss_fn)(reduction="none")

        model = MLPModel(None, pre, task, {}, y_mean, y_std)
        X_train, X_valid = model.transform(data.train.X), model.transform(data.valid.X)
        arch = {"n_in": int(X_train.shape[1]), "n_out": int(n_out), "n_layers": p["n_layers"],
                "hidden_size": p["hidden_size"], "activation": p["activation"], "dropout": p["dropout"],
                "batch_norm": p["batch_norm"]}
        module = build_module(**arch)
        model.module, model.arch = module, arch

        n = len(y_train)
        bs = max(1, min(p["batch_size"], n))
        torch.set_num_threads(threads_for(ctx.threads, bs, max(arch["n_in"], p["hidden_size"])))
        # BatchNorm cannot train on a batch of one row: drop such a last batch.
        drop_last = p["batch_norm"] and n % bs == 1 and n > 1
        w_train = torch.as_tensor(data.train.w, dtype=torch.float32) if weighted else None
        loader = _loader(X_train, y_train, bs, drop_last, ctx.seed, w_train)
        opt = make_optimizer(module, p)
        sched = make_scheduler(opt, p, max(1, p["epochs"] * len(loader)))

        metric, patience = ctx.metric, p["patience"]
        best_value: float | None = None
        best_epoch, best_state, epoch = 0, None, 0
        for epoch in range(1, p["epochs"] + 1):
            lr = float(opt.param_groups[0]["lr"])
            module.train()
            total, seen = 0.0, 0
            for batch in loader:
                xb, yb = batch[0], batch[1]
                opt.zero_grad(set_to_none=True)
                out = module(xb)
                loss = loss_fn(out[:, 0] if n_out == 1 else out, yb)
                if weighted:
                    loss = (loss * batch[2]).sum() / batch[2].sum().clamp_min(1e-12)
                value = float(loss.item())
                if not math.isfinite(value):
                    raise TrialFailed(f"training loss is {value} at epoch {epoch} (diverged; "
                                      f"learning_rate {p['learning_rate']:g} may be too high)")
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                total += value * len(yb)
                seen += len(yb)
            pred = model.predict_tensor(X_valid)
            if not np.all(np.isfinite(pred)):
                raise TrialFailed(f"validation predictions are not finite at epoch {epoch} (diverged)")
            score = metric.score(task, data.valid.y, pred, data.valid.w)
            better = best_value is None or (score > best_value if metric.greater_is_better else score < best_value)
            if better:
                best_value, best_epoch = score, epoch
                if patience:
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            report(epoch, score, train_loss=total / max(1, seen), lr=lr)
            if patience and epoch - best_epoch >= patience:
                break
        if patience and best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        return FitResult(model, info={
            "best_epoch": int(best_epoch), "epochs_run": int(epoch), "n_parameters": model.n_parameters,
            "fit_seconds": round(time.perf_counter() - t0, 4),
        })

    def predict(self, result: FitResult, X: Any) -> np.ndarray:
        return result.model.predict(X)

    # -- export hooks ---------------------------------------------------------------------------
    def final_params(self, params: dict[str, Any], user_attrs: Mapping[str, Any]) -> dict[str, Any]:
        """The refit on train+valid has nothing to early-stop on: train the trial's best number of epochs."""
        out = dict(params)
        best = user_attrs.get("best_epoch")
        if best:
            out["epochs"] = int(best)
        out["patience"] = 0
        return out

    def save_model(self, result: FitResult, directory: Any) -> None:
        """model.pt (state dict), preprocess.joblib (the fitted ColumnTransformer), mlp.json (architecture)."""
        import joblib
        import torch

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        m: MLPModel = result.model
        torch.save(m.module.state_dict(), d / MODEL_FILE)
        joblib.dump(m.preprocessor, d / PREPROCESS_FILE)
        doc = {"format": 1, "task": m.task, "arch": m.arch, "y_mean": m.y_mean, "y_std": m.y_std,
               "info": {k: v for k, v in result.info.items() if isinstance(v, (int, float, str, bool))}}
        (d / ARCH_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    def load_model(self, directory: Any) -> FitResult:
        import joblib
        import torch

        d = Path(directory)
        doc = json.loads((d / ARCH_FILE).read_text(encoding="utf-8"))
        module = build_module(**doc["arch"])
        module.load_state_dict(torch.load(d / MODEL_FILE, weights_only=True))
        module.eval()
        model = MLPModel(module, joblib.load(d / PREPROCESS_FILE), doc["task"], doc["arch"], doc["y_mean"], doc["y_std"])
        return FitResult(model, info=doc.get("info", {}))


def _loader(X: Any, y: Any, batch_size: int, drop_last: bool, seed: int, w: Any = None) -> Any:
    """Shuffled mini-batches from a seeded generator; whole batches are sliced at once (no per-row collate)."""
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    ds = TensorDataset(X, y) if w is None else TensorDataset(X, y, w)
    sampler = BatchSampler(RandomSampler(ds, generator=torch.Generator().manual_seed(seed)), batch_size, drop_last)
    return DataLoader(ds, sampler=sampler, batch_size=None)
