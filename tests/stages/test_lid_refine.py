"""Sub-pixel lid refinement: drawn edges of known position, kept edges, and MRD1 from it."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_eyes import draw_eye

from ocularseg.core.errors import InputError
from ocularseg.stages.lid_refine import LidRefineParams, refine_edges_px
from ocularseg.stages.measure import MeasureParams, measure_eye_crop

RADIUS = 60.0  # iris radius (crop px): the search reaches 6 px outward, 3.6 px inward


def step_image(edge_y: float, above: float, below: float, noise: float = 0.0) -> np.ndarray:
    """A 480×320 grey crop: ``above`` over the continuous row ``edge_y``, ``below`` under
    it, the pixel it crosses area-weighted (pixel i covers [i − 0.5, i + 0.5])."""
    rows = np.arange(320, dtype=np.float64)[:, None]
    share_below = np.clip(rows + 0.5 - edge_y, 0.0, 1.0)
    grey = above + (below - above) * share_below
    grey = np.broadcast_to(grey, (320, 480)).copy()
    grey += np.random.default_rng(0).normal(0.0, noise, grey.shape)
    return np.repeat(np.clip(grey, 0, 255)[..., None], 3, axis=2).astype(np.uint8)


COLUMNS = np.arange(200, 280)

# (true edge y, the mask's edge y, lid, grey above, grey below) -> refined within 0.25 px.
CASES = [
    pytest.param(100.3, 104.5, "upper", 60, 200, id="upper-lid-mask-4px-low-over-sclera"),
    pytest.param(100.7, 98.5, "upper", 90, 40, id="upper-lid-mask-2px-high-dark-iris"),
    pytest.param(231.4, 228.5, "lower", 210, 120, id="lower-lid-mask-3px-high"),
    pytest.param(150.5, 150.5, "upper", 40, 220, id="mask-already-right"),
]


@pytest.mark.parametrize(("true_y", "mask_y", "lid", "above", "below"), CASES)
def test_edge_moves_to_the_drawn_step(true_y, mask_y, lid, above, below):
    image = step_image(true_y, above, below, noise=2.0)
    edges = np.full(COLUMNS.size, mask_y)
    refined = refine_edges_px(image, COLUMNS, edges, RADIUS, lid)
    assert np.median(refined) == pytest.approx(true_y, abs=0.25)
    assert np.all(np.abs(refined - true_y) < 0.6)


def test_flat_image_keeps_the_mask_edge():
    image = step_image(100.0, 120, 120, noise=1.0)
    edges = np.full(COLUMNS.size, 104.5)
    np.testing.assert_array_equal(refine_edges_px(image, COLUMNS, edges, RADIUS, "upper"), edges)


def test_step_beyond_the_search_keeps_the_mask_edge():
    # 10 px above the mask edge: beyond 0.10 iris radii (6 px) into the lid
    image = step_image(94.5, 60, 200)
    edges = np.full(COLUMNS.size, 104.5)
    refined = refine_edges_px(image, COLUMNS, edges, RADIUS, "upper")
    np.testing.assert_array_equal(refined, edges)


def test_disabled_or_bad_input():
    image = step_image(100.3, 60, 200)
    edges = np.full(COLUMNS.size, 104.5)
    off = LidRefineParams(enabled=False)
    np.testing.assert_array_equal(
        refine_edges_px(image, COLUMNS, edges, RADIUS, "upper", off), edges
    )
    with pytest.raises(InputError, match="upper"):
        refine_edges_px(image, COLUMNS, edges, RADIUS, "top")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="RGB uint8"):
        refine_edges_px(image[..., 0], COLUMNS, edges, RADIUS, "upper")


def test_mrd1_follows_the_image_not_the_mask():
    # The mask's upper lid sits on the pixel edge 110.5; the image shows the lid/eye step
    # 3.2 px higher (107.3): with the crop image MRD1 grows by 3.2 px, without it it does not.
    labels = draw_eye(iris=(240.0, 160.0, 60.0), upper_lid_y_px=110.6)
    image = step_image(107.3, 70, 200)
    plain = measure_eye_crop(labels, "right").values
    refined = measure_eye_crop(labels, "right", image=image).values
    assert plain["mrd1_px"] == pytest.approx(160.0 - 110.5, abs=0.05)
    assert refined["mrd1_px"] == pytest.approx(160.0 - 107.3, abs=0.3)
    off = MeasureParams(lid_refine=LidRefineParams(enabled=False))
    unrefined = measure_eye_crop(labels, "right", off, image=image).values
    assert unrefined["mrd1_px"] == pytest.approx(plain["mrd1_px"])
