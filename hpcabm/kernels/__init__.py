"""Compiled Cython kernels (sources in cython_ext/). Import the submodules directly:
`from hpcabm.kernels import core, labour`."""
