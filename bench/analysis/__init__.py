"""From records to tables and verdicts: learning-rate choice, cells over seeds, statistics, published-outcome
and gradient verdicts, speed tables. Pandas only: imports ``bench.store``'s readers, never torch or ``models``."""
