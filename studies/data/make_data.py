"""Write the example data sets under studies/data/ from data scikit-learn ships (nothing is downloaded).

    python studies/data/make_data.py

- diabetes.csv       regression, 442 rows; ``sex`` is a text column (F/M) to exercise categoricals
- breast_cancer.csv  binary, 569 rows; target ``diagnosis`` is text (malignant/benign)
- wine.csv           multiclass, 178 rows, 3 cultivars
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn import datasets

HERE = Path(__file__).resolve().parent


def diabetes():
    raw = datasets.load_diabetes(scaled=False, as_frame=True)
    df = raw.frame.copy()
    df["sex"] = np.where(df["sex"] == 1, "F", "M")
    return df.rename(columns={"target": "progression"})


def breast_cancer():
    raw = datasets.load_breast_cancer(as_frame=True)
    df = raw.frame.copy()
    df.columns = [c.replace(" ", "_") for c in df.columns]
    df["diagnosis"] = np.where(df.pop("target") == 0, "malignant", "benign")
    return df


def wine():
    raw = datasets.load_wine(as_frame=True)
    df = raw.frame.copy()
    df["cultivar"] = df.pop("target").map({0: "class_0", 1: "class_1", 2: "class_2"})
    return df


def main() -> None:
    for name, make in [("diabetes", diabetes), ("breast_cancer", breast_cancer), ("wine", wine)]:
        path = HERE / f"{name}.csv"
        make().to_csv(path, index=False, float_format="%.6g")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
