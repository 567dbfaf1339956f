"""The run loop shared by every model: initialise or restart, step month by month, print progress
from rank 0, checkpoint on cadence and on SLURM's pre-timeout signal, write results.h5.

Exit codes: 0 done; 3 stopped early by a signal after writing a checkpoint (resubmit with
--restart); 2 config error; 1 anything else (and the whole MPI job is aborted)."""
import os
import signal
import time

from hpcabm.core.checkpoint import find_restart, read_checkpoint, write_checkpoint
from hpcabm.core.config import Config
from hpcabm.core.output import write_results
from hpcabm.models import get_model

EXIT_INTERRUPTED = 3
# keys that may differ between a checkpoint's config and the restarted run's config
RESTART_FREE_KEYS = {"months", "checkpoint", "progress", "burn_in", "output"}


class StopFlag:
    """Set by SIGUSR1 (SLURM --signal=USR1@secs, sent before the time limit) or SIGTERM."""

    def __init__(self):
        self.flag = 0
        self.signame = ""

    def install(self):
        for sig in (signal.SIGUSR1, signal.SIGTERM):
            try:
                signal.signal(sig, self._handler)
            except (ValueError, OSError):   # not the main thread
                pass

    def _handler(self, signum, frame):
        self.flag = 1
        self.signame = signal.Signals(signum).name


def _fmt_eta(seconds):
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _model_part(cfg_dict):
    return {k: v for k, v in cfg_dict.items() if k not in RESTART_FREE_KEYS}


def _signal_injection():
    """Test hook: HPCABM_SIGNAL_AT=MONTH behaves as if SLURM's pre-timeout SIGUSR1 arrived after
    that month (lets tests exercise the resubmission logic of slurm/*.sbatch deterministically)."""
    spec = os.environ.get("HPCABM_SIGNAL_AT")
    return int(spec) if spec else None


def _fault_injection(comm):
    """Test hook: HPCABM_FAULT="RANK:MONTH" raises on that rank before that month, to check that
    one rank's exception aborts the whole job instead of leaving the others in a collective."""
    spec = os.environ.get("HPCABM_FAULT")
    if not spec:
        return None
    r, m = (int(x) for x in spec.split(":"))
    return m if r == comm.rank else None


def write_status(comm, out_dir, text):
    if comm.is_root:
        with open(os.path.join(out_dir, "STATUS"), "w") as f:
            f.write(text + "\n")


def run(cfg, comm, out_dir, restart=None, log=print, stop=None):
    """Run `cfg` into out_dir (results.h5, checkpoints/, config.yaml, STATUS)."""
    t_start = time.time()
    say = log if comm.is_root else (lambda *a, **k: None)
    cfg_text = cfg.yaml()
    ckdir = os.path.join(out_dir, "checkpoints")
    if comm.is_root:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "config.yaml"), "w") as f:
            f.write(cfg_text)
    model = get_model(cfg.model)(cfg, comm)
    if restart:
        path = find_restart(comm, restart, log=say)
        attrs = read_checkpoint(comm, path, model)
        import yaml
        old = yaml.safe_load(str(attrs["config"]))
        if _model_part(old) != _model_part(cfg.to_dict()):
            diff = sorted(k for k in set(old) | set(cfg.to_dict())
                          if k not in RESTART_FREE_KEYS and old.get(k) != cfg.to_dict().get(k))
            raise SystemExit(f"restart error: {path} was written with a different model config "
                             f"(keys differ: {', '.join(diff)})")
        say(f"[hpcabm] restarted from {path} at month {model.month} on {comm.size} rank(s)")
    else:
        model.initialize()
    stop = stop or StopFlag()
    stop.install()
    write_status(comm, out_dir, f"running month {model.month}")
    every = int(cfg.checkpoint.every)
    pevery = int(cfg.progress.every)
    months = int(cfg.months)
    t_loop = time.time()
    m0 = model.month
    fault = _fault_injection(comm)
    signal_at = _signal_injection()
    step_seconds = 0.0
    while model.month < months:
        if fault is not None and model.month == fault:
            raise RuntimeError(f"injected fault on rank {comm.rank} at month {model.month} (HPCABM_FAULT)")
        ts = time.time()
        model.step()
        step_seconds += time.time() - ts
        if signal_at is not None and model.month == signal_at:
            stop.flag, stop.signame = 1, "SIGUSR1"
        stopping = comm.max_int(stop.flag)
        m = model.month
        if pevery and (m % pevery == 0 or m == months):
            el = time.time() - t_loop
            per = el / (m - m0)
            pf = model.progress_fields()
            extra = "  ".join(f"{k} {v}" for k, v in pf.items())
            say(f"[hpcabm] month {m}/{months}  {extra}  {per:.3f} s/month  ETA {_fmt_eta(per * (months - m))}",
                flush=True)
        if stopping:
            p = write_checkpoint(comm, ckdir, model, cfg_text, keep=int(cfg.checkpoint.keep))
            say(f"[hpcabm] stop signal received: checkpoint {p} written at month {m}; "
                f"resubmit with --restart {ckdir}", flush=True)
            write_status(comm, out_dir, f"interrupted month {m}")
            return EXIT_INTERRUPTED
        if every and m % every == 0 and m < months:
            write_checkpoint(comm, ckdir, model, cfg_text, keep=int(cfg.checkpoint.keep))
    write_checkpoint(comm, ckdir, model, cfg_text, keep=int(cfg.checkpoint.keep))
    wall = time.time() - t_start
    path = write_results(comm, os.path.join(out_dir, "results.h5"), model, cfg_text, wall,
                         extra_attrs={"timers": repr({k: round(v, 4) for k, v in model.timers.items()}),
                                      "step_seconds": step_seconds, "months_run": model.month - m0})
    write_status(comm, out_dir, "complete")
    say(f"[hpcabm] done: {path} ({wall:.1f} s)", flush=True)
    return 0


__all__ = ["run", "Config", "EXIT_INTERRUPTED"]
