"""The sweep: plan the runs of ``python -m bench run`` (with their run keys), resume, and run each as a job.

May import ``bench.engines``, ``bench.config``, ``bench.train``, ``bench.store``, ``bench.measure``, ``models``
and ``tasks``; never ``commands`` or ``cli``.
"""
