"""Loading a command's configuration: the preset, then a TOML file, then the flags given; then the check that the
folder written to can be (``--out``), which validators never do (they stay free of I/O). Nothing here writes, and
nothing here reads a results folder: the commands that read one (``--from``) load their configs in
``bench.commands.source``."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import tasks
from bench.config.fields import one_line
from bench.config.presets import PRESETS, preset_task_params
from bench.config.run import RunConfig
from bench.errors import ConfigError
from tasks.registry_errors import unknown_name


def parse_option_flags(flags: list[str] | None) -> dict[str, dict[str, Any]] | None:
    """``["ssm.kernel=vandermonde", "transformer.layers=4"]`` -> ``{"ssm": {"kernel": ...}, ...}``.

    Values are read as TOML values where they are one (numbers, booleans), else as strings.
    """
    if not flags:
        return None
    options: dict[str, dict[str, Any]] = {}
    for flag in flags:
        target, sep, value = flag.partition("=")
        model, dot, key = target.rpartition(".")  # a plugin's name may hold dots (file.py:NAME), a key never
        if not (sep and dot and model and key and value):
            raise ConfigError(f"option: expected MODEL.KEY=VALUE, e.g. ssm.kernel=vandermonde (got {flag!r})")
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except ValueError:  # not a TOML value (TOMLDecodeError), or an integer of over 4300 digits
            parsed = value
        options.setdefault(model, {})[key] = parsed
    return options


def _merge_options(*sources: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Later sources override earlier ones key by key, within each model."""
    merged: dict[str, dict[str, Any]] = {}
    for source in sources:
        for model, options in (source or {}).items():
            merged[model] = {**merged.get(model, {}), **options} if isinstance(options, dict) else options
    return merged


def validated(config: type, values: dict[str, Any]):
    """The config, or its first problem as a ConfigError of one line."""
    try:
        return config(**values)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, config)) from None
    except ValueError as exc:  # raised by a registry inside a validator
        raise ConfigError(str(exc)) from None


def load_run_config(cli: dict[str, Any], config_file: Path | None = None) -> RunConfig:
    """Merge the preset, then the TOML file, then the flags the user gave (None = not given)."""
    file_values = _read_toml(config_file) if config_file is not None else {}
    given = {k: v for k, v in cli.items() if v is not None}
    preset = given.get("preset", file_values.get("preset", "quick"))
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ConfigError(f"preset: {unknown_name('preset', preset, PRESETS)}")
    task = given.get("task", file_values.get("task"))
    variant = given.get("variant", file_values.get("variant"))
    merged = {k: v for k, v in PRESETS[preset].items() if k not in ("lengths", "task_params")}
    if isinstance(task, str) and task in tasks.TASKS:  # any other value is reported by the field's validation
        merged["lengths"] = PRESETS[preset]["lengths"].get(task, [])
        if variant is None or variant in tasks.task_variants(task):
            merged["task_params"] = preset_task_params(preset, task, variant)
    merged.update(file_values)
    if isinstance(file_values.get("task_params"), dict):  # the file's keys over the preset's, key by key
        merged["task_params"] = {**merged.get("task_params", {}), **file_values["task_params"]}
    merged.update(given)
    if "model_options" in given and isinstance(file_values.get("model_options"), dict):
        merged["model_options"] = _merge_options(file_values["model_options"], given["model_options"])
    config = validated(RunConfig, merged)
    check_writable(config.out_dir)
    return config


def check_writable(folder: Path, field: str = "out") -> None:
    """``folder`` is a folder this process can write in, or can make: checked without making it. A file in its
    place, a file among its parents, a parent without write permission or a name the system cannot hold is refused
    now, rather than after the command has planned, or run, its work."""
    try:
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{field}: {folder} is a file, not a folder")
        existing = folder.absolute()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ConfigError(f"{field}: cannot make {folder}: {existing} is a file, not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"{field}: cannot make {folder}: no permission to write in {existing}")
    except ConfigError:
        raise
    except OSError as exc:  # a name too long, a loop of links
        raise ConfigError(f"{field}: cannot use {folder}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL character (from a TOML string)
        raise ConfigError(f"{field}: cannot use {folder}: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config: file not found: {path}") from None
    except OSError as exc:  # a folder, a path through a file, no permission, a name too long
        raise ConfigError(f"config: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise ConfigError(f"config: {path} is not valid TOML: {reason}") from None
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:  # ValueError: an integer of > 4300 digits
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None
