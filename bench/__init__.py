"""seqbench harness: configuration, planning, training, measurement, storage and summaries."""
