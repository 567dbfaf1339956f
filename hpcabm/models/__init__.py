"""Model registry: config `model: NAME` -> the subpackage that implements it.

A model package provides `defaults.yaml` (its config schema) and a `Model` class with
initialize(), step(), month, series, state_tables()/load_state() and final_tables()."""
import importlib
import os

from hpcabm.core.config import load_yaml

MODELS = {
    "firms": "hpcabm.models.firms",
    "exchange": "hpcabm.models.exchange",
    "massmacro": "hpcabm.models.massmacro",
    "ks": "hpcabm.models.ks",
    "keynes_daily": "hpcabm.models.keynes_daily",
}


def model_schema(name):
    pkg = importlib.import_module(MODELS[name])
    return load_yaml(os.path.join(os.path.dirname(pkg.__file__), "defaults.yaml"))


def get_model(name):
    return importlib.import_module(MODELS[name]).Model
