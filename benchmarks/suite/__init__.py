"""The benchmark suite of issue 9: automl's defaults against the tuners users would pick instead.

``python -m benchmarks.suite --quick`` (or ``python benchmarks/suite/run.py --quick``); see README.md here.
Modules: ``tasks`` (offline data sets), ``contenders`` (one function per tuner, each through its own API),
``analysis`` (anytime curves, regret, ranks: data only), ``output`` (markdown, JSON, one HTML page of plots).
"""
