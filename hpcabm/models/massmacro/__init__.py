"""MASs Macro (seed 000): Axtell's endogenous firms with goods markets, wages and unemployment."""
from hpcabm.models.massmacro.model import Model  # noqa: F401
