"""Training: the budget every model of a comparison shares, the one training loop, and evaluation.

May import ``models``, ``tasks`` and ``bench.measure``; never the layers above.
"""
