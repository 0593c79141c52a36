"""Rebuild ``loss_vectors.json`` by running the published reference implementations.

Not a test: a script, run by hand when the reference file is to be regenerated (see
``README.md`` in this folder for where to fetch each repository and at which commit)::

    python tests/training/data/rebuild_loss_vectors.py \\
        --reference-rw /path/to/RegionWiseLoss --out /tmp/loss_vectors.json

The case definitions (names, seeds, shapes, loss keys), ``about`` and ``input_protocol`` are
read from ``--base`` (default: the repository's ``loss_vectors.json``); every input is
regenerated as ``input_protocol`` says and every value is recomputed with the reference code,
which is imported from the given checkout (``sys.path`` insertion; nothing of it is copied
into ocularseg). Values are written as IEEE doubles (value, ``repr`` and ``hex``), in the
existing layout (``json.dumps(..., indent=1)``, no trailing newline), with a ``provenance``
block per method: repository, commit, file, functions, licence.

Region-wise losses: ``jmlipman/RegionWiseLoss`` (MIT), run.

Projected pooling loss: the published implementation, ``GuanghuiFU/TopologyLoss``, carries no
licence (no LICENSE file at any commit, none named in its README), so this script does not run
it: the projected pooling section of ``--base`` is carried over unchanged, marked
``"rebuilt": false`` in its provenance. ``--reference-pp PATH`` runs it only where PATH holds
a licence file (for a future licensed release); without one the script refuses.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import scipy
import torch

# The repository root, for the input protocol's label generator shared with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.training.reference_vectors import concentric_labels  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
DEFAULT_BASE = HERE / "loss_vectors.json"
EPOCH_SEP = "@e="

RW_REPOSITORY = "jmlipman/RegionWiseLoss"
RW_FILE = "nnUNet/training/loss_functions/rwexp_loss.py"
RW_LICENCE = (
    "MIT (repository LICENSE, Copyright (c) 2021 J. Miguel Valverde); the file itself carries "
    "nnU-Net's Apache-2.0 header (DKFZ). Run at rebuild time only; no code copied."
)
PP_REPOSITORY = "GuanghuiFU/TopologyLoss"
PP_FILE = "topology_loss.py"
PP_FUNCTION = "TopologicalPoolingLoss (compute_per_channel_topology_component)"
# The newest commit inspected (2023-06-03); no commit of the repository has a licence file.
PP_COMMIT_INSPECTED = "cb01cdcf5923a76473ccf54d2a84fefda8c9444e"
PP_NO_LICENCE = (
    "none: no LICENSE file at any commit up to "
    f"{PP_COMMIT_INSPECTED[:12]} and none named in the README, so no permission to run "
    "or copy it is granted; not run by rebuild_loss_vectors.py"
)
LICENCE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING")


# --------------------------------------------------------------------------- inputs


def case_arrays(case: dict) -> tuple[np.ndarray, np.ndarray]:
    """(logits float64 (B, C, *S), labels int64 (B, 1, *S)) per input_protocol."""
    rng = np.random.default_rng(case["seed"])
    shape = (case["B"], case["C"], *case["S"])
    logits = rng.standard_normal(size=shape)  # drawn first
    if "radii" in case:
        labels = concentric_labels(case["B"], case["S"], case["radii"], case.get("shift"))
    else:
        n_label = case.get("n_label", case["C"])
        labels = rng.integers(0, n_label, size=(case["B"], 1, *case["S"]))  # drawn second
    return logits, labels


def pp_inputs(case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(input, target) of the projected pooling loss per input_protocol 'torch'/'threshold'."""
    logits, labels = case_arrays(case)
    x = torch.from_numpy(logits)
    normalise = case["normalise"]
    if normalise == "sigmoid":
        return torch.sigmoid(x), torch.from_numpy(labels).to(torch.float64)
    onehot = torch.nn.functional.one_hot(torch.from_numpy(labels[:, 0]), case["C"])
    target = onehot.movedim(-1, 1).to(torch.float64)
    if normalise == "softmax":
        return torch.softmax(x, dim=1), target
    if normalise == "threshold":
        rng = np.random.default_rng(case["seed"] + 1000)
        binary = rng.random(size=tuple(logits.shape)) > 0.5
        return torch.from_numpy(binary.astype(np.float64)), target
    raise ValueError(f"{case['name']}: unknown normalise {normalise!r}")


# --------------------------------------------------------------------------- helpers


def double(value: float) -> dict:
    value = float(value)
    return {"value": value, "repr": repr(value), "hex": value.hex()}


def git_commit(checkout: Path) -> tuple[str, bool]:
    """(HEAD commit, work tree clean) of a checkout."""
    run = {"capture_output": True, "text": True, "check": True}
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], **run).stdout
    status = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain"], **run).stdout
    return head.strip(), status.strip() == ""


def licence_file(checkout: Path) -> Path | None:
    return next((checkout / n for n in LICENCE_FILES if (checkout / n).is_file()), None)


def environment() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch_default_dtype": str(torch.get_default_dtype()),
    }


# --------------------------------------------------------------------------- region-wise


def import_rwexp(checkout: Path, shim_dir: Path) -> types.ModuleType:
    """Import the reference's rwexp_loss from a RegionWiseLoss checkout.

    The file imports ``nnunet.…`` while the repository's folder is ``nnUNet`` (the same name on
    a case-insensitive file system), so ``shim_dir`` gets a symbolic link ``nnunet -> nnUNet``
    and goes first on sys.path. ``RWLoss``/``BoundaryLoss`` import nibabel inside ``forward``
    without using it (its uses are commented out); where nibabel is not installed an empty
    placeholder module stands in.
    """
    package = checkout / "nnUNet"
    if not (package / "training" / "loss_functions" / "rwexp_loss.py").is_file():
        raise SystemExit(f"{checkout}: no {RW_FILE}; pass a RegionWiseLoss checkout")
    (shim_dir / "nnunet").symlink_to(package, target_is_directory=True)
    sys.path.insert(0, str(shim_dir))
    try:
        importlib.import_module("nibabel")
    except ImportError:
        sys.modules["nibabel"] = types.ModuleType("nibabel")
    return importlib.import_module("nnunet.training.loss_functions.rwexp_loss")


def rw_reference(rw: types.ModuleType, key: str, logits: np.ndarray, labels: np.ndarray):
    """(value, d value / d logits) of one reference loss key such as ``RWGradualCELoss@e=50``."""
    name, _, epoch = key.partition(EPOCH_SEP)
    x = torch.from_numpy(logits.copy()).requires_grad_(True)
    y_ = torch.from_numpy(labels).to(torch.float64)
    loss = getattr(rw, name)()
    value = loss(x, y_, int(epoch)) if epoch else loss(x, y_)
    value.backward()
    return value, x.grad


def ours_grad(key: str, logits: np.ndarray, labels: np.ndarray) -> torch.Tensor:
    """ocularseg's gradient for the same key (for provenance.ocularseg_grad_max_abs_diff)."""
    from tests.training.test_region_wise import loss_for

    loss, epoch = loss_for(key)
    x = torch.from_numpy(logits.copy()).requires_grad_(True)
    loss(x, torch.from_numpy(labels[:, 0]), epoch=epoch).backward()
    return x.grad


def reference_map(rw: types.ModuleType, cls: str, labels: np.ndarray, n_class: int) -> np.ndarray:
    """The float32 map the reference builds inside ``RWLoss``/``BoundaryLoss`` for ``labels``.

    The loss is mean(softmax(x) * map); with the module's softmax_helper set to the identity for
    this call, d loss / d p = map / N, so map = N * grad, exactly (the map is float32).
    """
    saved = rw.softmax_helper
    rw.softmax_helper = lambda t: t
    try:
        p = torch.ones((labels.shape[0], n_class, *labels.shape[2:]), dtype=torch.float64)
        p.requires_grad_(True)
        getattr(rw, cls)()(p, torch.from_numpy(labels).to(torch.float64)).backward()
    finally:
        rw.softmax_helper = saved
    return (p.grad * p.numel()).numpy().astype(np.float32)


def rebuild_region_wise(base: dict, checkout: Path, shim_dir: Path) -> dict:
    rw = import_rwexp(checkout, shim_dir)
    from ocularseg.training.losses import region_wise as ours

    out = {k: v for k, v in base.items() if k != "provenance"}
    cases, ours_diff = [], 0.0
    for case in base["cases"]:
        logits, labels = case_arrays(case)
        losses = {}
        for key, entry in case["losses"].items():
            value, grad = rw_reference(rw, key, logits, labels)
            ours_diff = max(ours_diff, (grad - ours_grad(key, logits, labels)).abs().max().item())
            # grad_max_abs_diff is carried over: what it compared is not documented in the file
            # received (against ocularseg see provenance.ocularseg_grad_max_abs_diff).
            carried = {k: v for k, v in entry.items() if k not in ("value", "repr", "hex")}
            losses[key] = {**double(value.item()), **carried}
        cases.append({**case, "losses": losses})
    out["cases"] = cases

    maps = dict(base["maps_9x9"])
    labels = concentric_labels(1, [9, 9], [3.6, 1.5])
    n_class = int(labels.max()) + 1
    rrw = reference_map(rw, "RWLoss", labels, n_class)
    bnd = reference_map(rw, "BoundaryLoss", labels, n_class)
    maps["labels"] = labels[0, 0].tolist()
    maps["rrw_map"] = [[[float(v) for v in row] for row in ch] for ch in rrw[0]]
    maps["boundary_map"] = [[[float(v) for v in row] for row in ch] for ch in bnd[0]]
    maps["rrw_matches_reference"] = bool(np.array_equal(ours.rrw_map(labels, n_class), rrw))
    maps["boundary_matches_reference"] = bool(
        np.array_equal(ours.boundary_map(labels, n_class), bnd)
    )
    out["maps_9x9"] = maps

    commit, clean = git_commit(checkout)
    names = sorted({k.partition(EPOCH_SEP)[0] for c in base["cases"] for k in c["losses"]})
    out["provenance"] = {
        "repository": RW_REPOSITORY,
        "url": f"https://github.com/{RW_REPOSITORY}",
        "commit": commit,
        "work_tree_clean": clean,
        "file": RW_FILE,
        "functions": [f"{n}.forward" for n in names],
        "licence": RW_LICENCE,
        "rebuilt": True,
        "how": (
            "tests/training/data/rebuild_loss_vectors.py imports the file as "
            "nnunet.training.loss_functions.rwexp_loss (a symlink nnunet -> the checkout's "
            "nnUNet folder on sys.path; nibabel, imported but unused in forward, replaced by "
            "an empty module where absent); maps_9x9 are the maps RWLoss/BoundaryLoss build, "
            "read out as N * d loss/d p with the module's softmax_helper set to the identity; "
            "*_matches_reference: ocularseg's rrw_map/boundary_map equal the reference maps; "
            "grad_max_abs_diff carried over from the file as received (undocumented there)"
        ),
        "ocularseg_grad_max_abs_diff": ours_diff,
        "environment": environment(),
    }
    return out


# --------------------------------------------------------------------------- projected pooling


def pp_provenance(rebuilt: bool, commit: str, clean: bool | None, licence: str) -> dict:
    return {
        "repository": PP_REPOSITORY,
        "url": f"https://github.com/{PP_REPOSITORY}",
        "commit": commit,
        "work_tree_clean": clean,
        "file": PP_FILE,
        "functions": [PP_FUNCTION],
        "licence": licence,
        "rebuilt": rebuilt,
        "how": (
            "rebuilt by tests/training/data/rebuild_loss_vectors.py --reference-pp"
            if rebuilt
            else "carried over unchanged from the file as received, not reproduced here; "
            "commit is the newest one inspected (for a licence), not one these values are "
            "known to come from (the file as received does not say); see "
            "tests/training/data/README.md"
        ),
        **({"environment": environment()} if rebuilt else {}),
    }


def ours_reproduce_pp(cases: list[dict]) -> bool:
    """Whether ocularseg's projected_pooling_loss gives every case's value to the bit."""
    from ocularseg.training.losses.projected_pooling import projected_pooling_loss

    for case in cases:
        probs, target = pp_inputs(case)
        kwargs = {"kernels": tuple(case["kernels"])} if "kernels" in case else {}
        value = projected_pooling_loss(probs, target, start_channel=case["start_channel"], **kwargs)
        if value.item().hex() != case["reference"]["hex"]:
            return False
    return True


def rebuild_projected_pooling(base: dict, checkout: Path | None) -> dict:
    out = {k: v for k, v in base.items() if k != "provenance"}
    if checkout is None:
        out["provenance"] = pp_provenance(False, PP_COMMIT_INSPECTED, None, PP_NO_LICENCE)
        # A consistency check only, not a reference: ocularseg against the carried-over values.
        out["provenance"]["ocularseg_reproduces_bits"] = ours_reproduce_pp(out["cases"])
        return out
    found = licence_file(checkout)
    if found is None:
        raise SystemExit(
            f"{checkout}: no licence file ({', '.join(LICENCE_FILES)}); the published "
            f"{PP_REPOSITORY} grants no permission to run it, so it is not run. Leave out "
            "--reference-pp to carry the projected pooling section over."
        )
    sys.path.insert(0, str(checkout))
    ref = importlib.import_module(Path(PP_FILE).stem)
    cases = []
    for case in base["cases"]:
        probs, target = pp_inputs(case)
        probs.requires_grad_(True)
        kwargs = {"kernel_list": list(case["kernels"])} if "kernels" in case else {}
        value = ref.TopologicalPoolingLoss(start_channel=case["start_channel"], **kwargs)(
            probs, target
        )
        value.backward()
        cases.append(
            {
                **case,
                "reference": double(value.item()),
                "reference_grad_abs_sum": probs.grad.abs().sum().item(),
            }
        )
    out["cases"] = cases
    commit, clean = git_commit(checkout)
    licence = f"see {found.name} in the checkout: {found.read_text().splitlines()[0].strip()}"
    out["provenance"] = pp_provenance(True, commit, clean, licence)
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference-rw", type=Path, required=True, help="checkout of jmlipman/RegionWiseLoss"
    )
    parser.add_argument(
        "--reference-pp",
        type=Path,
        help="checkout of the projected pooling reference; run only if it holds a licence file",
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument(
        "--base", type=Path, default=DEFAULT_BASE, help="file giving the cases (default: ours)"
    )
    args = parser.parse_args(argv)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # ocularseg and tests.*, for the comparison fields
    if torch.get_default_dtype() != torch.float32:
        raise SystemExit("torch's default dtype must be float32, as input_protocol says")

    base = json.loads(args.base.read_text())
    out = {}
    with tempfile.TemporaryDirectory() as shim:
        for key, value in base.items():
            if key == "projected_pooling":
                out[key] = rebuild_projected_pooling(value, args.reference_pp)
            elif key == "region_wise":
                out[key] = rebuild_region_wise(value, args.reference_rw.resolve(), Path(shim))
            else:
                out[key] = value
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
