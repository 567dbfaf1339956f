import pytest

from hpcabm.core.config import ConfigError, load_config
from tests.conftest import hpcabm


def cfg(text, overrides=()):
    return load_config(text=text, overrides=overrides)


def test_float_keys_accept_exponent_notation_yaml_reads_as_text():
    c = cfg("model: firms\nfirms: {activation: 4e-2}\n", ["firms.endowment=1e0"])
    assert c.firms.activation == 0.04 and c.firms.endowment == 1.0
    with pytest.raises(ConfigError, match="firms.activation: must be a number"):
        cfg("model: firms\nfirms: {activation: fast}\n")


def test_defaults_and_overrides():
    c = cfg("model: firms\n", ["months=24", "firms.substeps=20", "firms.friends=[3, 5]"])
    assert c.months == 24 and c.firms.substeps == 20 and c.firms.friends == [3.0, 5.0]
    assert c.agents == 10000 and c.firms.activation == 0.04 and c.checkpoint.every == 12


@pytest.mark.parametrize("text,overrides,needle", [
    ("model: firms\nagentz: 5\n", [], "unknown key 'agentz'"),
    ("model: firms\n", ["firms.substep=3"], "unknown key 'firms.substep'"),
    ("model: firms\nmonths: abc\n", [], "months: must be an integer"),
    ("model: firms\nmonths: 0\n", [], "months: must be an integer in [1,"),
    ("model: firms\nfirms: {activation: 1.5}\n", [], "firms.activation: must be a number in [0.0, 1.0]"),
    ("model: firms\nfirms: {engine: gpu}\n", [], "firms.engine: must be one of 'parallel', 'serial'"),
    ("model: firms\nfirms: {startups: 3}\n", [], "firms.startups: must be true or false"),
    ("model: firms\nfirms: {beta: [2, 1.5]}\n", [], "firms.beta: must be a pair"),
    ("model: nosuch\n", [], "model: must be one of"),
    ("agents: 5\n", [], "model: must be one of"),
])
def test_config_errors_name_the_key(text, overrides, needle):
    with pytest.raises(ConfigError) as e:
        cfg(text, overrides)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_validate_cli_bad_config_is_one_clear_line(small_config):
    path = small_config("model: firms\nmonths: -1\n")
    p = hpcabm(["validate", path])
    assert p.returncode == 2
    assert p.stderr.strip() == "config error: months: must be an integer in [1, 100000], got -1"
    assert "Traceback" not in p.stderr


def test_validate_cli_ok_prints_resolved_config(small_config):
    p = hpcabm(["validate", small_config("model: firms\nagents: 50\n"), "--set", "months=7", "--keys"])
    assert p.returncode == 0, p.stderr
    assert "months: 7" in p.stdout and "firms.substeps:" in p.stdout


def test_run_cli_missing_file():
    p = hpcabm(["run", "/nonexistent.yaml", "--out", "/tmp/x"])
    assert p.returncode == 2 and "file not found" in p.stderr and "Traceback" not in p.stderr


def _leaves(schema, prefix=""):
    from hpcabm.core.config import _is_spec
    for k, spec in schema.items():
        if _is_spec(spec):
            yield prefix + k, spec
        elif isinstance(spec, dict):
            yield from _leaves(spec, prefix + k + ".")


@pytest.mark.parametrize("model", ["firms", "exchange", "massmacro", "ks", "keynes_daily"])
def test_every_schema_bound_is_a_number_and_a_resolved_config_reloads(model):
    """PyYAML reads 1.0e12 (no exponent sign) as text: a bound written so once crashed every
    config that set the key. And runs/X/config.yaml (the resolved config) must load again."""
    from hpcabm.core.config import check_value, merged_schema
    from hpcabm.models import model_schema
    for key, spec in _leaves(merged_schema(model_schema(model))):
        for b in ("min", "max"):
            if spec.get(b) is not None:
                assert isinstance(spec[b], (int, float)) and not isinstance(spec[b], bool), (key, b, spec[b])
        if spec.get("default") is not None:
            check_value(key, spec, spec["default"])
    c = cfg(f"model: {model}\n")
    assert cfg(c.yaml()).to_dict() == c.to_dict()


def test_numeric_text_accepted_for_integers():
    c = cfg("model: firms\nagents: 1.5e6\n", ["months=1e2"])
    assert c.agents == 1_500_000 and isinstance(c.agents, int) and c.months == 100
    with pytest.raises(ConfigError, match="agents: must be an integer"):
        cfg("model: firms\nagents: 1.5e0\n")
