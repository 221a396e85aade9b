"""Where jobs execute: the job protocol, process isolation, and the local, Ray and SLURM engines.

May import ``bench.config``, ``bench.store``, ``bench.measure`` and torch; never ``sweep``, ``commands`` or ``cli``.
"""
