"""Command line: hpcabm run | validate | report   (python -m hpcabm ... works too)

  mpiexec -n P hpcabm run CONFIG.yaml --out DIR [--set key=value ...] [--restart CHECKPOINT|DIR]
  hpcabm validate CONFIG.yaml [--set key=value ...] [--keys]
  hpcabm report DIR
  mpiexec -n P hpcabm ensemble CONFIG.yaml --runs R --out DIR [--set ...] [--sweep key=v1,v2,...]
                                [--design FILE.yaml] [--ranks-per-member k]
  mpiexec -n P hpcabm entropy CONFIG.yaml --out DIR [--set key=value ...]   (model: exchange)
"""
import argparse
import sys


def _parser():
    p = argparse.ArgumentParser(prog="hpcabm", description="Large agent-based macro models across MPI ranks")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a model (under mpiexec/srun for several ranks)")
    r.add_argument("config")
    r.add_argument("--out", required=True, help="output directory (results.h5, checkpoints/)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set months=24 --set firms.substeps=20")
    r.add_argument("--restart", help="checkpoint file, checkpoints/ directory or run directory")
    v = sub.add_parser("validate", help="check a config without running it; print the resolved config")
    v.add_argument("config")
    v.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    v.add_argument("--keys", action="store_true", help="also list every key of the model's schema")
    e = sub.add_parser("ensemble", help="Monte Carlo ensemble / parameter sweep over groups of ranks "
                       "(resumable; DIR/ensemble.h5)")
    e.add_argument("config")
    e.add_argument("--runs", type=int, required=True, help="members per sweep point (seeds spawned from the config seed)")
    e.add_argument("--out", required=True, help="ensemble directory (ensemble.h5, members/)")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    e.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="sweep a key over values (repeat for a Cartesian product)")
    e.add_argument("--design", metavar="FILE.yaml",
                   help="sweep points from a YAML list of mappings (dotted keys), instead of --sweep")
    e.add_argument("--ranks-per-member", type=int, default=1, help="ranks per member group (must divide the rank count)")
    e.add_argument("--seeds", choices=["spawn", "halton"], default="spawn",
                   help="member seeds: spawn = spawned from the (point's) config seed; halton = "
                        "floor(H2(r+1) 2^63), the base-2 Halton/van der Corput integers")
    rp = sub.add_parser("report", help="stylised-facts table and PNG figures of a finished run")
    rp.add_argument("dir")
    en = sub.add_parser("entropy", help="entropy calorimetry of an exchange economy on a grid (DIR/entropy.h5, PNGs)")
    en.add_argument("config")
    en.add_argument("--out", required=True, help="output directory")
    en.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    return p


def decide_on_root(comm, fn):
    """Run fn() on rank 0 only (config parsing, planning) and broadcast its result. If it raises
    ConfigError, rank 0 prints the one-line message and every rank exits with status 2 together
    (no traceback, no rank left waiting)."""
    from hpcabm.core.config import ConfigError
    result = None
    if comm.is_root:
        try:
            result = ("ok", fn())
        except ConfigError as e:
            result = ("error", str(e))
    status, payload = comm.bcast(result)
    if status == "error":
        if comm.is_root:
            sys.stderr.write(payload + "\n")
        sys.exit(2)
    return payload


def _fail(msg, code=2):
    sys.stderr.write(msg.rstrip() + "\n")
    sys.exit(code)


def cmd_validate(args):
    from hpcabm.core.config import ConfigError, describe_schema, load_config, merged_schema
    from hpcabm.models import model_schema
    try:
        cfg = load_config(args.config, args.set)
    except ConfigError as e:
        _fail(str(e))
    sys.stdout.write(f"# {args.config}: valid\n{cfg.yaml()}")
    if args.keys:
        sys.stdout.write("\n# keys\n" + "\n".join(describe_schema(merged_schema(model_schema(cfg.model)))) + "\n")
    return 0


def cmd_run(args):
    from hpcabm.core.comm import Comm, abort_on_exception
    from hpcabm.core.config import Config, load_config
    comm = Comm()
    payload = decide_on_root(comm, lambda: load_config(args.config, args.set).to_dict())
    cfg = Config(payload)

    def go():
        from hpcabm.core.checkpoint import CheckpointError
        from hpcabm.core.runner import run
        try:
            return run(cfg, comm, args.out, restart=args.restart)
        except CheckpointError as e:
            if comm.is_root:
                sys.stderr.write(f"checkpoint error: {e}\n")
            sys.exit(1)
    return abort_on_exception(comm, go)


def cmd_report(args):
    from hpcabm.analysis.report import report
    return report(args.dir)


def cmd_ensemble(args):
    from hpcabm.core.ensemble import cli_main
    return cli_main(args)


def cmd_entropy(args):
    from hpcabm.analysis.entropy import cli_main
    return cli_main(args)


def main(argv=None):
    args = _parser().parse_args(argv)
    code = {"run": cmd_run, "validate": cmd_validate, "report": cmd_report,
            "ensemble": cmd_ensemble, "entropy": cmd_entropy}[args.cmd](args)
    sys.exit(code or 0)
