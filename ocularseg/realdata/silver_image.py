"""The second, image-based silver teacher: caruncle and pupil within the first teacher's geometry.

MediaPipe (:mod:`.silver`) gives a real eye's opening and iris disc but says nothing about
which opening pixels are caruncle and which disc pixels are pupil. This module reads the
crop's colours inside that geometry and sharpens the partial label map where, and only
where, the evidence is strong:

* **Pupil** — the dark disc concentric with the iris. A radial profile of luminance from the
  teacher's iris centre over the visible disc (a low percentile per ring, so the corneal
  reflex does not count) is searched for the strongest dark-to-bright step between 0.15 and
  0.75 iris radii. With enough contrast, a sharp step and most of the candidate disc visible,
  the pixels well inside it become ``PUPIL`` and those well outside ``IRIS``; a narrow band
  around the edge stays "iris or pupil". Without (a dark brown iris, a blurred eye, a lid over
  the pupil) only the outer ring of the disc (beyond the largest pupil a human has) becomes
  ``IRIS``: the pupil is *unknown*, never guessed.
* **Caruncle** — the pink tissue between the inner-canthus point and the medial edge of the
  sclera. Its colour is judged against the same eye's sclera (opening pixels far from both
  corners) and skin (a band outside the lid contour) in CIE L*a*b*: a pixel is caruncle-like
  when its redness a* lies at least half-way from the sclera's to the skin's, and it is
  labelled ``CARUNCLE`` only inside the region a caruncle can occupy (within
  ``caruncle_reach_w`` eye widths of the inner corner) and in a component that touches the
  corner. Opening pixels beyond ``sclera_reach_w`` from the inner corner, and medial pixels
  lateral of a found caruncle, are ``SCLERA``: no caruncle is ever taught at the outer corner
  or along the lids. Where sclera and skin do not differ in redness, the medial zone stays
  "sclera or caruncle".

Coordinates are crop px (x right, y down), pixel centres at integers. Colours are OpenCV's
8-bit L*a*b* (L 0–255, a* with 128 = neutral).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocularseg.core.labels import Label, PartialLabel
from ocularseg.data.eye_meta import CaruncleEvidence, PupilEvidence
from ocularseg.evaluation.placement import axis_position
from ocularseg.realdata.silver import TeacherEye


@dataclass(frozen=True)
class ImageSilverParams:
    """Thresholds of the image-based teacher (radii as fractions of the teacher's iris radius
    R, reaches as fractions of the canthus-to-canthus width W, colours in 8-bit L*a*b* units)."""

    #: Pupil radius search range (pupil/iris radius ratio). A human pupil spans about
    #: 2–8 mm of an 11.7 mm iris; the search stops at 0.6 because beyond it the window
    #: outside the edge reaches the limbus, where a teacher circle a little too large
    #: blurs in the sclera and a dark iris passes for a pupil. Larger pupils stay unknown.
    pupil_min_r: float = 0.15
    pupil_max_r: float = 0.6
    #: Beyond this radius the disc is iris in every eye (no pupil reaches it).
    iris_certain_r: float = 0.8
    #: Ring width of the radial profile.
    ring_r: float = 0.025
    #: Percentile of luminance per ring (low, so the reflex highlight does not count).
    ring_percentile: float = 40.0
    #: Width of the profile windows either side of a candidate pupil edge, and their
    #: distance from it (half-width of the blur an edge may have).
    step_window_r: float = 0.1
    edge_gap_r: float = 0.04
    #: Least luminance step across the pupil edge (L units), and least share of the iris
    #: ring − pupil core difference that the step must carry (an edge, not shading).
    pupil_min_step_l: float = 30.0
    pupil_min_step_share: float = 0.5
    #: Smallest iris radius in the *frame* (px) at which a pupil is looked for: a crop
    #: enlarged from a small eye is too blurred to show where a pupil's edge is.
    pupil_min_frame_iris_radius_px: float = 8.0
    #: Least share of the candidate pupil disc that must be visible (not under a lid).
    pupil_min_visible_share: float = 0.6
    #: Band around the pupil edge left "iris or pupil" (fraction of the pupil radius; at
    #: least ``edge_band_min_px``).
    pupil_edge_band: float = 0.15
    edge_band_min_px: float = 1.5
    #: How far from the inner corner a caruncle may reach, and beyond which every opening
    #: pixel is sclera (eye widths, along the corner-to-corner axis).
    caruncle_reach_w: float = 0.15
    sclera_reach_w: float = 0.25
    #: A found caruncle must touch a disc of this radius around the inner corner.
    corner_touch_w: float = 0.07
    #: Least redness difference skin − sclera for the caruncle test to be made at all, and
    #: least redness of a caruncle pixel above the sclera's (a* units).
    min_skin_sclera_da: float = 4.0
    caruncle_min_da: float = 5.0
    #: A caruncle pixel's redness is at least this far from the sclera's towards the skin's.
    caruncle_redness_share: float = 0.6
    #: Darker than this share of the sclera's L is lash or shadow, not caruncle.
    caruncle_min_l_share: float = 0.35
    #: Smallest caruncle worth labelling (share of W², i.e. a 0.03 W square).
    caruncle_min_area_w2: float = 0.0009
    #: Width of the skin band outside the lid contour (eye widths).
    skin_band_w: float = 0.08


@dataclass(frozen=True)
class ImageSilver:
    """A sharpened silver map and the evidence behind it."""

    labels: np.ndarray
    pupil: PupilEvidence
    caruncle: CaruncleEvidence


def refine_silver_labels(
    image_rgb: np.ndarray,
    eye: TeacherEye,
    labels: np.ndarray,
    params: ImageSilverParams | None = None,
    scale_crop_per_frame: float = 1.0,
) -> ImageSilver:
    """Sharpen a partial silver map (:func:`.silver.silver_label_map`) with the crop's colours.

    Args:
        image_rgb: (H, W, 3) uint8 crop.
        eye: the first teacher's eye in crop px.
        labels: (H, W) uint8 partial label map of the same crop (not modified).
        params: thresholds.
        scale_crop_per_frame: crop px per frame px (the crop's enlargement).

    Returns:
        The new map (``PUPIL`` / ``IRIS`` / ``CARUNCLE`` / ``SCLERA`` where the evidence is
        strong, the partial labels elsewhere) with the pupil and caruncle evidence.
    """
    import cv2

    p = params or ImageSilverParams()
    image = np.asarray(image_rgb)
    if image.ndim != 3 or image.shape[:2] != labels.shape:
        raise ValueError(f"image {image.shape} does not match labels {labels.shape}")
    lab = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2LAB).astype(np.float32)
    out = labels.copy()
    pupil = _label_pupil(lab[..., 0], eye, out, p, scale_crop_per_frame)
    caruncle = _label_caruncle(lab, eye, out, p)
    return ImageSilver(out, pupil, caruncle)


def _label_pupil(
    luminance: np.ndarray,
    eye: TeacherEye,
    out: np.ndarray,
    p: ImageSilverParams,
    scale_crop_per_frame: float,
) -> PupilEvidence:
    """Label pupil / iris inside the visible disc of ``out`` in place."""
    disc = out == PartialLabel.IRIS_DISC
    radius = float(eye.iris_radius)
    if radius <= 0 or disc.sum() < 20:
        return PupilEvidence(False, None, 0.0, 0.0, 0.0, "no_disc")
    rows, cols = np.indices(out.shape)
    r = np.hypot(cols - eye.iris_centre[0], rows - eye.iris_centre[1]) / radius
    out[disc & (r >= p.iris_certain_r)] = Label.IRIS
    if radius / max(scale_crop_per_frame, 1e-9) < p.pupil_min_frame_iris_radius_px:
        return PupilEvidence(False, None, 0.0, 0.0, 0.0, "too_small")
    edges = np.arange(0.0, 0.95 + 1e-9, p.ring_r)
    centres = 0.5 * (edges[:-1] + edges[1:])
    profile = np.full(len(centres), np.nan)
    ring_index = np.digitize(r[disc], edges) - 1
    values = luminance[disc]
    for k in range(len(centres)):
        ring = values[ring_index == k]
        if ring.size >= 3:
            profile[k] = float(np.percentile(ring, p.ring_percentile))
    best = _best_pupil_edge(centres, profile, p)
    if best is None:
        return PupilEvidence(False, None, 0.0, 0.0, 0.0, "low_contrast")
    edge_r, contrast, step = best
    candidate = r < edge_r
    visible_share = float((candidate & disc).sum() / max(candidate.sum(), 1))
    step_share = step / contrast if contrast > 0 else 0.0
    found = (step, step_share, visible_share)
    if step < p.pupil_min_step_l:
        return PupilEvidence(False, None, *found, "low_contrast")
    if step_share < p.pupil_min_step_share:
        return PupilEvidence(False, None, *found, "soft_edge")
    if visible_share < p.pupil_min_visible_share:
        return PupilEvidence(False, None, *found, "covered")
    radius_px = edge_r * radius
    band_px = max(p.pupil_edge_band * radius_px, p.edge_band_min_px)
    r_px = r * radius
    out[disc & (r_px <= radius_px - band_px)] = Label.PUPIL
    out[disc & (r_px >= radius_px + band_px)] = Label.IRIS
    return PupilEvidence(True, radius_px, *found, "")


def _best_pupil_edge(
    centres: np.ndarray, profile: np.ndarray, p: ImageSilverParams
) -> tuple[float, float, float] | None:
    """(edge radius / R, iris ring − pupil core contrast, step across the edge), or None.

    The step at a candidate edge is the profile's mean in a window just outside it minus
    that just inside, the windows ``edge_gap_r`` clear of the edge so that a blurred edge of
    that half-width still counts in full. Every candidate within the gap of a sharp edge
    then scores about the same, so the edge is the middle of the run of candidates within
    5 % of the best step around the best one.
    """
    outer = profile[(centres >= p.iris_certain_r) & np.isfinite(profile)]
    if outer.size == 0:
        return None
    iris_l = float(np.median(outer))
    edges = np.arange(p.pupil_min_r, p.pupil_max_r + 1e-9, p.ring_r)
    steps = np.full(len(edges), -np.inf)
    for k, edge in enumerate(edges):
        inside = profile[
            (centres < edge - p.edge_gap_r) & (centres >= edge - p.edge_gap_r - p.step_window_r)
        ]
        outside = profile[
            (centres >= edge + p.edge_gap_r) & (centres < edge + p.edge_gap_r + p.step_window_r)
        ]
        inside, outside = inside[np.isfinite(inside)], outside[np.isfinite(outside)]
        if inside.size >= 2 and outside.size >= 2:
            steps[k] = float(outside.mean() - inside.mean())
    if not np.isfinite(steps).any():
        return None
    best = int(np.argmax(steps))
    level = steps[best] - 0.05 * abs(steps[best])
    low = high = best
    while low > 0 and steps[low - 1] >= level:
        low -= 1
    while high < len(edges) - 1 and steps[high + 1] >= level:
        high += 1
    edge = float(0.5 * (edges[low] + edges[high]))
    core = profile[(centres < edge - p.edge_gap_r) & np.isfinite(profile)]
    if core.size == 0:
        return None
    return edge, iris_l - float(np.median(core)), float(steps[best])


def _label_caruncle(
    lab: np.ndarray, eye: TeacherEye, out: np.ndarray, p: ImageSilverParams
) -> CaruncleEvidence:
    """Label caruncle / sclera in the opening of ``out`` in place."""
    import cv2

    opening_rest = out == PartialLabel.OPENING_NOT_DISC
    near_corner_unlabelled = out == PartialLabel.IGNORE
    outer, inner = eye.corners
    width = eye.corner_distance
    if width <= 0:
        return CaruncleEvidence(False, 0, 0.0, 0.0, "no_contrast")
    # Distance from the inner corner along the corner-to-corner axis, in eye widths.
    t = axis_position(out.shape, inner, outer)
    out[opening_rest & (t > p.sclera_reach_w)] = Label.SCLERA
    sclera_ref = opening_rest & (t > p.sclera_reach_w) & (t < 1.0 - p.sclera_reach_w)
    opening = (out != 0) & (out != PartialLabel.IGNORE)
    band_px = max(p.skin_band_w * width, 2.0)
    outside = (~opening).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    skin_ref = (outside > 0) & (distance <= band_px) & ~near_corner_unlabelled & (t > 0) & (t < 1)
    if sclera_ref.sum() < 10 or skin_ref.sum() < 10:
        return CaruncleEvidence(False, 0, 0.0, 0.0, "no_contrast")
    sclera_l = float(np.median(lab[..., 0][sclera_ref]))
    sclera_a = float(np.median(lab[..., 1][sclera_ref]))
    skin_a = float(np.median(lab[..., 1][skin_ref]))
    da = skin_a - sclera_a
    if da < p.min_skin_sclera_da:
        return CaruncleEvidence(False, 0, 0.0, da, "no_contrast")
    zone = opening_rest & (t <= p.caruncle_reach_w)
    redness = lab[..., 1] - sclera_a
    pink = (
        zone
        & (redness >= max(p.caruncle_min_da, p.caruncle_redness_share * da))
        & (lab[..., 0] >= p.caruncle_min_l_share * sclera_l)
    )
    _, components = cv2.connectedComponents(pink.astype(np.uint8), connectivity=8)
    rows, cols = np.indices(out.shape)
    touch = np.hypot(cols - inner[0], rows - inner[1]) <= p.corner_touch_w * width
    touching = np.unique(components[touch & pink])
    keep = np.isin(components, touching[touching > 0])
    min_area = p.caruncle_min_area_w2 * width**2
    if keep.sum() < min_area:
        reason = "no_pink" if not pink.any() else "too_small"
        return CaruncleEvidence(False, 0, 0.0, da, reason)
    reach = float(t[keep].max())
    # Opening pixels lateral of the caruncle are sclera; the caruncle's own outline (its
    # pink core may be smaller than the tissue) and the rest of the zone stay unknown.
    out[opening_rest & (t > reach + 0.03)] = Label.SCLERA
    out[keep] = Label.CARUNCLE
    return CaruncleEvidence(True, int(keep.sum()), reach, da, "")
