"""How fast the meter forgets its start (docs/models/exchange.md, "the meter's wealth").

    python validation/meter_relaxation.py jobs/entropy/price_sum.yaml --scale 0.5 1 2 --sweeps 20000

For each scale f, one economy at (M, G1, G2) of the config (default: its exchange.money/good1/good2)
starts as `hpcabm entropy` starts it, then the meter's holdings (money and goods) are multiplied by
f, and the meter's readings beta*M and nu1*G1 are printed per block of sweeps. A meter that is in
thermal contact with the economy reads the same values from every start after a few
autocorrelation times; where the readings stay apart, the meter's total wealth is (nearly)
conserved by the contact and a reading reflects the start."""
import argparse

import numpy as np

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.exchange.model import build_economy, start


def relax(cfg, scale, sweeps, block, seed):
    ex = cfg.exchange
    M, G1, G2 = float(ex.money), float(ex.good1), float(ex.good2) if int(ex.goods) == 2 else 0.0
    econ = build_economy(cfg, Comm(), seed=seed)
    start(econ, cfg, M, G1, G2)
    econ.mm *= scale
    econ.mg1 *= scale
    econ.mg2 *= scale
    sums = econ.sweeps(sweeps)
    nb = sweeps // block
    means = sums[: nb * block].reshape(nb, block, 3).mean(axis=1) / econ.n_meter
    with np.errstate(divide="ignore"):
        return econ.meter[0] / means[:, 0] * M, econ.meter[1] / means[:, 1] * G1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--scale", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    ap.add_argument("--sweeps", type=int, default=20000)
    ap.add_argument("--block", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, args.set)
    print(f"# {args.config}: beta*M and nu1*G1 of the meter per block of {args.block} sweeps")
    for f in args.scale:
        b, n = relax(cfg, f, args.sweeps, args.block, args.seed)
        print(f"scale {f:g}  beta*M: " + " ".join(f"{v:.0f}" for v in b))
        print(f"scale {f:g}  nu1*G1: " + " ".join(f"{v:.0f}" for v in n))


if __name__ == "__main__":
    main()
