"""``python -m bench claims``: the published claims the verdicts check, and (``--calibrate N``) how often they
are wrong under the null and how often they confirm a planted effect of the published size."""

from __future__ import annotations

import time

from tabulate import tabulate

from bench.analysis.calibration import false_verdict_rates, power_table
from bench.analysis.claims import CLAIMS, claims_markdown


def print_claims(markdown: bool = False, sweeps: int = 0) -> int:
    if markdown:
        print(claims_markdown(), end="")
        return 0
    if not sweeps:
        rows = [[c.id, c.wording, c.check, c.effect] for c in CLAIMS]
        print(tabulate(rows, ["id", "claim", "check", "effect it needs"], maxcolwidths=[26, 50, 18, 40]))
        print("\n`--calibrate 1000` measures each claim's false-verdict rate and its power (docs/verdicts.md).")
        return 0
    start = time.perf_counter()
    rates = false_verdict_rates(sweeps)
    print(f"Under the null ({sweeps} simulated sweeps per claim, identical models):\n")
    print(tabulate(rates, headers="keys", showindex=False, floatfmt=".3f"))
    power = power_table()
    print("\nPower under planted effects of the published size (200 sweeps each, one length):\n")
    print(tabulate(power, headers="keys", showindex=False, floatfmt=".2f", maxcolwidths=[24, 50]))
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0
