"""Our Mamba and Mamba-2 layers against public reference code, in float64, on random weights and inputs.

    git clone https://github.com/johnma2006/mamba-minimal /tmp/mamba-minimal
    git clone https://github.com/state-spaces/mamba /tmp/mamba
    python scripts/parity.py --mamba-minimal /tmp/mamba-minimal --mamba /tmp/mamba

mamba-minimal casts A and D with ``.float()`` and starts its state as float32 zeros; the script runs a copy
of its ``model.py`` with those three casts taken out, so the comparison is in float64 throughout (nothing
else is changed). ``ssd_minimal.py`` is run without its import of the Triton kernels, which it needs only
for its own test. Prints the largest difference relative to the reference's largest value, per check.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.mamba import MambaBlock, MambaMixer, MambaOptions  # noqa: E402
from models.mamba2 import ssd  # noqa: E402

WIDTH = 24


def load(path: Path, name: str, edits: dict[str, str]):
    """Import a copy of a reference file with the given text replaced (each edit must apply)."""
    text = path.read_text()
    for old, new in edits.items():
        assert old in text, f"{path}: {old!r} not found; the reference has changed"
        text = text.replace(old, new)
    copy = Path(tempfile.mkdtemp()) / f"{name}.py"
    copy.write_text(text)
    spec = importlib.util.spec_from_file_location(name, copy)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def relative(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours - reference).abs().max() / reference.abs().max()).item()


def mamba_minimal(root: Path) -> None:
    casts = {"self.A_log.float()": "self.A_log", "self.D.float()": "self.D",
             "torch.zeros((b, d_in, n)": "torch.zeros((b, d_in, n), dtype=u.dtype"}  # fmt: skip
    reference = load(root / "model.py", "mamba_minimal", casts)
    args = reference.ModelArgs(d_model=WIDTH, n_layer=1, vocab_size=8)
    for length in (37, 300):
        for path in ("fused", "recurrence"):
            ours = MambaMixer(WIDTH, MambaOptions(path=path)).double()
            theirs = reference.MambaBlock(args).double()
            theirs.load_state_dict({k.replace("conv.", "conv1d."): v for k, v in ours.state_dict().items()})
            x = torch.randn(2, length, WIDTH, dtype=torch.float64)
            print(f"mixer, path={path}, L={length}, vs mamba-minimal MambaBlock: {relative(ours(x), theirs(x)):.1e}")
    ours = MambaBlock(WIDTH, MambaOptions()).double()
    theirs = reference.ResidualBlock(args).double()
    theirs.load_state_dict({k.replace("conv.", "conv1d."): v for k, v in ours.state_dict().items()})
    x = 1e-3 * torch.randn(2, 300, WIDTH, dtype=torch.float64)  # small activations, where the norm's eps shows
    print(f"block (RMSNorm, eps 1e-5), L=300, vs mamba-minimal ResidualBlock: {relative(ours(x), theirs(x)):.1e}")


def ssd_minimal(root: Path) -> None:
    triton = "from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined\n"
    reference = load(root / "mamba_ssm" / "modules" / "ssd_minimal.py", "ssd_minimal", {triton: ""})
    for length, chunk in ((64, 16), (256, 64)):
        x = torch.randn(2, length, 3, 8, dtype=torch.float64)  # (B, L, H, P)
        a = -torch.rand(2, length, 3, dtype=torch.float64)  # Delta A, (B, L, H)
        b, c = torch.randn(2, 2, length, 1, 16, dtype=torch.float64)  # (B, L, 1 group, N) each
        expected, _ = reference.ssd_minimal_discrete(x, a, b, c, chunk)
        ours = ssd(x, a, b[:, :, 0], c[:, :, 0], chunk)
        print(f"ssd, L={length}, chunk {chunk}, vs ssd_minimal_discrete: {relative(ours, expected):.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mamba-minimal", type=Path, help="a checkout of johnma2006/mamba-minimal")
    parser.add_argument("--mamba", type=Path, help="a checkout of state-spaces/mamba")
    args = parser.parse_args()
    torch.manual_seed(0)
    with torch.no_grad():
        if args.mamba_minimal:
            mamba_minimal(args.mamba_minimal)
        if args.mamba:
            ssd_minimal(args.mamba)


if __name__ == "__main__":
    main()
