#!/usr/bin/env bash
# Build (once) and link the Python environment hpcabm runs in.
#
#   1. system Open MPI + parallel HDF5 from apt (skipped when already present);
#   2. a virtualenv in a cache OUTSIDE the checkout, keyed by a hash of requirements.txt and this
#      script, with the mpi4py binary wheel and h5py built against parallel HDF5 (3-6 min, once);
#   3. `.venv` in the checkout -> that cached environment;
#   4. hpcabm installed into it in editable mode (compiles the Cython kernels of THIS checkout).
#
# Environment: HPCABM_CACHE (default ~/.cache/hpcabm), PYTHON (default python3),
#              HDF5_DIR (default Debian's openmpi flavour).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
PYTHON="${PYTHON:-python3}"
CACHE="${HPCABM_CACHE:-$HOME/.cache/hpcabm}"
HDF5_DIR="${HDF5_DIR:-/usr/lib/x86_64-linux-gnu/hdf5/openmpi}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

need_apt=0
command -v mpicc >/dev/null 2>&1 || need_apt=1
[ -d "$HDF5_DIR" ] || need_apt=1
if [ "$need_apt" = 1 ]; then
  echo "[setup] installing Open MPI and parallel HDF5 (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      libopenmpi-dev openmpi-bin libhdf5-openmpi-dev pkg-config >/dev/null
fi

# Bump RECIPE when the build steps below change (the key must not depend on unrelated edits).
RECIPE=1
key="$( (cat requirements.txt; echo "recipe=$RECIPE"; "$PYTHON" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)"
venv="$CACHE/venv-$key"
if [ ! -f "$venv/.complete" ]; then
  echo "[setup] building Python environment in $venv (h5py with MPI takes a few minutes, once)"
  rm -rf "$venv"
  mkdir -p "$CACHE"
  "$PYTHON" -m venv "$venv"
  pip="$venv/bin/python -m pip"
  $pip install -q -U pip "setuptools>=70" wheel
  # mpi4py: binary wheel only. Building it from source here takes >20 min and >20 GiB.
  $pip install -q --only-binary=mpi4py "$(grep -E '^mpi4py' requirements.txt)"
  $pip install -q "$(grep -E '^numpy' requirements.txt)" "$(grep -E '^cython' requirements.txt)" pkgconfig
  CC=mpicc HDF5_MPI=ON HDF5_DIR="$HDF5_DIR" \
    $pip install -q --no-binary=h5py --no-build-isolation "$(grep -E '^h5py' requirements.txt)"
  grep -vE '^(#|mpi4py|h5py|numpy|cython|[[:space:]]*$)' requirements.txt > "$venv/rest.txt"
  $pip install -q -r "$venv/rest.txt"
  "$venv/bin/python" -c "import h5py, mpi4py; assert h5py.get_config().mpi, 'h5py built without MPI'"
  touch "$venv/.complete"
fi
if [ "$(readlink .venv 2>/dev/null)" != "$venv" ]; then rm -rf .venv; ln -s "$venv" .venv; fi

# Editable install of this checkout: compiles cython_ext/*.pyx in place (about 30 s) and points the
# shared environment's `hpcabm` at this checkout. Skipped when nothing changed since the last build.
stamp=".venv-build-stamp"
src_hash="$( (cat setup.py pyproject.toml cython_ext/*.pyx cython_ext/*.h; echo "$here") | sha256sum | cut -c1-16)"
# The environment is shared by every checkout using this cache: re-install when another checkout's
# install took it over (its `hpcabm` would import the other tree, its scripts name the other path).
points_here() { (cd / && "$here/.venv/bin/python" -c "import sys, hpcabm.kernels.core, hpcabm.kernels.labour, hpcabm; sys.exit(not hpcabm.__file__.startswith('$here/'))") 2>/dev/null &&
                head -1 .venv/bin/hpcabm 2>/dev/null | grep -qF "$here/.venv/bin/python"; }
if [ "$(cat "$stamp" 2>/dev/null)" != "$src_hash" ] || ! points_here; then
  echo "[setup] compiling Cython kernels and installing hpcabm (editable)"
  log="$(mktemp)"
  if ! .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . >"$log" 2>&1 ||
     ! .venv/bin/python setup.py -q build_ext --inplace >>"$log" 2>&1; then
    cat "$log"; echo "[setup] building hpcabm failed" >&2; exit 1
  fi
  rm -f "$log"
  echo "$src_hash" > "$stamp"
fi
.venv/bin/python -c "import hpcabm.kernels.core, hpcabm.kernels.labour, h5py; assert h5py.get_config().mpi"
