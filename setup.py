"""Build the Cython kernels in cython_ext/ into hpcabm.kernels.*

HPCABM_KERNELS=keynes,exchange python setup.py build_ext --inplace   builds only those kernels (a
shared working tree: do not recompile other people's half-edited kernels under running jobs; remove
the old .so first so processes that have it loaded keep their copy)."""
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS = ["core", "labour", "exchange", "ks", "massmacro", "keynes"]
_only = [k for k in os.environ.get("HPCABM_KERNELS", "").split(",") if k]
if _only:
    unknown = sorted(set(_only) - set(KERNELS))
    if unknown:
        raise SystemExit(f"HPCABM_KERNELS: unknown kernel(s) {unknown}; allowed: {KERNELS}")
    KERNELS = [k for k in KERNELS if k in _only]

extensions = [
    Extension(
        f"hpcabm.kernels.{name}",
        [f"cython_ext/{name}.pyx"],
        include_dirs=[np.get_include(), "cython_ext"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # No -ffast-math: results must be bitwise reproducible.
        extra_compile_args=["-O3", "-fno-fast-math", "-ffp-contract=off"],
    )
    for name in KERNELS
]

setup(ext_modules=cythonize(extensions, language_level=3, include_path=["cython_ext"]))
