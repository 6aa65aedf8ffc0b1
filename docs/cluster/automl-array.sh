#!/bin/bash
# One study on Slurm: a job array whose tasks all run the same `automl run` against one storage.
# Submit with `sbatch automl-array.sh`; resubmit after a preemption to resume the study.
# Checked by tests/test_recipes.py: `bash -n`, the #SBATCH lines, and the script itself run locally (srun on
# PATH just runs its command) for two array tasks against a throw-away PostgreSQL.
#SBATCH --job-name=diabetes-lgbm
#SBATCH --array=0-15             # 16 tasks: 16 machines, or 16 slices of machines
#SBATCH --cpus-per-task=8
#SBATCH --mem=8G
#SBATCH --time=24:00:00
#SBATCH --signal=INT@120         # SIGINT 2 min before the time limit: running trials are failed (and retried) at once
#SBATCH --output=automl-%A_%a.log
set -euo pipefail

VENV="${AUTOML_VENV:-/shared/automl/.venv}"                     # automl installed on the shared file system
STUDY="${STUDY:-/shared/studies/diabetes-lgbm.yaml}"              # same path on every node, with its data
URL_FILE="${AUTOML_STORAGE_FILE:-$HOME/.automl-storage-url}"      # chmod 600; one line: the storage URL

source "$VENV/bin/activate"
AUTOML_STORAGE="$(cat "$URL_FILE")"
export AUTOML_STORAGE                                             # never on the command line: `ps` would show it
echo "array task ${SLURM_ARRAY_TASK_ID:-?} on $(hostname): $SLURM_CPUS_PER_TASK workers"
srun automl run "$STUDY" --jobs "$SLURM_CPUS_PER_TASK" --no-progress
