"""Measuring on the machine: timing, peak memory, the environment, seeds and the torch settings of a run.

The lowest layer of the harness: imports torch and nothing of ``bench``.
"""
