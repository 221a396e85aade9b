"""The report's document model: sections of text, tables and figures, independent of how they are rendered.

A figure is drawn only when a renderer that shows figures writes it (markdown beside its PNGs, HTML with
them embedded); the terminal shows the same sections without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

FIGURES_DIR = "figures"


@dataclass(frozen=True)
class Figure:
    caption: str
    filename: str  # inside the folder's figures/
    draw: Callable[[Path], object]  # draws the PNG at the path it is given


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # (caption, table)
    figures: list[Figure] = field(default_factory=list)


@dataclass(frozen=True)
class ReportContext:
    """What every section builder is told: where figures go, and the order in which to list models."""

    out_dir: Path
    model_order: list[str] | None = None  # the registry's order, given by the caller; None: as first stored

    @property
    def figure_dir(self) -> Path:
        return self.out_dir / FIGURES_DIR

    def figure(self, caption: str, filename: str, draw: Callable[[Path], object]) -> Figure:
        return Figure(caption, filename, draw)
