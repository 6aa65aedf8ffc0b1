"""The report's importance evaluators, in a module of their own so `automl run --importance` is checked without
importing Optuna's importance stack (scikit-learn's ensembles: seconds at start-up), and figures.py reads the same
table without importing the package it belongs to."""

#: Importance evaluators of the report (name -> label).
IMPORTANCE_EVALUATORS = {"pedanova": "PED-ANOVA", "fanova": "fANOVA"}
