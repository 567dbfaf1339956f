# make run   : set up everything (apt Open MPI + parallel HDF5, cached venv, Cython kernels) and run
#              jobs/quickstart.yaml on 2 ranks into runs/quickstart, then print its report.
# make test  : same set-up, then the whole test suite: serial tests, then the MPI tests under
#              2 and 3 ranks (3 > cores here, so --oversubscribe).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
NP ?= 2
MPIEXEC := mpiexec --oversubscribe
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
# one thread per rank: ranks, not BLAS threads, use the cores
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1

.PHONY: setup run test test-serial test-mpi bench validate clean

setup:
	@bash scripts/setup_env.sh

run: setup
	$(MPIEXEC) -n $(NP) $(VENV)/bin/hpcabm run jobs/quickstart.yaml --out runs/quickstart
	$(VENV)/bin/hpcabm report runs/quickstart

test: setup test-serial test-mpi

test-serial:
	$(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/mpi

test-mpi:
	timeout 900 $(MPIEXEC) -n 2 $(PY) -m pytest -q -p no:cacheprovider --with-mpi -x tests/mpi
	timeout 900 $(MPIEXEC) -n 3 $(PY) -m pytest -q -p no:cacheprovider --with-mpi -x tests/mpi

bench: setup
	$(PY) benchmarks/bench_labour.py

validate: setup
	$(PY) validation/engine_vs_reference.py

clean:
	rm -rf build runs hpcabm/kernels/*.so cython_ext/*.c .venv-build-stamp
