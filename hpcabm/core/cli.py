"""Command line: hpcabm run | validate | report   (python -m hpcabm ... works too)

  mpiexec -n P hpcabm run CONFIG.yaml --out DIR [--set key=value ...] [--restart CHECKPOINT|DIR]
  hpcabm validate CONFIG.yaml [--set key=value ...] [--keys]
  hpcabm report DIR
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
    rp = sub.add_parser("report", help="stylised-facts table and PNG figures of a finished run")
    rp.add_argument("dir")
    return p


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
    from hpcabm.core.config import Config, ConfigError, load_config
    comm = Comm()
    result = None
    if comm.is_root:
        try:
            result = ("ok", load_config(args.config, args.set).to_dict())
        except ConfigError as e:
            result = ("error", str(e))
    status, payload = comm.bcast(result)
    if status == "error":
        if comm.is_root:
            sys.stderr.write(payload + "\n")
        sys.exit(2)
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


def main(argv=None):
    args = _parser().parse_args(argv)
    code = {"run": cmd_run, "validate": cmd_validate, "report": cmd_report}[args.cmd](args)
    sys.exit(code or 0)
