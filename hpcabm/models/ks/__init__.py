"""K+S "Keynes meets Schumpeter" Mark I/II/III (docs/models/ks.md)."""
from hpcabm.models.ks.model import Model  # noqa: F401
