"""Records on disk: schema-versioned JSONL files and the results-folder view that picks runs.

Reads and writes records, never builds a model: it imports neither ``models``, ``tasks`` nor torch (a run's weights
are rebuilt in ``bench.checkpoints``); never the layers above.
"""
