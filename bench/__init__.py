"""seqbench's harness: ``python -m bench run|speed|gradients|report|list``.

The subpackages follow the data: ``config`` (what was asked) -> ``sweep`` and ``commands`` (what to run)
-> ``engines`` (where it runs, each job in a process of its own) -> ``train`` and ``measure`` (the work)
-> ``store`` (records on disk) -> ``analysis`` (tables and verdicts from records) -> ``report`` (rendered).
``cli`` ties them together. Imports run down this list, never up; ``docs/design.md`` explains the layers.
"""
