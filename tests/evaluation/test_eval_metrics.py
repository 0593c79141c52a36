"""Per-image metrics: hand-computed cases, HD95 against brute force, empty-mask policy."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from scipy.spatial.distance import cdist

from ocularseg import evaluation
from ocularseg.core.errors import ConfigError, DataError
from ocularseg.core.labels import Label

# (name, pred, ref, class, expected metrics). Worked by hand; HD95 uses linear
# interpolation between sorted distances, as np.percentile / torch.quantile.
CASES: list[tuple[str, list[list[int]], list[list[int]], int, dict[str, float]]] = [
    (
        # class 1: TP 1, FP 1, FN 0. d(P→R) = [0, 1] → p95 = 0.95; d(R→P) = [0].
        "one extra pixel",
        [[1, 1, 0], [0, 0, 0]],
        [[1, 0, 0], [0, 0, 0]],
        1,
        {
            "dice": 2 / 3,
            "iou": 1 / 2,
            "precision": 1 / 2,
            "recall": 1.0,
            "hd95_px": 0.95,
            "component_error": 0,
            "area_error_px": 1,
            "area_error_rel": 1.0,
        },
    ),
    (
        # 2×2 inside a 3×3 corner block: TP 4, FP 0, FN 5. Pred boundary = 4 px with
        # d = [0, 0, 0, 1] → 0.85; ref boundary = 8 px (centre is interior) with
        # d = [0, 0, 0, 1, 1, 1, 1, √2] → 1 + 0.65·(√2 − 1).
        "nested squares",
        [[2, 2, 0, 0], [2, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        [[2, 2, 2, 0], [2, 2, 2, 0], [2, 2, 2, 0], [0, 0, 0, 0]],
        2,
        {
            "dice": 8 / 13,
            "iou": 4 / 9,
            "precision": 1.0,
            "recall": 4 / 9,
            "hd95_px": 1 + 0.65 * (math.sqrt(2) - 1),
            "component_error": 0,
            "area_error_px": -5,
            "area_error_rel": -5 / 9,
        },
    ),
    (
        # MONAI definition, not pooled: d(P→R) = [0], d(R→P) = [0, 10] → max(0, 9.5) = 9.5,
        # whereas the 95th percentile of the pooled [0, 0, 10] would be 9.0.
        "two reference blobs",
        [[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
        [[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]],
        3,
        {
            "dice": 2 / 3,
            "iou": 1 / 2,
            "precision": 1.0,
            "recall": 1 / 2,
            "hd95_px": 9.5,
            "component_error": 1,
            "area_error_px": -1,
            "area_error_rel": -1 / 2,
        },
    ),
    (
        # Disjoint single pixels 3 rows and 4 columns apart: no overlap, HD95 = 5.
        "disjoint pixels",
        [[4, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
        [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 4]],
        4,
        {
            "dice": 0.0,
            "iou": 0.0,
            "precision": 0.0,
            "recall": 0.0,
            "hd95_px": 5.0,
            "component_error": 0,
            "area_error_px": 0,
            "area_error_rel": 0.0,
        },
    ),
]


def _row(pred: np.ndarray, ref: np.ndarray, label: int, **kwargs: object) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", evaluation.EmptyMaskWarning)
        rows = evaluation.evaluate_pair(pred, ref, classes=(label,), **kwargs)
    assert len(rows) == 1
    return rows[0]


def _blob(shape: tuple[int, int], seed: int, threshold: float) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(shape)
    smooth = ndimage.gaussian_filter(noise, sigma=3.0)
    return smooth > threshold * smooth.std()


def _brute_boundary(mask: np.ndarray) -> np.ndarray:
    """(k, 2) coordinates of foreground pixels with a background 4-neighbour or the edge."""
    padded = np.pad(mask, 1, constant_values=False)
    inner = padded[1:-1, 1:-1]
    neighbours_all_fg = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return np.argwhere(inner & ~neighbours_all_fg)


def _brute_hd(pred: np.ndarray, ref: np.ndarray, percentile: float) -> float:
    """MONAI's HD95 by exhaustive pairwise distances between boundary point sets."""
    distances = cdist(_brute_boundary(pred), _brute_boundary(ref))
    return max(
        np.percentile(distances.min(axis=1), percentile),
        np.percentile(distances.min(axis=0), percentile),
    )


@pytest.mark.parametrize(("name", "pred", "ref", "label", "expected"), CASES)
def test_hand_computed_cases(name, pred, ref, label, expected) -> None:
    row = _row(np.array(pred, dtype=np.uint8), np.array(ref, dtype=np.uint8), label)
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, abs=1e-12), f"{name}: {key}"
    assert row["flag"] == "ok"


def test_row_has_documented_columns_in_order() -> None:
    pred = np.array(CASES[0][1], dtype=np.uint8)
    rows = _rows_all(pred, pred)
    assert [tuple(r) for r in rows] == [evaluation.ROW_COLUMNS] * 4
    assert [r["class"] for r in rows] == ["sclera", "iris", "pupil", "caruncle"]
    assert [r["label"] for r in rows] == [1, 2, 3, 4]


def _rows_all(pred: np.ndarray, ref: np.ndarray) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", evaluation.EmptyMaskWarning)
        return evaluation.evaluate_pair(pred, ref)


def test_identical_maps_are_perfect() -> None:
    mask = _blob((40, 60), seed=1, threshold=0.3).astype(np.uint8) * int(Label.IRIS)
    row = _row(mask, mask, Label.IRIS)
    assert (row["dice"], row["iou"], row["precision"], row["recall"]) == (1.0, 1.0, 1.0, 1.0)
    assert row["hd95_px"] == 0.0
    assert row["area_error_px"] == 0


def test_background_can_be_scored() -> None:
    pred = np.array(CASES[0][1], dtype=np.uint8)
    ref = np.array(CASES[0][2], dtype=np.uint8)
    row = _row(pred, ref, Label.BACKGROUND)
    # Background: pred 4 px, ref 5 px, overlap 4.
    assert row["class"] == "background"
    assert row["dice"] == pytest.approx(8 / 9)
    assert row["precision"] == 1.0


@pytest.mark.parametrize("seed", range(8))
def test_hd95_matches_brute_force_on_random_blobs(seed: int) -> None:
    # Blobs on a small grid touch the image edges and split into several pieces, which
    # exercises the edge handling and the crop to the union's bounding box.
    pred = _blob((48, 64), seed=seed, threshold=0.4)
    ref = _blob((48, 64), seed=seed + 100, threshold=0.2) | ndimage.binary_dilation(
        pred, iterations=2
    )
    assert pred.any() and ref.any()
    assert evaluation.hd95_px(pred, ref) == pytest.approx(_brute_hd(pred, ref, 95.0), abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_hd95_matches_brute_force_for_small_blob_in_large_image(seed: int) -> None:
    pred = np.zeros((320, 480), dtype=bool)
    ref = np.zeros((320, 480), dtype=bool)
    pred[100:130, 200:250] = _blob((30, 50), seed=seed, threshold=0.0)
    ref[104:134, 205:255] = _blob((30, 50), seed=seed + 50, threshold=-0.2)
    assert evaluation.hd95_px(pred, ref) == pytest.approx(_brute_hd(pred, ref, 95.0), abs=1e-9)


def test_hd_percentile_100_is_classic_hausdorff() -> None:
    pred = _blob((40, 60), seed=3, threshold=0.3)
    ref = _blob((40, 60), seed=4, threshold=0.3)
    assert evaluation.hd95_px(pred, ref, percentile=100) == pytest.approx(
        _brute_hd(pred, ref, 100.0)
    )


def test_hd95_is_symmetric() -> None:
    pred = _blob((40, 60), seed=5, threshold=0.3)
    ref = _blob((40, 60), seed=6, threshold=0.1)
    assert evaluation.hd95_px(pred, ref) == evaluation.hd95_px(ref, pred)


def test_boundary_mask_keeps_interior_out_and_image_edge_in() -> None:
    mask = np.ones((3, 4), dtype=bool)
    expected = np.ones((3, 4), dtype=bool)
    expected[1, 1:3] = False
    np.testing.assert_array_equal(evaluation.boundary_mask(mask), expected)


def test_both_empty_gives_nan_and_one_warning() -> None:
    pred = np.zeros((5, 5), dtype=np.uint8)
    with pytest.warns(evaluation.EmptyMaskWarning, match="pupil, caruncle") as record:
        rows = evaluation.evaluate_pair(pred, pred, classes=(Label.PUPIL, Label.CARUNCLE))
    assert len(record) == 1
    for row in rows:
        assert row["flag"] == "absent_both"
        for key in ("dice", "iou", "precision", "recall", "hd95_px", "area_error_rel"):
            assert math.isnan(row[key]), key
        assert (row["component_error"], row["area_error_px"]) == (0, 0)


def test_pred_empty_gives_dice_zero_hd95_nan() -> None:
    ref = np.zeros((5, 5), dtype=np.uint8)
    ref[1:3, 1:3] = Label.PUPIL
    pred = np.zeros_like(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one side present: no warning, just the flag
        row = evaluation.evaluate_pair(pred, ref, classes=(Label.PUPIL,))[0]
    assert row["flag"] == "absent_pred"
    assert (row["dice"], row["iou"], row["recall"]) == (0.0, 0.0, 0.0)
    assert math.isnan(row["precision"])
    assert math.isnan(row["hd95_px"])
    assert row["area_error_rel"] == -1.0
    assert row["component_error"] == 1


def test_ref_empty_gives_dice_zero_hd95_nan() -> None:
    pred = np.zeros((5, 5), dtype=np.uint8)
    pred[0, 0] = Label.CARUNCLE
    row = _row(pred, np.zeros_like(pred), Label.CARUNCLE)
    assert row["flag"] == "absent_ref"
    assert (row["dice"], row["iou"], row["precision"]) == (0.0, 0.0, 0.0)
    assert math.isnan(row["recall"])
    assert math.isnan(row["hd95_px"])
    assert math.isnan(row["area_error_rel"])
    assert row["area_error_px"] == 1


def test_hd95_px_is_nan_when_one_mask_is_empty() -> None:
    mask = np.zeros((4, 4), dtype=bool)
    full = mask.copy()
    full[1, 1] = True
    assert math.isnan(evaluation.hd95_px(mask, full))
    assert math.isnan(evaluation.hd95_px(full, mask))
    assert math.isnan(evaluation.hd95_px(mask, mask))


def test_component_error_uses_8_connectivity_by_default() -> None:
    # Two diagonal pixels are one component with 8-connectivity, two with 4.
    pred = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.uint8)
    ref = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=np.uint8)
    row8 = _row(pred, ref, Label.SCLERA)
    row4 = _row(pred, ref, Label.SCLERA, connectivity=4)
    assert (row8["components_pred"], row8["component_error"]) == (1, 0)
    assert (row4["components_pred"], row4["component_error"]) == (2, 1)
    assert evaluation.count_components(pred == 1) == 1
    assert evaluation.count_components(pred == 1, connectivity=4) == 2


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(DataError, match=r"\(4, 5\).*\(5, 4\)"):
        evaluation.evaluate_pair(np.zeros((4, 5), np.uint8), np.zeros((5, 4), np.uint8))


@pytest.mark.parametrize("bad", [7, 255, -1])
def test_unknown_label_values_are_named(bad: int) -> None:
    ref = np.zeros((3, 3), dtype=np.int16)
    pred = ref.copy()
    pred[0, 0] = bad
    with pytest.raises(DataError, match=rf"prediction contains unknown label values \{{{bad}\}}"):
        evaluation.evaluate_pair(pred, ref)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((3, 3), dtype=np.float32), "integer dtype"),
        (np.zeros((3, 3), dtype=bool), "integer dtype"),
        (np.zeros((3, 3, 1), dtype=np.uint8), "2-D"),
        ([[0, 1], [1, 0]], "numpy array"),
    ],
)
def test_bad_arrays_are_rejected(array, match: str) -> None:
    with pytest.raises(DataError, match=match):
        evaluation.evaluate_pair(np.zeros((3, 3), np.uint8), array)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"classes": (9,)}, "unknown class 9"),
        ({"classes": (1, 1)}, "listed twice"),
        ({"classes": ()}, "at least one"),
        ({"classes": 2}, "sequence"),
        ({"connectivity": 6}, "4 or 8"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict, match: str) -> None:
    mask = np.ones((3, 3), dtype=np.uint8)
    with pytest.raises(ConfigError, match=match):
        evaluation.evaluate_pair(mask, mask, **kwargs)


def test_hd95_rejects_bad_percentile_and_shapes() -> None:
    mask = np.ones((3, 3), dtype=bool)
    with pytest.raises(ConfigError, match="percentile"):
        evaluation.hd95_px(mask, mask, percentile=101)
    with pytest.raises(DataError, match=r"\(3, 3\).*\(3, 4\)"):
        evaluation.hd95_px(mask, np.ones((3, 4), dtype=bool))


def test_evaluate_dataset_rows_columns_and_single_warning() -> None:
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(6):
        ref = rng.integers(0, 4, size=(8, 12)).astype(np.uint8)  # caruncle always absent
        pred = ref.copy()
        pred[0, :] = 1
        pairs.append((f"img{i}", "a" if i < 4 else "b", pred, ref))
    with pytest.warns(evaluation.EmptyMaskWarning, match="caruncle in 6 of 6 images") as record:
        df = evaluation.evaluate_dataset(iter(pairs))
    assert len(record) == 1
    assert list(df.columns) == ["image_id", "group", *evaluation.ROW_COLUMNS]
    assert len(df) == 6 * 4
    assert df.groupby("group").size().to_dict() == {"a": 16, "b": 8}
    first = df[df["image_id"] == "img0"].drop(columns=["image_id", "group"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", evaluation.EmptyMaskWarning)
        expected = evaluation.evaluate_pair(pairs[0][2], pairs[0][3])
    pd.testing.assert_frame_equal(
        first.reset_index(drop=True), pd.DataFrame(expected, columns=list(evaluation.ROW_COLUMNS))
    )


def test_evaluate_dataset_empty_input_has_columns() -> None:
    df = evaluation.evaluate_dataset([])
    assert df.empty
    assert list(df.columns) == ["image_id", "group", *evaluation.ROW_COLUMNS]


def test_evaluate_dataset_rejects_duplicate_ids_and_names_bad_image() -> None:
    mask = np.ones((3, 3), dtype=np.uint8)
    with pytest.raises(DataError, match="'x' appears twice"):
        evaluation.evaluate_dataset([("x", "g", mask, mask), ("x", "g", mask, mask)])
    with pytest.raises(DataError, match=r"^broken: prediction shape"):
        evaluation.evaluate_dataset([("broken", "g", mask, np.ones((3, 4), np.uint8))])


@pytest.mark.slow
def test_evaluation_imports_neither_torch_nor_cli() -> None:
    code = (
        "import sys, ocularseg.evaluation; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'typer', 'cv2') "
        "or m.startswith('ocularseg.cli')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
