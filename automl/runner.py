"""Prepare and run a study: the names of the first layout, kept importable. The code lives in
:mod:`automl.spec` (prepare) and :mod:`automl.run` (study.py: open/create and attributes; session.py: the run
and the test score)."""

from automl.run.session import (  # noqa: F401
    TEST_ATTR,
    TEST_OF_ATTR,
    UNLIMITED,
    RunOutcome,
    budget_of,
    record_test_scores,
    run,
    workers_threads,
)
from automl.run.study import (  # noqa: F401
    COMPLETE_ATTR,
    SPACE_ATTR,
    WARM_ATTR,
    complete_attrs,
    enqueue_warm_start,
    open_or_create,
    study_attrs,
)
from automl.spec import Prepared, choose_cv, prepare  # noqa: F401
