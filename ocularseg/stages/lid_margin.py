"""Where the upper and lower lid margins cross the iris centre column, read from a robust curve.

Pure NumPy. The lid margin is a smooth arc; a segmentation's margin is not: lashes and lid
shadow over a dark iris are often labelled skin in a notch a few pixels deep and about a
third of an iris wide, right where MRD1 is read. Reading the margin in one column makes
MRD1 follow that notch (on exact-truth phantoms it was most of the MRD1 error;
``docs/experiments.md``).

So each margin is read from the columns within ``half_width_px`` of the centre column: the
margin edge of every column (upper: ``first opening row − 0.5``; lower: ``last opening
row + 0.5``, the pixel-edge convention of ``stages.measure``) is fitted with a quadratic
in the column offset — a least-absolute-deviations start, then three rounds of least
squares without the columns more than ``max(1 px, 2.5 × 1.4826 × MAD)`` from the fit —
and the fit's value at the centre column is the margin. A notch up to about a quarter of
the window wide is rejected; on a smooth margin the result equals the single-column
reading to within the pixel rounding. With ``half_width_px`` < 1, or fewer than 5 usable
columns, it is the single-column reading.
"""

from __future__ import annotations

import math

import numpy as np

# The fewest columns a quadratic is fitted to; fewer fall back to the centre column alone.
MIN_FIT_COLUMNS = 5
# Trimming: rounds, residual cut in robust standard deviations, and the smallest cut (px)
# so that pixel rounding (±0.5 px) alone never drops a column.
TRIM_ROUNDS = 3
TRIM_SIGMAS = 2.5
MIN_TRIM_PX = 1.0
# The least-absolute-deviations start: reweighting rounds, and the smallest residual (px)
# a weight is computed from (so an exact fit does not give infinite weights).
L1_ROUNDS = 20
L1_FLOOR_PX = 0.25


def margin_edges_px(opening: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The upper and lower margin edge of every column that holds opening.

    Args:
        opening: boolean (H, W) opening mask (crop px).

    Returns:
        ``(columns, upper_y, lower_y)``: column indices, and the upper (first row − 0.5) and
        lower (last row + 0.5) margin edges in crop px, for each column with any opening.
    """
    any_rows = opening.any(axis=0)
    columns = np.flatnonzero(any_rows)
    height = opening.shape[0]
    first = np.argmax(opening[:, columns], axis=0)
    last = height - 1 - np.argmax(opening[::-1, columns], axis=0)
    return columns, first - 0.5, last + 0.5


def margin_at_column_px(
    columns: np.ndarray, edge_y: np.ndarray, column: int, half_width_px: float
) -> float:
    """One margin's y (crop px) in ``column``, from a trimmed quadratic over nearby columns.

    Args:
        columns: (N,) column indices with a margin edge.
        edge_y: (N,) the margin edge (crop px) in those columns.
        column: the centre column.
        half_width_px: half-width of the fitting window (crop px).

    Returns:
        The margin's y in ``column`` (crop px); NaN when ``column`` holds no edge.
    """
    at_centre = np.flatnonzero(columns == column)
    if at_centre.size == 0:
        return math.nan
    single = float(edge_y[at_centre[0]])
    if half_width_px < 1:
        return single
    near = np.abs(columns - column) <= half_width_px
    x = (columns[near] - column).astype(np.float64)
    y = edge_y[near].astype(np.float64)
    if x.size < MIN_FIT_COLUMNS:
        return single
    # Start from a least-absolute-deviations fit (iteratively reweighted least squares): a
    # plain least-squares start bends towards a notch and then keeps it as an inlier.
    powers = np.stack([x * x, x, np.ones_like(x)], axis=1)  # (N, 3): x², x, 1
    weights = np.ones(x.size)
    for _ in range(L1_ROUNDS):
        coef = _quadratic_fit(powers, y, weights)
        weights = 1.0 / np.maximum(np.abs(y - powers @ coef), L1_FLOOR_PX)
    keep = np.ones(x.size, dtype=bool)
    for _ in range(TRIM_ROUNDS):
        residual = y - powers @ coef
        mad = float(np.median(np.abs(residual[keep] - np.median(residual[keep]))))
        new_keep = np.abs(residual) <= max(MIN_TRIM_PX, TRIM_SIGMAS * 1.4826 * mad)
        if new_keep.sum() < MIN_FIT_COLUMNS:
            break
        keep = new_keep
        coef = _quadratic_fit(powers[keep], y[keep], np.ones(int(keep.sum())))
    return float(coef[2])


def _quadratic_fit(powers: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Coefficients (a, b, c) of y ≈ a·x² + b·x + c minimising Σ weights·residual².

    The weighted least-squares problem of ``np.polyfit(x, y, 2, w=sqrt(weights))``, solved
    through its 3 × 3 normal equations with the columns scaled to unit length (agrees with
    polyfit to ~1e-9 px over a fitting window; the per-call overhead of polyfit dominated
    the measurement).
    """
    weighted = powers * weights[:, None]
    normal = powers.T @ weighted
    scale = np.sqrt(np.diag(normal))
    scale[scale == 0] = 1.0
    rhs = weighted.T @ y
    try:
        coef = np.linalg.solve(normal / np.outer(scale, scale), rhs / scale)
    except np.linalg.LinAlgError:  # degenerate columns: the least-squares answer
        root = np.sqrt(weights)
        coef = np.linalg.lstsq(powers * root[:, None] / scale, y * root, rcond=None)[0]
    return coef / scale
