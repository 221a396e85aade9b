"""The fuzz suite's hypothesis profile: reproducible in CI (derandomized, no example database written into the
checkout, no deadline on a machine whose CPU is shared). ``SEQBENCH_FUZZ_SCALE=20`` multiplies every test's
example count, for a deeper search by hand; the counts as run in CI are in docs/reliability.md."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "seqbench",
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure in CI reproduces on any machine
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.load_profile("seqbench")


def pytest_terminal_summary(terminalreporter):
    from tests.fuzz.harness import ACCEPTED, EXAMPLES_RUN

    if EXAMPLES_RUN:
        counts = ", ".join(f"{name} {n} ({ACCEPTED[name]} accepted)" for name, n in sorted(EXAMPLES_RUN.items()))
        terminalreporter.write_line(f"fuzzed inputs per command: {counts}; total {sum(EXAMPLES_RUN.values())}")
