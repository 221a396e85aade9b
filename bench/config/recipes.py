"""Published comparisons as recipes for ``python -m bench replicate``: the source, its setting, its numbers,
and the sweeps that rerun it at two scales.

``full`` is the published setting (lengths, size, steps), for a GPU or a cluster. ``small`` shrinks
lengths, steps and sizes so that a recipe runs in about 15 minutes on 2 CPU cores with 3 seeds, keeping
what the published claim depends on; each recipe says what was shrunk and why the claim should survive.

A published number is compared with ours by what it says, not its digits: solved or not, at the
baseline or below it (``Published.expect``). Where the source has no row for a model we run (a
positive control), there is no published number and the row is shown for reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXPECTATIONS = ("solved", "not solved", "baseline", "learns")


@dataclass(frozen=True)
class Published:
    model: str  # the family of ours that stands for the paper's row
    expect: str | None  # what the number says (EXPECTATIONS); None: no published row, ours shown for reference
    value: str = "-"  # the published number as printed, e.g. "0.164"
    note: str = ""  # how the paper's row maps onto ours, where it needs saying
    sweep: str = ""  # the recipe's sweep the row belongs to (recipes of several sweeps)


@dataclass(frozen=True)
class Scale:
    lengths: list[int]
    params: int
    steps: int
    batch_size: int
    lrs: list[float]
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    eval_every: int = 100
    val_size: int = 256
    test_size: int = 1024
    task_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sweep:
    """One sweep of a recipe: its label (its folder, when a recipe has several) and what it changes."""

    label: str = ""
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)  # scale -> a size other than the scale's


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str
    setting: str  # the published setting, in words
    claim: str  # what the comparison shows, in words
    task: str
    variant: str
    models: list[str]
    published: list[Published]
    scales: dict[str, Scale]
    shrunk: str  # what the small scale shrinks, and why the claim should survive it
    sweeps: list[Sweep] = field(default_factory=lambda: [Sweep()])


RECIPES: dict[str, Recipe] = {
    "tcn-adding": Recipe(
        name="tcn-adding",
        source="Bai, Kolter & Koltun 2018, Table 1",
        setting="adding with the markers anywhere, T = 600, about 70k parameters; MSE",
        claim="the GRU solves the adding problem at T = 600 where the LSTM and the tanh RNN stay at the baseline",
        task="adding", variant="tcn", models=["rnn", "lstm", "gru"],
        published=[Published("rnn", "baseline", "0.177"), Published("lstm", "baseline", "0.164"),
                   Published("gru", "solved", "5.3e-5")],
        scales={
            # Their data: 50,000 sequences, 10 epochs at batch 32 (the repository's adding defaults).
            "full": Scale(lengths=[600], params=70_000, steps=15_625, batch_size=32, lrs=[1e-3, 4e-3],
                          eval_every=500, val_size=1000, test_size=1000),
            "small": Scale(lengths=[200], params=20_000, steps=800, batch_size=32, lrs=[4e-3], eval_every=100),
        },
        shrunk="T 600 -> 200, 70k -> 20k parameters, 15,625 -> 800 steps, one learning rate. A tanh RNN's gradient "
        "falls by tens of decades per 100 steps (`bench gradients`), so 200 steps are as out of its reach as 600; "
        "the GRU's gates carry the gradient at either length. The LSTM's failure is the most budget-dependent row.",
    ),
    "tcn-copying": Recipe(
        name="tcn-copying",
        source="Bai, Kolter & Koltun 2018, Table 1",
        setting="copying, TCN layout, T = 1000, about 16k parameters; cross-entropy over all steps",
        claim="the LSTM, the GRU and the tanh RNN all stay at the memoryless baseline (0.0204) on copying at T = 1000",
        task="copying", variant="tcn", models=["rnn", "lstm", "gru", "ssm"],
        published=[Published("rnn", "baseline", "0.0202"), Published("lstm", "baseline", "0.0204"),
                   Published("gru", "baseline", "0.0197"),
                   Published("ssm", None, note="not in the table: a positive control that can solve copying")],
        scales={
            # Their data: 10,000 sequences, 50 epochs at batch 32 (the repository's copying defaults).
            "full": Scale(lengths=[1000], params=16_000, steps=15_600, batch_size=32, lrs=[5e-4, 1e-3],
                          eval_every=500, val_size=500, test_size=1000),
            "small": Scale(lengths=[200], params=16_000, steps=2000, batch_size=32, lrs=[1e-3], eval_every=200),
        },
        shrunk="T 1000 -> 200 and 15,600 -> 2,000 steps at the published size (600 left the SSM, the positive "
        "control, short of solving: a plateau says something only where another model leaves it). At T = 200 an "
        "LSTM already sits at the baseline in Kerg et al. 2019; the memoryless plateau is what a short budget "
        "gives, so shrinking the budget should not lift the RNNs off it. The SSM is added as a positive control.",
    ),
    "mamba-selective-copying": Recipe(
        name="mamba-selective-copying",
        source="Gu & Dao 2023, Table 1",
        setting="selective copying as the S4 repository generates it: L = 4096, 16 tokens, vocabulary 16, 2 layers, "
        "D = 64; recall accuracy",
        claim="a time-invariant SSM (S4 without gating) stays far below the selective SSM (S6, Mamba)",
        task="selective_copying", variant="mamba", models=["ssm", "mamba", "transformer"],
        published=[Published("ssm", "not solved", "18.3%", "S4 without gating: our ssm, a diagonal S4D"),
                   Published("mamba", "solved", "99.8%", "S6 in the Mamba block"),
                   Published("transformer", None, note="no attention row in the table")],
        scales={
            "full": Scale(lengths=[4096], params=100_000, steps=100_000, batch_size=64, lrs=[1e-3],
                          eval_every=2000, val_size=512, test_size=1024),
            "small": Scale(lengths=[64], params=20_000, steps=1500, batch_size=64, lrs=[3e-3], eval_every=250,
                           task_params={"n_symbols": 8}),
        },
        shrunk="L 4096 -> 64 noise steps, 16 -> 8 tokens, about 100k -> 20k parameters, far fewer steps. The claim "
        "is about kind, not length: a time-invariant layer applies the same kernel whatever the input, so it cannot "
        "pick tokens out by content at any length, while a selective one can.",
    ),
    "zoology-mqar": Recipe(
        name="zoology-mqar",
        source="Arora et al. 2023 (Zoology), MQAR",
        setting="multi-query associative recall (vocabulary 8192, 4-64 key-value pairs, sequences 64-512): accuracy "
        "against model width",
        claim="attention recalls the pairs at small width, where fixed-state models need more width",
        task="associative_recall", variant="zoology", models=["transformer", "ssm", "lstm"],
        published=[Published(m, expect, sweep=label, note="read from the figure: no table of numbers")
                   for label in ("narrow", "wide")
                   for m, expect in (("transformer", "solved"), ("ssm", "not solved"), ("lstm", "not solved"))],
        scales={
            "full": Scale(lengths=[256], params=1_000_000, steps=20_000, batch_size=64, lrs=[1e-3],
                          eval_every=1000, val_size=500, test_size=3000, task_params={"n_pairs": 16}),
            "small": Scale(lengths=[64], params=20_000, steps=1500, batch_size=64, lrs=[3e-3], eval_every=250,
                           task_params={"vocab_size": 128, "n_pairs": 8}),
        },
        sweeps=[Sweep("narrow"), Sweep("wide", params={"small": 50_000, "full": 2_000_000})],
        shrunk="vocabulary 8192 -> 128 (an embedding of 8192 rows alone would exceed the budget), sequences of 64 with "
        "8 pairs, two sizes (about 20k and 50k parameters: the Transformer 24 and 40 wide) instead of a width "
        "sweep, 1,500 steps (at 600 no model had learned the recall, so the claim could not show; Mamba, which "
        "has no published row here and costs 5x the Transformer's step on a CPU, was dropped to pay for them). "
        "The claim compares how recall capacity grows with width in attention (a cache of every pair) and in a "
        "fixed state; it holds at any vocabulary larger than the pairs.",
    ),
    "chrono-copying": Recipe(
        name="chrono-copying",
        source="Tallec & Ollivier 2018, copying experiments",
        setting="LSTM with 128 units on copying, T = 500 and 2000, RMSprop 1e-3",
        claim="chrono initialisation takes the LSTM well below the memoryless baseline where the standard "
        "initialisation plateaus on it",
        task="copying", variant="arjovsky", models=["lstm"],
        published=[Published("lstm", "baseline", "plateau", "standard initialisation (forget bias 1)", "standard"),
                   Published("lstm", "learns", "well below the baseline", "chrono initialisation", "chrono")],
        scales={
            "full": Scale(lengths=[500, 2000], params=70_000, steps=20_000, batch_size=32, lrs=[1e-3],
                          eval_every=1000, val_size=500, test_size=1000),
            "small": Scale(lengths=[200], params=20_000, steps=4000, batch_size=32, lrs=[3e-3], eval_every=200),
        },
        sweeps=[Sweep("standard", {"lstm": {"forget_bias": 1.0}}), Sweep("chrono", {"lstm": {"chrono": 300}})],
        shrunk="T 500 -> 200, 128 units (about 70k parameters) -> 20k, 20,000 -> 4,000 steps (800 left the chrono "
        "LSTM's interval overlapping the baseline band). Chrono initialisation sets the forget gates' time scales up "
        "to T_max (300 here, above T): the memory it gives at step 0 is what the standard initialisation must "
        "learn, and a short budget favours the model that need not learn it.",
    ),
}  # fmt: skip
