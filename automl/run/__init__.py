"""The run layer, one job per module, on Optuna's public API (private names only in automl._optuna_compat):

- study.py     open or create a study, its automl attributes, warm-start trials, worker seeds
- loop.py      one worker: claim a slot under the study's lock, run the trial, ask/tell
- workers.py   N worker processes and the parent that watches them
- locks.py     the file lock (claim and journal append) and the SQL lock
- recovery.py  stale trials (dead local pids, the journal heartbeat; SQL storages: Optuna's heartbeat table)
- session.py   one ``automl run``: all of the above, progress, the best trial's test score
"""
