"""Layered configuration: schema defaults (core + model), the user's YAML file, then `--set`
overrides. Parsed and checked on rank 0 and broadcast; nothing else in hpcabm reads YAML.

Every leaf of a schema is a dict with `type` (int, float, bool, str, range), a `default` (or
`required: true`), bounds (`min`, `max`) or `choices`, and `doc`. A config error names the key and
what is allowed, e.g.  config error: firms.substeps: must be an integer >= 1, got 0"""
import copy
import os

import yaml

_TYPES = {"int", "float", "bool", "str", "range"}
_HERE = os.path.dirname(__file__)


class ConfigError(ValueError):
    """A config problem; str(err) is one line naming the key."""


def _is_spec(node):
    return isinstance(node, dict) and isinstance(node.get("type"), str) and node["type"] in _TYPES


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


def core_schema():
    return load_yaml(os.path.join(_HERE, "schema.yaml"))


def merged_schema(model_schema):
    """Core schema with the model's schema laid over it (model defaults win)."""
    schema = core_schema()

    def merge(dst, src):
        for k, v in src.items():
            if k in dst and not _is_spec(v) and isinstance(v, dict) and not _is_spec(dst[k]):
                merge(dst[k], v)
            elif k in dst and _is_spec(dst[k]) and isinstance(v, dict) and not _is_spec(v):
                dst[k] = {**dst[k], **v}   # override of a core leaf's fields (e.g. default)
            else:
                dst[k] = copy.deepcopy(v)
    merge(schema, model_schema)
    return schema


def _describe(spec):
    t = spec["type"]
    if "choices" in spec:
        return "one of " + ", ".join(repr(c) for c in spec["choices"])
    lo, hi = spec.get("min"), spec.get("max")
    kind = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
            "range": "a pair [low, high] with low <= high"}[t]
    if t in ("int", "float", "range"):
        if lo is not None and hi is not None:
            kind += f" in [{lo}, {hi}]"
        elif lo is not None:
            kind += f" >= {lo}"
        elif hi is not None:
            kind += f" <= {hi}"
    return kind


def check_value(key, spec, value):
    """Return the value coerced to the spec's type or raise ConfigError naming the key."""
    t = spec["type"]
    bad = ConfigError(f"config error: {key}: must be {_describe(spec)}, got {value!r}")
    if t in ("int", "float") and isinstance(value, str):
        # PyYAML (YAML 1.1) reads 1e-5 or 1e8 (no dot, no exponent sign) as a string: accept
        # numeric text for numbers (agents: 1.5e8 is an integer)
        try:
            value = float(value)
        except ValueError:
            raise bad from None
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise bad
    elif t == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
        if value != value:
            raise bad
    elif t == "bool":
        if not isinstance(value, bool):
            raise bad
    elif t == "str":
        if not isinstance(value, str):
            raise bad
    elif t == "range":
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
                or value[0] > value[1]):
            raise bad
        value = [float(value[0]), float(value[1])]
    if "choices" in spec and value not in spec["choices"]:
        raise bad
    vals = value if t == "range" else [value]
    for v in vals:
        if t in ("int", "float", "range"):
            if spec.get("min") is not None and v < spec["min"]:
                raise bad
            if spec.get("max") is not None and v > spec["max"]:
                raise bad
    return value


def resolve(schema, user, prefix=""):
    """Defaults from `schema` overlaid with `user`; unknown keys and bad values raise ConfigError."""
    if not isinstance(user, dict):
        raise ConfigError(f"config error: {prefix.rstrip('.') or 'top level'}: must be a mapping of keys, got {user!r}")
    out = {}
    for k in user:
        if k not in schema:
            allowed = ", ".join(sorted(schema))
            raise ConfigError(f"config error: unknown key '{prefix}{k}' (allowed here: {allowed})")
    for k, spec in schema.items():
        key = prefix + k
        if _is_spec(spec):
            if k in user:
                out[k] = check_value(key, spec, user[k])
            elif spec.get("required"):
                raise ConfigError(f"config error: {key}: required, {spec.get('doc', '')}".rstrip(", "))
            else:
                out[k] = copy.deepcopy(spec.get("default"))
        else:
            out[k] = resolve(spec, user.get(k, {}) if user.get(k) is not None else {}, key + ".")
    return out


def apply_overrides(user, overrides):
    """Apply `key.sub=value` strings (values parsed as YAML) to a raw user dict."""
    user = copy.deepcopy(user)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"config error: --set {item!r}: expected key=value")
        key, text = item.split("=", 1)
        key = key.strip()
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node = user
        parts = key.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = value
    return user


class Config:
    """Read-only resolved config with attribute access (cfg.firms.substeps) and its YAML text."""

    def __init__(self, data):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name):
        try:
            v = self._data[name]
        except KeyError:
            raise AttributeError(name) from None
        return Config(v) if isinstance(v, dict) else v

    def __setattr__(self, name, value):
        raise AttributeError("Config is read-only")

    def __getitem__(self, name):
        return self.__getattr__(name)

    def __contains__(self, name):
        return name in self._data

    def get(self, dotted, default=None):
        node = self._data
        for p in dotted.split("."):
            if not isinstance(node, dict) or p not in node:
                return default
            node = node[p]
        return node

    def to_dict(self):
        return copy.deepcopy(self._data)

    def yaml(self):
        return yaml.safe_dump(self._data, sort_keys=False)

    def __repr__(self):
        return f"Config({self._data!r})"


def load_config(path=None, overrides=(), text=None):
    """Read a config file (or YAML text), apply overrides, resolve against the model's schema."""
    from hpcabm.models import MODELS, model_schema
    if text is None:
        if path is None or not os.path.exists(path):
            raise ConfigError(f"config error: file not found: {path}")
        try:
            raw = load_yaml(path)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"config error: {path}{where}: not valid YAML") from None
    else:
        raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ConfigError("config error: top level: must be a mapping of keys")
    raw = apply_overrides(raw, overrides)
    name = raw.get("model")
    if name not in MODELS:
        raise ConfigError(f"config error: model: must be one of {', '.join(repr(m) for m in MODELS)}, got {name!r}")
    cfg = resolve(merged_schema(model_schema(name)), raw)
    return Config(cfg)


def describe_schema(schema, prefix=""):
    """Lines documenting every key of a schema (for `hpcabm validate --keys`)."""
    lines = []
    for k, spec in schema.items():
        if _is_spec(spec):
            d = spec.get("default", "(required)")
            lines.append(f"{prefix}{k}: {_describe(spec)}; default {d!r}. {spec.get('doc', '')}")
        else:
            lines += describe_schema(spec, prefix + k + ".")
    return lines
