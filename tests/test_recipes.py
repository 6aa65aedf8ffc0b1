"""The cluster recipes under docs/cluster/ cannot rot: each is parsed as its tool would read it, then its own
command line runs locally against a throw-away PostgreSQL (tests/pg.py), and the study ends at exactly its budget."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_parallel import REPO, assert_exact, finish, load

CLUSTER = REPO / "docs" / "cluster"


def _k8s_expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of a container's command: a defined variable is replaced, others are kept."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), arg)


def test_kubernetes_job_reads_the_url_from_its_secret():
    secret, job = yaml.safe_load_all((CLUSTER / "automl-job.yaml").read_text())
    assert secret["kind"] == "Secret" and "AUTOML_STORAGE" in secret["stringData"]
    assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
    assert job["spec"]["parallelism"] >= 2 and job["spec"]["completions"] == job["spec"]["parallelism"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    assert "AUTOML_STORAGE" not in " ".join(container["command"])  # the URL is never on the command line
    env = {e["name"]: e["value"] for e in container["env"]}
    assert container["resources"]["limits"]["cpu"] == env["JOBS"]  # one worker per CPU of the limit


@pytest.mark.slow
def test_kubernetes_job_command_runs_against_postgresql(study_file, postgres_url, slow_trainer):
    _, job = yaml.safe_load_all((CLUSTER / "automl-job.yaml").read_text())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    path = study_file(trials=6, pruner="none", model="slow-lightgbm")
    # What the pod would see: the Secret's variables (our server's URL), its env list, with the study file at a
    # local path and one worker per pod; two pods at once (this machine's limit), each its own `automl run`.
    env = {e["name"]: e["value"] for e in container["env"]} | {"STUDY": str(path), "JOBS": "1"}
    cmd = [_k8s_expand(a, env) for a in container["command"]]
    assert cmd[:2] == ["automl", "run"]
    pod_env = {**os.environ, **env, "AUTOML_STORAGE": postgres_url, **slow_trainer(0.5)}
    pods = [subprocess.Popen([sys.executable, "-m", "automl", *cmd[1:]], cwd=REPO, env=pod_env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    try:
        outs = [finish(p, timeout=600) for p in pods]
    finally:
        for p in pods:
            p.kill()
    assert all("6 finished (budget)" in o for o in outs)
    assert_exact(load(postgres_url), 6)


def test_slurm_script_is_valid_bash_with_its_sbatch_options():
    script = CLUSTER / "automl-array.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    r = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    opts = dict(re.findall(r"^#SBATCH --([\w-]+)=(\S+)", script.read_text(), re.M))
    assert re.fullmatch(r"\d+-\d+", opts["array"]) and int(opts["cpus-per-task"]) >= 1
    assert opts["signal"].startswith("INT@")  # SIGINT before the limit: running trials fail at once, not after the grace
    assert "AUTOML_STORAGE=" not in " ".join(line for line in script.read_text().splitlines() if "srun" in line)


@pytest.mark.slow
def test_slurm_array_tasks_run_against_postgresql(study_file, postgres_url, tmp_path, slow_trainer):
    path = study_file(trials=6, pruner="none", model="slow-lightgbm")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text('#!/bin/sh\nexec "$@"\n')  # one task per array element: srun just runs the step
    (fake / "srun").chmod(0o755)
    (fake / "automl").write_text(f'#!/bin/sh\nexec {sys.executable} -m automl "$@"\n')
    (fake / "automl").chmod(0o755)
    url_file = tmp_path / "storage-url"
    url_file.write_text(postgres_url + "\n")
    url_file.chmod(0o600)
    venv = Path(sys.prefix)
    if not (venv / "bin" / "activate").exists():
        pytest.skip("the tests do not run in a virtual environment (the script sources $AUTOML_VENV/bin/activate)")
    tasks = []
    for i in range(2):
        env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "AUTOML_VENV": str(venv),
               "STUDY": str(path), "AUTOML_STORAGE_FILE": str(url_file), "SLURM_ARRAY_TASK_ID": str(i),
               "SLURM_CPUS_PER_TASK": "1", **slow_trainer(0.5)}
        env.pop("AUTOML_STORAGE", None)
        tasks.append(subprocess.Popen([shutil.which("bash"), str(CLUSTER / "automl-array.sh")], cwd=tmp_path, env=env,
                                      text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    try:
        outs = [finish(t, timeout=600) for t in tasks]
    finally:
        for t in tasks:
            t.kill()
    for i, out in enumerate(outs):
        assert f"array task {i} on" in out and "6 finished (budget)" in out
        assert postgres_url.split(":")[2].split("@")[0] not in out  # the password stays out of the log
    assert_exact(load(postgres_url), 6)
