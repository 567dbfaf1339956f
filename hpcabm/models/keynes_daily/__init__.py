"""Daily single-sector Keynesian economy (seed 002): docs/models/keynes_daily.md."""
from hpcabm.models.keynes_daily.model import Model  # noqa: F401
