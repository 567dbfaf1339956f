"""Axtell's endogenous firms (seed 000): team production, effort, job switching, start-ups."""
from hpcabm.models.firms.model import Model  # noqa: F401
