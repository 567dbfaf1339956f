"""Build the Cython kernels in cython_ext/ into hpcabm.kernels.*"""
import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS = ["core", "labour", "exchange", "ks", "massmacro", "keynes"]

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
