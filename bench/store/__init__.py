"""Records on disk: schema-versioned JSONL files, the results-folder view that picks runs, and checkpoints.

May import ``tasks`` and ``models`` (checkpoints only, lazily loaded by who needs them); never the layers above.
"""
