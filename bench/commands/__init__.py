"""The commands besides ``run``: ``speed`` (and its sampling jobs), ``gradients`` and ``list``. Each plans jobs
for the engines. May import ``bench.engines`` and everything below it; never ``sweep`` or ``cli``."""
