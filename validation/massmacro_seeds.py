#!/usr/bin/env python
"""MASs Macro calibration across seeds (issue 6): the stylised-facts table of `hpcabm report` for
several runs side by side, with how many seeds pass each target.

    .venv/bin/python validation/massmacro_seeds.py runs/mm1e6_s1 runs/mm1e6_s2 runs/mm1e6_s3

Prints a Markdown table (statistic, target, the value of each seed, seeds passing) for docs/."""
import sys

import hpcabm
from hpcabm.analysis.massmacro_report import facts


def main(dirs):
    tables = [facts(hpcabm.load(d)) for d in dirs]
    names = [r[0] for r in tables[0]]
    head = "| statistic | target | " + " | ".join(f"seed {i + 1}" for i in range(len(dirs))) + " | seeds passing |"
    print(head)
    print("|" + "---|" * (len(dirs) + 3))
    for i, name in enumerate(names):
        rows = [t[i] for t in tables]
        target = rows[0][2].rsplit("  [", 1)[0]
        passes = sum(r[2].endswith("[pass]") for r in rows)
        vals = " | ".join(r[1] for r in rows)
        print(f"| {name} | {target} | {vals} | {passes}/{len(rows)} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
