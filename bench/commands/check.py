"""``python -m bench check NAME...``: the contract checks (``bench.contract``) of models and tasks, built in or
plugin, one line per check. Nothing is written."""

from __future__ import annotations

from bench.contract import ContractError, kind_of, run_checks
from bench.errors import ConfigError
from tasks.plugins import PluginError, canonical


def check_names(names: list[str]) -> None:
    """Print every check of each name; ConfigError naming the first failed check once all are printed."""
    failures = []
    for given in names:
        name = canonical(given)
        try:
            kind = kind_of(name)
        except PluginError as exc:
            print(f"{name}\n  FAIL  loads: {exc}")
            failures.append(str(exc))
            continue
        print(f"{name} ({kind})")
        for check in run_checks(name, kind):
            print(f"  {check.line()}")
            if not check.passed:
                prefix = f"{kind} '{name}'"
                detail = check.detail
                failures.append(detail if detail.startswith(prefix) else f"{prefix} fails check {check.name}: {detail}")
    if failures:
        raise ConfigError(failures[0] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""))


__all__ = ["ContractError", "check_names"]
