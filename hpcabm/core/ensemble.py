"""Monte Carlo ensembles and parameter sweeps for any model (`hpcabm ensemble`).

An ensemble is R runs ("members") of one config with seeds spawned from the config's seed
(`rng.spawn_seeds`), optionally for every point of a parameter sweep (`--sweep key=v1,v2,...`;
several sweeps form their Cartesian product) or of a design file (`--design FILE.yaml`: a list of
points); every point reuses the same R seeds, i.e. common random numbers across points (unless
a point sets its own `seed`; `--seeds halton` uses base-2 Halton integers instead, see halton_seeds). COMM_WORLD is split into groups of `ranks_per_member` ranks; group g
runs the pending members g, g+G, g+2G, ... one at a time, each through the ordinary runner
(`hpcabm.core.runner.run`) on the group's sub-communicator, into its own run directory:

  DIR/members/p<point>_r<run>/   config.yaml, results.h5, checkpoints/, STATUS   (a normal run dir)
  DIR/ensemble.h5                assembled by world rank 0 from the members' results.h5

A member is finished when its results.h5 exists (the runner publishes it by atomic rename after
verifying it). Running the same command again skips finished members and restarts unfinished ones
from their newest valid checkpoint, so a job killed at its time limit loses only the periods since
the members' last checkpoints. Each member is bitwise identical to `hpcabm run` of its config on
`ranks_per_member` ranks, hence (for models that are rank-count invariant) to any grouping.

ensemble.h5 layout (member dimension first; members ordered by (point, run)):
  attrs              model, base_config (YAML), runs, points, members, members_done, complete,
                     sweep_keys, ranks, ranks_per_member, wall_time (this invocation), version
  /members/name      'p000_r00012' (bytes); /members/point, /members/run, /members/seed,
  /members/done (0/1), /members/months, /members/wall_time, /members/ranks, /members/config (YAML)
  /members/sweep/<key>   the sweep value of each member (float64, or bytes for strings)
  /series/<name>     (members, periods) as written by each member (rows of unfinished members:
                     NaN for floats, 0 for ints; check /members/done); shorter runs are padded the same way
  /final/<name>      the members' /final/<name> tables concatenated in member order;
                     /final_offsets/<name> (members + 1) row offsets of each member's block
"""
import itertools
import os
import sys
import time

import h5py
import numpy as np
import yaml

from hpcabm import __version__
from hpcabm.core import rng
from hpcabm.core.config import Config, ConfigError, load_config

ENSEMBLE_FILE = "ensemble.h5"


# -- planning (world rank 0) ------------------------------------------------------------------
def split_values(text):
    """'a,b,[1, 2],c' -> ['a', 'b', '[1, 2]', 'c'] (commas inside brackets or braces do not split)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_sweeps(sweeps):
    """['a.b=1,2', 'c=x,y'] -> [('a.b', ['1', '2']), ('c', ['x', 'y'])] (values kept as YAML text)."""
    out = []
    for s in sweeps or []:
        if "=" not in s:
            raise ConfigError(f"config error: --sweep {s!r}: expected key=v1,v2,...")
        k, v = s.split("=", 1)
        vals = split_values(v)
        if not vals:
            raise ConfigError(f"config error: --sweep {s!r}: no values")
        if k.strip() in [x[0] for x in out]:
            raise ConfigError(f"config error: --sweep {k.strip()}: given twice")
        out.append((k.strip(), vals))
    return out


def member_name(point, run):
    return f"p{point:03d}_r{run:05d}"


def read_design(path):
    """A design file (YAML): a list of points, each a mapping of dotted keys to values, e.g.
    `- {ks.mu1: 0.04, ks.phi: 0.4}`. Returns (keys in first-seen order, list of {key: value})."""
    from hpcabm.core.config import load_yaml
    if not os.path.exists(path):
        raise ConfigError(f"config error: --design: file not found: {path}")
    pts = load_yaml(path)
    if not isinstance(pts, list) or not pts or not all(isinstance(p, dict) and p for p in pts):
        raise ConfigError(f"config error: --design {path}: expected a non-empty list of mappings "
                          "(one per point, dotted keys)")
    keys = []
    for p in pts:
        keys += [k for k in p if k not in keys]
    return keys, pts


def _yaml_value(v):
    return yaml.safe_dump(v, default_flow_style=True).replace("\n...", "").strip()


def halton_seeds(n):
    """Seeds floor(H2(k) 2^63) for k = 1..n, H2 = the base-2 Halton (van der Corput) point: the
    bits of k reversed behind the binary point, so the product is an exact integer < 2^63.
    (The "Halton-seed" Monte Carlo of seed 002; they only label and reproduce the runs: they give
    no statistical advantage over spawn_seeds.)"""
    out = []
    for k in range(1, n + 1):
        s, bit = 0, 62
        while k:
            s |= (k & 1) << bit
            k >>= 1
            bit -= 1
        out.append(s)
    return out


def plan(config_path, runs, sets=(), sweeps=(), design=None, seeds="spawn"):
    """Every member of the ensemble: list of dicts (name, point, run, seed, sweep, config dict),
    ordered by (point, run). Points: the Cartesian product of `sweeps`, or the rows of a `design`
    file (not both). Member seeds: `spawn` = rng.spawn_seeds(seed of the point's config, runs)
    (a point that sets `seed` gets its own seeds; otherwise every point shares the config's);
    `halton` = halton_seeds(runs) for every point. Raises ConfigError for a bad config, --set,
    sweep or design value."""
    if runs < 1:
        raise ConfigError("config error: --runs: must be >= 1")
    if seeds not in ("spawn", "halton"):
        raise ConfigError(f"config error: --seeds {seeds!r}: expected spawn or halton")
    base = load_config(config_path, sets)
    sw = parse_sweeps(sweeps)
    if design and sw:
        raise ConfigError("config error: --design and --sweep cannot be combined")
    if design:
        keys, rows = read_design(design)
        points = [[f"{k}={_yaml_value(row[k])}" for k in keys if k in row] for row in rows]
    else:
        keys = [k for k, _ in sw]
        points = [[f"{k}={v}" for k, v in zip(keys, vals)]
                  for vals in (itertools.product(*[v for _, v in sw]) if sw else [()])]
    quiet = not any(s.startswith("progress.") for s in sets)
    members = []
    for p, extra in enumerate(points):
        pcfg = load_config(config_path, list(sets) + extra)   # validates the point's values
        sweep = {k: pcfg.get(k) for k in keys}
        pseeds = halton_seeds(runs) if seeds == "halton" else rng.spawn_seeds(int(pcfg.seed), runs)
        for r in range(runs):
            d = pcfg.to_dict()
            d["seed"] = int(pseeds[r])          # both schemes give values in the schema's range
            if "progress" in d and quiet:
                d["progress"]["every"] = 0      # one line per member instead of per period
            members.append({"name": member_name(p, r), "point": p, "run": r, "seed": pseeds[r],
                            "sweep": sweep, "config": d})
    return base, keys, members


def member_dir(out_dir, m):
    return os.path.join(out_dir, "members", m["name"])


def member_state(out_dir, m):
    """'done' (results.h5 published), 'partial' (started: may hold checkpoints) or 'new'.
    A member directory written with a different config is an error: DIR holds another ensemble."""
    d = member_dir(out_dir, m)
    cfg_file = os.path.join(d, "config.yaml")
    if not os.path.exists(cfg_file):
        return "new"
    with open(cfg_file) as f:
        old = yaml.safe_load(f)
    want = m["config"]
    strip = lambda c: {k: v for k, v in c.items() if k not in ("progress", "checkpoint", "months")}
    if strip(old) != strip(want):
        raise ConfigError(f"ensemble error: {d} was run with a different config; {out_dir} holds "
                          "another ensemble (use a new --out)")
    if old.get("months") != want.get("months"):
        raise ConfigError(f"ensemble error: {d} was run for {old.get('months')} periods, "
                          f"this ensemble asks for {want.get('months')}; use a new --out")
    if os.path.exists(os.path.join(d, "results.h5")):
        return "done"
    return "partial"


# -- running ------------------------------------------------------------------------------------
def run_member(m, comm, out_dir, stop, log):
    """Run (or resume) one member on `comm` through the ordinary runner; returns its exit code."""
    from hpcabm.core.checkpoint import CheckpointError, find_restart, list_checkpoints
    from hpcabm.core.runner import run
    d = member_dir(out_dir, m)
    restart = None
    ck = os.path.join(d, "checkpoints")
    has_ck = comm.bcast(bool(os.path.isdir(ck) and list_checkpoints(ck)) if comm.is_root else None)
    if has_ck:
        try:
            restart = find_restart(comm, ck, log=lambda *a, **k: None)
        except CheckpointError:
            restart = None
    quiet = lambda *a, **k: None
    return run(Config(m["config"]), comm, d, restart=restart, log=quiet, stop=stop), restart


def run_ensemble(world, out_dir, base, sweep_keys, members, ranks_per_member=1, log=print):
    """Run the pending members over `world` (a Comm) in groups; world rank 0 then writes
    DIR/ensemble.h5. Returns 0 when every member is finished, 3 when stopped by a signal."""
    from hpcabm.core.runner import EXIT_INTERRUPTED, StopFlag
    t0 = time.time()
    k = int(ranks_per_member)
    if k < 1 or world.size % k:
        raise ConfigError(f"ensemble error: --ranks-per-member {k} must divide the {world.size} rank(s)")
    states = None
    if world.is_root:
        os.makedirs(os.path.join(out_dir, "members"), exist_ok=True)
        try:
            states = ("ok", [member_state(out_dir, m) for m in members])
        except ConfigError as e:
            states = ("error", str(e))
    status, states = world.bcast(states)
    if status == "error":
        raise ConfigError(states)
    pending = [m for m, s in zip(members, states) if s != "done"]
    ngroups = world.size // k
    color = world.rank // k
    group = world.split(color, world.rank)
    say = log if world.is_root else (lambda *a, **kw: None)
    say(f"[ensemble] {len(members)} member(s), {len(members) - len(pending)} already done, "
        f"{len(pending)} to run on {ngroups} group(s) of {k} rank(s)", flush=True)
    stop = StopFlag()
    stop.install()
    code = 0
    for i in range(color, len(pending), ngroups):
        if group.max_int(stop.flag):
            code = EXIT_INTERRUPTED
            break
        m = pending[i]
        t1 = time.time()
        rc, restarted = run_member(m, group, out_dir, stop, log)
        if group.is_root:
            what = "stopped (checkpoint written)" if rc == EXIT_INTERRUPTED else "done"
            again = f", resumed from {os.path.basename(restarted)}" if restarted else ""
            log(f"[ensemble] member {m['name']} seed {m['seed']} {what} in {time.time() - t1:.2f} s "
                f"(group {color}{again})", flush=True)
        if rc == EXIT_INTERRUPTED:
            code = EXIT_INTERRUPTED
            break
    code = world.max_int(code)
    wall = time.time() - t0
    if world.is_root:
        path, ndone = assemble(out_dir, base, sweep_keys, members,
                               {"ranks": world.size, "ranks_per_member": k, "wall_time": wall})
        log(f"[ensemble] {ndone}/{len(members)} member(s) finished; {path} written "
            f"({wall:.1f} s)" + ("; stopped by a signal: run the same command again to resume"
                                 if code else ""), flush=True)
    world.barrier()
    return code


# -- assembling ensemble.h5 (world rank 0, serial HDF5) -----------------------------------------
def _pad(dtype):
    return np.nan if np.dtype(dtype).kind == "f" else 0


def assemble(out_dir, base, sweep_keys, members, attrs):
    """Write DIR/ensemble.h5 from the members' results.h5 (atomic rename). Returns (path, done)."""
    res = []
    for m in members:
        p = os.path.join(member_dir(out_dir, m), "results.h5")
        res.append(p if os.path.exists(p) else None)
    done = np.array([r is not None for r in res], dtype=np.int8)
    M = len(members)
    series, finals, months, mwall, mranks, model = {}, {}, np.zeros(M, np.int64), np.full(M, np.nan), \
        np.zeros(M, np.int64), None
    for i, p in enumerate(res):
        if p is None:
            continue
        with h5py.File(p, "r") as f:
            model = f.attrs["model"]
            months[i] = int(f.attrs["months"])
            mwall[i] = float(f.attrs["wall_time"])
            mranks[i] = int(f.attrs["ranks"])
            for n in f.get("series", {}):
                series.setdefault(n, {})[i] = f["series"][n][...]
            for n in f.get("final", {}):
                finals.setdefault(n, {})[i] = f["final"][n][...]
    path = os.path.join(out_dir, ENSEMBLE_FILE)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["model"] = model if model is not None else base.model
        f.attrs["base_config"] = base.yaml()
        f.attrs["runs"] = int(max(m["run"] for m in members) + 1)
        f.attrs["points"] = int(max(m["point"] for m in members) + 1)
        f.attrs["members"] = M
        f.attrs["members_done"] = int(done.sum())
        f.attrs["complete"] = int(done.all())
        f.attrs["sweep_keys"] = ",".join(sweep_keys)
        f.attrs["version"] = __version__
        for k, v in attrs.items():
            f.attrs[k] = v
        g = f.create_group("members")
        g["name"] = np.array([m["name"].encode() for m in members])
        g["point"] = np.array([m["point"] for m in members], dtype=np.int64)
        g["run"] = np.array([m["run"] for m in members], dtype=np.int64)
        g["seed"] = np.array([m["seed"] for m in members], dtype=np.int64)
        g["done"] = done
        g["months"] = months
        g["wall_time"] = mwall
        g["ranks"] = mranks
        g["config"] = np.array([yaml.safe_dump(m["config"], sort_keys=False).encode() for m in members])
        sg = g.create_group("sweep")
        for k in sweep_keys:
            vals = [m["sweep"][k] for m in members]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
                sg[k] = np.array(vals, dtype=np.float64)
            else:
                sg[k] = np.array([(v if isinstance(v, str) else _yaml_value(v)).encode() for v in vals])
        s = f.create_group("series")
        T = int(months.max()) if M else 0
        for n, rows in series.items():
            dt = next(iter(rows.values())).dtype
            a = np.full((M, max(T, max(r.shape[0] for r in rows.values()))), _pad(dt), dtype=dt)
            for i, r in rows.items():
                a[i, : r.shape[0]] = r
            s[n] = a
        fg = f.create_group("final")
        og = f.create_group("final_offsets")
        for n, rows in finals.items():
            first = next(iter(rows.values()))
            counts = np.array([rows[i].shape[0] if i in rows else 0 for i in range(M)], dtype=np.int64)
            off = np.concatenate([[0], np.cumsum(counts)])
            fg[n] = np.concatenate([rows[i] for i in sorted(rows)]) if rows else first[:0]
            og[n] = off
    os.replace(tmp, path)
    return path, int(done.sum())


def load_ensemble(path):
    """{'attrs', 'members': {...}, 'series': {name: (M, T)}, 'final': {name: [per-member arrays]}}
    from DIR/ensemble.h5 or DIR. Members not finished are included; see members['done']."""
    if os.path.isdir(path):
        path = os.path.join(path, ENSEMBLE_FILE)
    out = {"attrs": {}, "members": {}, "series": {}, "final": {}}
    with h5py.File(path, "r") as f:
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        g = f["members"]
        for n in g:
            if isinstance(g[n], h5py.Group):
                out["members"][n] = {k: g[n][k][...] for k in g[n]}
            else:
                out["members"][n] = g[n][...]
        for n in f["series"]:
            out["series"][n] = f["series"][n][...]
        for n in f["final"]:
            a, off = f["final"][n][...], f["final_offsets"][n][...]
            out["final"][n] = [a[off[i]: off[i + 1]] for i in range(off.size - 1)]
    return out


def is_ensemble_dir(path):
    return os.path.isdir(path) and os.path.exists(os.path.join(path, ENSEMBLE_FILE))


def cli_main(args):
    """`hpcabm ensemble` (called by hpcabm.core.cli): plan on rank 0, broadcast, run, assemble."""
    from hpcabm.core.comm import Comm, abort_on_exception
    from hpcabm.core.cli import decide_on_root
    world = Comm()

    def planned():
        base, keys, members = plan(args.config, args.runs, args.set, args.sweep,
                                   getattr(args, "design", None), getattr(args, "seeds", "spawn"))
        return base.to_dict(), keys, members
    base, keys, members = decide_on_root(world, planned)

    def go():
        from hpcabm.core.checkpoint import CheckpointError
        try:
            return run_ensemble(world, args.out, Config(base), keys, members, args.ranks_per_member)
        except ConfigError as e:
            if world.is_root:
                sys.stderr.write(str(e) + "\n")
            sys.exit(2)
        except CheckpointError as e:
            if world.is_root:
                sys.stderr.write(f"checkpoint error: {e}\n")
            sys.exit(1)
    return abort_on_exception(world, go)
