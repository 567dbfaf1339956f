"""Exchange economies and entropy calorimetry (seed 003; docs/models/exchange.md)."""
from hpcabm.models.exchange.model import Model

__all__ = ["Model"]
