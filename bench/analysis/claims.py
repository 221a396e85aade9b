"""Published claims as data: one ``Claim`` type for the sweep outcomes, the gradient outcomes and the rows of a
replication recipe, judged by one engine (``bench.analysis.verdicts``) in one vocabulary: *confirmed*,
*contradicted*, *unclear*, *not measured*.

A claim names the models it speaks about by trait (``models.base.TRAITS``, stored in every record) or, for a
recipe's row, by the family that stands for the paper's row; what it checks (``CHECKS``); the effect it needs
(a gap, a band, a share) and where that number comes from. ``docs/published-outcomes.md`` is generated from
this module (``python -m bench claims --markdown``) and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a claim can check, and the test each uses (bench/analysis/verdicts.py holds one judge per check).
CHECKS = {
    "stays_at_baseline": "TOST of the seeds' gain over the baseline within ±band (t), and Boschloo's exact test "
    "that a positive control solves more often; contradicted by a one-sided t test of a gain past the band",
    "learns": "one-sided t test of the seeds' gain past the band; contradicted by the TOST within ±band",
    "solves": "exact binomial test that the solve probability exceeds the share; contradicted by the opposite "
    "test where a positive control exceeds it",
    "does_not_solve": "exact binomial test that the solve probability is below the share, where a positive "
    "control exceeds it; contradicted by the opposite test",
    "ahead": "permutation test over seeds that the subject's metric exceeds each rival's by the gap (or "
    "Boschloo's exact test on solved counts); contradicted by the opposite test, where (on the metric) the subject "
    "also learns past the baseline band: a subject at the baseline was not trained far enough to show a gap",
    "degrades": "paired sign-flip permutation test over seeds that the metric drops by at least the gap from "
    "the trained length to the longest tested; contradicted by the opposite test, where the model also learns past "
    "the baseline band at the trained length (one that never learned has nothing to lose)",
    "faster": "permutation test over seeds that the subject's log10 steps to solve are below each rival's by "
    "log10 of the factor (a seed that never solved counts at the steps it was given, a lower bound on its time); "
    "contradicted by the opposite test (the subject no faster)",
    "gradient_decays": "one-sided t test over seeds that the gradient's reach (log10 far/near) is below -2; "
    "contradicted by a reach above -1",
    "gradient_slower": "permutation test over seeds that the ungated model's decay exceeds 3x the gated one's; "
    "contradicted where the gated one decays faster",
    "gradient_flat": "one-sided t test over seeds that the reach is above -1; contradicted by a reach below -2",
}
BASELINE_BAND = 0.1  # "at the baseline": within 10% of the way from the baseline to a perfect score
SOLVE_SHARE = 0.5  # "solves": a seed solves more often than not


@dataclass(frozen=True)
class Kind:
    """The models a claim speaks about: every trait of ``all_of`` and none of ``none_of``; or, where ``models``
    is given, the families named there; or, where ``labels`` is (a recipe's row), the cells of those labels (a
    family with its options, in its sweep)."""

    name: str  # how the claim calls them, e.g. "a tanh RNN"
    all_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    def matches(self, model: str, traits: frozenset[str] | set[str], label: str | None = None) -> bool:
        if self.labels:
            return label in self.labels
        if self.models:
            return model in self.models
        return set(self.all_of) <= traits and not set(self.none_of) & traits


ANY_OTHER = Kind("any other model in the same setting")


@dataclass(frozen=True)
class Claim:
    id: str
    wording: str
    source: str  # paper, and table or figure
    setting: str  # the published setting and numbers, in words, as printed
    check: str  # a key of CHECKS
    subject: Kind
    rival: Kind | None = None  # ahead: the models it is ahead of; stays_at_baseline, solves...: positive controls
    task: str = "*"  # the task it speaks about ("*": any)
    variants: tuple[str, ...] = ()  # the task variants (names like "tcn"); empty: any
    lengths: tuple[int, int | None] = (1, None)  # the range of T it speaks about, inclusive
    measure: str = "metric"  # ahead: "metric" (the task's metric) or "solved" (solved counts)
    gap: float = 0.0  # ahead: the metric gap it needs; degrades: the drop it needs; faster: the factor in steps
    band: float = BASELINE_BAND  # stays_at_baseline, learns: the equivalence band (fraction of the way to perfect)
    share: float = SOLVE_SHARE  # solves, does_not_solve: the solve probability it is read against
    control: str = "solves"  # stays_at_baseline: what shows the budget suffices: a control that "solves" more often,
    # or one that "learns" (its gain over the baseline beats the subject's by the band)
    effect: str = ""  # where the effect size comes from

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"claim {self.id}: check must be one of {', '.join(CHECKS)}; got {self.check!r}")

    @property
    def controls(self) -> Kind:
        return self.rival or ANY_OTHER

    def applies_to(self, task: str, variant: str) -> bool:
        return self.task in (task, "*") and (not self.variants or variant in self.variants)


# Published "classic RNN" outcomes are about the classic initialisation: a chrono-initialised LSTM is the
# intervention that claims to escape them (Tallec & Ollivier 2018), not one of them.
CLASSIC_RNN = Kind("classic RNNs (tanh, LSTM, GRU)", ("recurrent",), ("linear_recurrence", "long_memory_init"))
TANH_RNN = Kind("a tanh RNN", ("recurrent",), ("gated",))
GATED_RNN = Kind("a gated RNN", ("recurrent", "gated"), ("linear_recurrence",))
LTI_SSM = Kind("a time-invariant SSM", ("ssm", "time_invariant"))

CLAIMS: list[Claim] = [
    Claim("adding-tanh-baseline", "a tanh RNN stays at the baseline where a gated RNN solves the task",
          "Bai, Kolter & Koltun 2018, Table 1",
          "adding, markers anywhere, T = 600, about 70k parameters: MSE tanh RNN 0.177, LSTM 0.164, GRU 5.3e-5 "
          "(baseline 0.167); read here from T = 100 on", "stays_at_baseline", TANH_RNN, GATED_RNN, task="adding",
          variants=("halves", "tcn"), lengths=(100, None),
          effect="band 10%: the adding problem's usual 'failed' line, MSE >= 90% of the baseline"),
    Claim("copying-classic-baseline", "classic RNNs stay at the memoryless baseline at long delays",
          "Bai, Kolter & Koltun 2018, Table 1; Kerg et al. 2019",
          "copying, T = 1000 (TCN layout), about 16k parameters: cross-entropy LSTM 0.0204, GRU 0.0197, tanh RNN "
          "0.0202 (baseline 0.0204); an LSTM at T = 200 flat at the baseline", "stays_at_baseline", CLASSIC_RNN,
          task="copying", variants=("arjovsky", "tcn"), lengths=(200, None),
          effect="band 10% of the way from chance recall to perfect"),
    Claim("copying-lti-solves", "a time-invariant SSM solves vanilla copying", "Gu & Dao 2023, §3.1",
          "copying needs time-awareness only, which a time-invariant convolution has (qualitative)", "solves",
          LTI_SSM, task="copying", variants=("arjovsky", "tcn"), lengths=(100, None),
          effect="solves: more seeds solve than not"),
    Claim("selective-lti-far-below", "a time-invariant SSM scores far below a selective SSM",
          "Gu & Dao 2023, Table 1",
          "selective copying, L = 4096, 16 tokens, vocabulary 16, 2 layers: accuracy LTI S4 18.3%, S6 (Mamba) "
          "99.8%", "ahead", Kind("a selective SSM", ("ssm", "selective")), LTI_SSM, task="selective_copying",
          variants=("mamba",), lengths=(64, None), gap=0.4,
          effect="gap 0.4 in recall accuracy: half the published 81.5 points, rounded down"),
    Claim("selective-minimal-solves", "stacked minimal RNNs (gates from the input only) solve selective copying",
          "Feng et al. 2024 (Were RNNs All We Needed?), selective copying",
          "the Mamba setting; the paper reports the task solved once layers are stacked (qualitative here)",
          "solves", Kind("a minimal RNN", ("recurrent", "linear_recurrence")), task="selective_copying",
          variants=("mamba",), lengths=(64, None), effect="solves: more seeds solve than not"),
    Claim("recall-attention-ahead", "attention recalls associations better than fixed-state models",
          "Arora et al. 2023 (Zoology), Figure 2",
          "MQAR accuracy against model width: attention solves at small width, fixed-state models need width "
          "growing with the pairs (a figure, no table)", "ahead", Kind("attention", ("attention",)),
          Kind("every fixed-state model", ("fixed_state",)), task="associative_recall", variants=("zoology",),
          lengths=(64, None), gap=0.1, effect="gap 0.1 in query accuracy: a stated minimum (the figure has no table)"),
    Claim("absolute-positions-degrade", "attention with absolute positions degrades beyond its training length",
          "Gu & Dao 2023, Table 11", "induction heads trained at 256: 100% at 256, 58.6% at 512, 26.6% at 1024",
          "degrades", Kind("attention with absolute positions", ("attention", "absolute_positions")), gap=0.2,
          effect="drop 0.2 in the metric: half the published 41-point drop at twice the length, rounded down"),
    Claim("gradient-tanh-decays", "the loss gradient of a tanh RNN decays exponentially with distance",
          "Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013", "theory and measurements on tanh RNNs",
          "gradient_decays", TANH_RNN, effect="reach below -2: the far end 100x weaker than the near end"),
    Claim("gradient-gated-slower", "LSTM and GRU carry the gradient far further than the tanh RNN",
          "Hochreiter & Schmidhuber 1997; Cho et al. 2014", "the gates open a path through time", "gradient_slower",
          GATED_RNN, TANH_RNN, effect="decay per 100 steps at most a third of the tanh RNN's"),
    Claim("gradient-one-hop-flat", "attention and a convolutional SSM reach every step in one hop: no decay",
          "Vaswani et al. 2017; Gu, Goel & Ré 2022", "one hop from any step to the output", "gradient_flat",
          Kind("one-hop models", ("one_hop",)), effect="reach above -1: the far end less than 10x weaker"),
]  # fmt: skip

GRADIENT_CHECKS = ("gradient_decays", "gradient_slower", "gradient_flat")


def claims_markdown() -> str:
    """docs/published-outcomes.md, from ``CLAIMS`` and ``CHECKS``."""
    lines = [
        "# Published outcomes the harness checks",
        "",
        "Generated from `bench/analysis/claims.py` by `python -m bench claims --markdown`; a test keeps them equal.",
        "Every verdict is a statistical test at the 5% level after correction (docs/verdicts.md). A sweep that",
        "contradicts one of these is a finding to explain (its budget, its seeds, a bug) before it is a discovery.",
        "",
        "| id | claim | source | published setting | check | models | effect it needs |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in CLAIMS:
        models = c.subject.name + (f" against {c.rival.name}" if c.rival else "")
        scope = c.task if c.task != "*" else "any task"
        scope += f" ({', '.join(c.variants)})" if c.variants else ""
        scope += f", T >= {c.lengths[0]}" if c.lengths[0] > 1 else ""
        lines.append(f"| {c.id} | {c.wording} ({scope}) | {c.source} | {c.setting} | {c.check} | {models} | "
                     f"{c.effect} |")  # fmt: skip
    lines += ["", "## The checks", "", "| check | test |", "|---|---|"]
    lines += [f"| {name} | {test} |" for name, test in CHECKS.items()]
    return "\n".join(lines) + "\n\n" + OTHER_RESULTS


# Published results the README compares with that no claim above checks.
OTHER_RESULTS = """## Other published results the README compares with

| source | task, T | models, size | result |
|---|---|---|---|
| Bai, Kolter & Koltun 2018, Table 1 | copying (TCN layout), T = 1000, about 16k parameters | LSTM / GRU / tanh RNN | cross-entropy 0.0204 / 0.0197 / 0.0202: all at the memoryless baseline 0.0204 |
| Kerg et al. 2019 (nnRNN), supplement figure | copying, T = 200, about 19k parameters, batch 10, about 1,000 updates | LSTM | flat at the baseline, about 0.0945 |
| Tallec & Ollivier 2018 | adding T = 200 and 750; copying T = 500 and 2000 | LSTM with 128 units, RMSprop 1e-3 | adding learned; on copying, chrono initialisation goes well below the baseline where the standard one plateaus |
| Hochreiter & Schmidhuber 1997, Table 7 | adding (1997 form), T = 100 / 500 / 1000 | LSTM, 93 weights | solved after 74k / 209k / 853k training sequences |

What these say together: gated RNNs solve the adding problem at moderate T but depend on initialisation
and budget; tanh RNNs fail beyond a few hundred steps; RNNs sit at the memoryless baseline on copying at
T >= 500 within ordinary budgets; a diagonal LTI SSM and attention can do vanilla copying at large T. A
tanh RNN solving adding at T = 1000, or near 100% on copying with a memoryless loss, points to a leak or a
too-easy generator first.
"""
