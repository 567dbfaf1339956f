"""hpcabm: large agent-based macroeconomic models across MPI ranks.

The interface users depend on is the CLI (`hpcabm run|validate|report`) and the config schema of
each model; for analysis, `hpcabm.load(path)` reads a results file into plain NumPy arrays."""
__version__ = "0.1.0"


def load(path):
    """Load results.h5 (or a run directory) as a dict: {'series': {...}, 'final': {...}, 'attrs': {...}}."""
    from hpcabm.core.output import load_results
    return load_results(path)
