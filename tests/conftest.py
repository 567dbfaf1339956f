import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def clean_env(**extra):
    """Environment for a child mpiexec: no variables of the parent's own MPI singleton."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_COMM", "OMPI_MCA_orte", "OMPI_MCA_ess", "PMIX_", "OMPI_FIRST",
                                "OMPI_APP", "OMPI_UNIVERSE", "OMPI_NUM_APP", "OMPI_FILE"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    env.update(extra)
    return env


def hpcabm(args, ranks=1, timeout=240, env=None):
    """Run the CLI (under mpiexec when ranks > 1); returns CompletedProcess with text output."""
    cmd = [PY, "-m", "hpcabm", *args]
    if ranks > 1:
        cmd = ["mpiexec", "--oversubscribe", "-n", str(ranks), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=clean_env(**(env or {})))


@pytest.fixture
def small_config(tmp_path):
    def make(text):
        p = tmp_path / "cfg.yaml"
        p.write_text(text)
        return str(p)
    return make
