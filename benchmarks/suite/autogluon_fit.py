"""Run AutoGluon's TabularPredictor in its own virtual environment (it pins pandas < 3, which automl's cannot):

    $AUTOML_BENCH_AUTOGLUON_PYTHON benchmarks/suite/autogluon_fit.py DEV.parquet TEST.parquet TARGET TASK SECONDS SEED OUT.csv

Fits ``TabularPredictor(label, problem_type, eval_metric).fit(dev, time_limit=SECONDS, presets="medium_quality",
num_cpus=1, num_gpus=0)`` and writes the test rows' predictions (regression: one column ``prediction``;
classification: one ``proba_<class>`` column per class), and beside it ``OUT.csv.models.json``: the models AutoGluon
trained and the one it predicts with. Only the standard
library, pandas and autogluon are imported, so the suite can call it from any interpreter that has AutoGluon.
"""

from __future__ import annotations

import json
import sys
import tempfile


def main(argv: list[str]) -> int:
    dev_path, test_path, target, task, seconds, seed, out = argv
    import pandas as pd
    from autogluon.tabular import TabularPredictor

    dev, test = pd.read_parquet(dev_path), pd.read_parquet(test_path)
    problem = {"regression": "regression", "binary": "binary", "multiclass": "multiclass"}[task]
    metric = "root_mean_squared_error" if task == "regression" else "log_loss"
    with tempfile.TemporaryDirectory() as tmp:
        predictor = TabularPredictor(label=target, problem_type=problem, eval_metric=metric, path=tmp, verbosity=0)
        predictor.fit(dev, time_limit=float(seconds), presets="medium_quality", num_cpus=1, num_gpus=0,
                      ag_args_fit={"random_seed": int(seed)})
        with open(out + ".models.json", "w", encoding="utf-8") as f:
            json.dump({"models": list(predictor.model_names()), "best": predictor.model_best}, f)
        X = test.drop(columns=[target])
        if task == "regression":
            pd.DataFrame({"prediction": predictor.predict(X)}).to_csv(out, index=False)
        else:
            proba = predictor.predict_proba(X)
            proba.columns = [f"proba_{c}" for c in proba.columns]
            proba.to_csv(out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
