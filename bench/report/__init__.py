"""The report: sections built from a results folder's records, rendered for the terminal, as markdown and as
HTML, with seaborn figures. May import ``bench.analysis`` and ``bench.store``'s readers; never torch or ``models``."""
