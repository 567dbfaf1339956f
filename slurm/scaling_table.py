#!/usr/bin/env python
"""Turn the run directories of a scaling study into a table and an efficiency plot.

    python slurm/scaling_table.py runs/scaling-strong-P* [--png scaling.png]

Strong scaling (same N in every run): speedup S_P = t_1 / t_P, efficiency S_P / P (t = seconds
per month of the step loop, relative to the smallest rank count if 1 is absent: t_min*P_min/P).
Weak scaling (N proportional to P): efficiency = t_Pmin / t_P."""
import sys

from hpcabm.analysis.scaling import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
