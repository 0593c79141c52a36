"""Analytic geometry of a phantom eye: lids, iris, pupil, caruncle, and the exact truth.

Three frames are used, all in crop px with y down:

* the *crop frame* (what is rendered; pixel (row i, column j) has its centre at x=j, y=i);
* the *head frame*: the crop frame before the head roll (the whole eye is turned by
  ``roll_deg`` about the crop centre, counter-clockwise in the image for positive roll);
* the *fissure frame* (sw, h): sw is the distance along the intercanthal line from the
  medial canthus (0) towards the lateral canthus (eye width), h the distance
  perpendicular to it, positive towards the brow.

The lids are functions of s = sw / eye width in the fissure frame: the upper lid is
``h = upper_h(s)``, the lower lid ``h = lower_h(s)``; both meet at the canthi. A pixel belongs
to the opening iff its centre lies strictly between them. The same piecewise-linear lookup
tables decide the mask and the analytic truth, so the two agree up to rasterisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ocularseg.core.errors import ConfigError
from ocularseg.core.labels import Label
from ocularseg.synth.params import SIDES, EyeParams

#: Samples of the lid lookup tables along the fissure.
_LUT_SIZE = 257
#: Points per lid curve reported in the truth (canthus to canthus).
_TRUTH_CURVE_POINTS = 41
#: Minimum crop size the renderer supports (px).
MIN_WIDTH_PX = 96
MIN_HEIGHT_PX = 64


def lid_shape(s: np.ndarray, peak: float, power: float) -> np.ndarray:
    """Lid contour profile in [0, 1]: 0 at both canthi, 1 at ``s == peak``.

    Args:
        s: positions along the fissure, 0 = medial, 1 = lateral canthus.
        peak: where the apex lies (0–1 exclusive).
        power: exponent; < 1 gives a fuller, > 1 a more almond-shaped contour.
    """
    s = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)
    warp = math.log(0.5) / math.log(peak)
    return np.sin(np.pi * s**warp) ** power


@dataclass(frozen=True)
class EyeGeometry:
    """Everything positional about one phantom, derived from :class:`EyeParams`.

    Attributes:
        width_px, height_px: crop size.
        side: patient's side.
        eye_w: canthus-to-canthus width (crop px).
        iris_r, pupil_r: radii (crop px).
        closed: the lids meet everywhere (no opening).
        fwd: (2, 3) affine crop px -> fissure frame (sw, h).
        inv: (2, 3) affine fissure frame -> crop px.
        head_to_crop: (2, 3) affine head frame -> crop frame (the roll).
        s_lut, upper_lut, lower_lut: lid lookup tables (h in crop px at s).
        crease_lut: crease height h at s (crop px), used for the skin only.
        iris_fis, pupil_fis: iris / pupil centres in the fissure frame (sw, h).
        caruncle_w: caruncle width along the fissure (crop px).
    """

    width_px: int
    height_px: int
    side: str
    eye_w: float
    iris_r: float
    pupil_r: float
    closed: bool
    fwd: np.ndarray
    inv: np.ndarray
    head_to_crop: np.ndarray
    s_lut: np.ndarray
    upper_lut: np.ndarray
    lower_lut: np.ndarray
    crease_lut: np.ndarray
    iris_fis: tuple[float, float]
    pupil_fis: tuple[float, float]
    caruncle_w: float

    # -- frame changes -------------------------------------------------------------------
    def to_fissure(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crop px (x, y) -> fissure frame (sw, h)."""
        f = self.fwd
        return f[0, 0] * x + f[0, 1] * y + f[0, 2], f[1, 0] * x + f[1, 1] * y + f[1, 2]

    def to_crop(self, sw: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fissure frame (sw, h) -> crop px (x, y)."""
        g = self.inv
        return g[0, 0] * sw + g[0, 1] * h + g[0, 2], g[1, 0] * sw + g[1, 1] * h + g[1, 2]

    # -- lids ----------------------------------------------------------------------------
    def upper_h(self, sw: np.ndarray) -> np.ndarray:
        """Upper lid height h at fissure position sw (crop px; 0 beyond the canthi)."""
        return np.interp(np.asarray(sw) / self.eye_w, self.s_lut, self.upper_lut)

    def lower_h(self, sw: np.ndarray) -> np.ndarray:
        """Lower lid height h at fissure position sw (crop px; 0 beyond the canthi)."""
        return np.interp(np.asarray(sw) / self.eye_w, self.s_lut, self.lower_lut)

    def inside(self, sw: np.ndarray, h: np.ndarray) -> np.ndarray:
        """True where (sw, h) lies strictly inside the lid opening."""
        s = np.asarray(sw) / self.eye_w
        return (
            (s > 0.0)
            & (s < 1.0)
            & (h < np.interp(s, self.s_lut, self.upper_lut))
            & (h > np.interp(s, self.s_lut, self.lower_lut))
        )

    def caruncle(self, sw: np.ndarray, h: np.ndarray) -> np.ndarray:
        """True where (sw, h) is in the caruncle ellipse (to be intersected with the opening)."""
        cw = self.caruncle_w
        s_c = cw / self.eye_w
        half = 0.5 * float(
            np.interp(s_c, self.s_lut, self.upper_lut) - np.interp(s_c, self.s_lut, self.lower_lut)
        )
        mid = 0.5 * float(
            np.interp(s_c, self.s_lut, self.upper_lut) + np.interp(s_c, self.s_lut, self.lower_lut)
        )
        ch = max(1.5 * half, 1.0)
        return (np.asarray(sw) / cw) ** 2 + ((h - mid) / ch) ** 2 < 1.0

    # -- points --------------------------------------------------------------------------
    def iris_center(self) -> tuple[float, float]:
        """Iris centre in crop px."""
        x, y = self.to_crop(np.float64(self.iris_fis[0]), np.float64(self.iris_fis[1]))
        return float(x), float(y)

    def pupil_center(self) -> tuple[float, float]:
        """Pupil centre in crop px."""
        x, y = self.to_crop(np.float64(self.pupil_fis[0]), np.float64(self.pupil_fis[1]))
        return float(x), float(y)

    def lid_curves(self, n: int = _TRUTH_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
        """Upper and lower lid as (n, 2) crop-px point arrays, medial to lateral canthus.

        Points are denser towards the canthi, where the lids curve most sharply, so the
        polyline stays within a pixel of the lid used for the mask.
        """
        s = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))
        sw = s * self.eye_w
        ux, uy = self.to_crop(sw, np.interp(s, self.s_lut, self.upper_lut))
        lx, ly = self.to_crop(sw, np.interp(s, self.s_lut, self.lower_lut))
        return np.stack([ux, uy], 1), np.stack([lx, ly], 1)

    def opening_bbox(self, margin: float) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) pixel box (x1/y1 exclusive) around the opening plus ``margin`` px."""
        up, lo = self.lid_curves(65)
        pts = np.concatenate([up, lo])
        x0 = max(0, int(math.floor(pts[:, 0].min() - margin)))
        y0 = max(0, int(math.floor(pts[:, 1].min() - margin)))
        x1 = min(self.width_px, int(math.ceil(pts[:, 0].max() + margin)) + 1)
        y1 = min(self.height_px, int(math.ceil(pts[:, 1].max() + margin)) + 1)
        return x0, y0, max(x0, x1), max(y0, y1)


def build_geometry(params: EyeParams, width_px: int, height_px: int) -> EyeGeometry:
    """Place canthi, lids, iris and pupil for ``params`` in a ``width_px``×``height_px`` crop.

    Raises:
        ConfigError: the crop is smaller than 96×64 px, the side is unknown, or a
            parameter lies outside its documented range.
    """
    _validate(params, width_px, height_px)
    W, H = float(width_px), float(height_px)
    w = params.eye_width_frac * W
    r = params.iris_radius_frac * w
    rp = params.pupil_radius_frac * r
    cw = params.caruncle_width_frac * w
    place = _place(params, W, H, w)
    iris0, iris, dy = _iris_position(params, place, w, r, cw)
    s0, h0 = place.head_to_fis(iris0)
    s0 /= w
    s_lut, upper_lut, lower_lut, crease_lut, closed = _lid_tables(params, s0, h0, r, w, dy)
    fwd, inv, head_to_crop = _keep_inside(place, s_lut, upper_lut, lower_lut, w, W, H)
    iris_fis = place.head_to_fis(iris)
    pupil_fis = place.head_to_fis(iris + _pupil_offset(params, r, rp))
    return EyeGeometry(
        width_px=int(width_px),
        height_px=int(height_px),
        side=params.side,
        eye_w=w,
        iris_r=r,
        pupil_r=rp,
        closed=closed,
        fwd=fwd,
        inv=inv,
        head_to_crop=head_to_crop,
        s_lut=s_lut,
        upper_lut=upper_lut,
        lower_lut=lower_lut,
        crease_lut=crease_lut,
        iris_fis=(float(iris_fis[0]), float(iris_fis[1])),
        pupil_fis=(float(pupil_fis[0]), float(pupil_fis[1])),
        caruncle_w=cw,
    )


@dataclass(frozen=True)
class _Placement:
    """The intercanthal line in the head frame and the affines between the frames.

    Attributes:
        m_sign: +1 when the medial canthus is on the crop's right (right eye), else -1.
        centre, medial: eye centre and medial canthus in the head frame (crop px).
        basis: (2, 2) rows d (unit, medial -> lateral) and n (unit, towards the brow).
        linear: (2, 2) linear part of ``fwd``.
        fwd, inv, head_to_crop: (2, 3) affines as in :class:`EyeGeometry` (before any
            shift that keeps the opening inside the crop).
    """

    m_sign: float
    centre: np.ndarray
    medial: np.ndarray
    basis: np.ndarray
    linear: np.ndarray
    fwd: np.ndarray
    inv: np.ndarray
    head_to_crop: np.ndarray

    def head_to_fis(self, p: np.ndarray) -> np.ndarray:
        """Head-frame point(s) -> fissure frame (sw, h)."""
        return self.basis @ (p - self.medial)


def _place(params: EyeParams, W: float, H: float, w: float) -> _Placement:
    """Intercanthal line and head roll for a ``W``×``H`` crop and eye width ``w`` (px)."""
    c = np.array([(W - 1.0) / 2.0, (H - 1.0) / 2.0])
    # Intercanthal line in the head frame. For the right eye the medial canthus is on the
    # crop's right (the patient faces the camera); the lateral canthus sits higher by the
    # canthal tilt.
    m_sign = 1.0 if params.side == "right" else -1.0
    tau = math.radians(params.canthal_tilt_deg)
    d = np.array([-m_sign * math.cos(tau), -math.sin(tau)])  # medial -> lateral
    n = np.array([d[1], -d[0]])
    if n[1] > 0:  # h grows towards the brow (up in the image)
        n = -n
    centre = c + np.array([params.eye_dx_frac * W, params.eye_dy_frac * H])
    medial = centre - 0.5 * w * d

    # Roll about the crop centre: q = R (p - c) + c, counter-clockwise in the image.
    a = math.radians(params.roll_deg)
    R = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    Rinv = R.T
    head_to_crop = np.concatenate([R, (c - R @ c)[:, None]], 1)
    # crop -> head -> fissure: (sw, h) = [d; n] (Rinv (q - c) + c - medial)
    B = np.stack([d, n])
    A = B @ Rinv
    fwd = np.concatenate([A, (B @ (c - medial) - A @ c)[:, None]], 1)
    Ainv = np.linalg.inv(A)
    inv = np.concatenate([Ainv, (-Ainv @ fwd[:, 2])[:, None]], 1)
    return _Placement(m_sign, centre, medial, B, A, fwd, inv, head_to_crop)


def _iris_position(
    params: EyeParams, place: _Placement, w: float, r: float, cw: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """(primary-gaze iris centre, gazing iris centre, vertical gaze shift dy), head frame."""
    # Iris: centred over the fissure in primary gaze, a little above the intercanthal line.
    iris0 = place.centre + np.array([0.0, -params.canthus_drop_frac * r])
    # Anatomical gaze limits: the iris stops short of the caruncle medially and may slide
    # partly under the lateral canthus.
    lim_medial = max(0.0, 0.5 * w - r - 1.25 * cw - 2.0) * 0.9
    lim_lateral = max(0.0, 0.5 * w - 0.75 * r) * 0.9
    towards_medial = params.gaze_x * place.m_sign > 0
    dx = params.gaze_x * (lim_medial if towards_medial else lim_lateral)
    dy = params.gaze_y * 0.55 * r
    return iris0, iris0 + np.array([dx, dy]), dy


def _lid_tables(
    params: EyeParams, s0: float, h0: float, r: float, w: float, dy: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """(s_lut, upper_lut, lower_lut, crease_lut, closed) as in :class:`EyeGeometry`, for
    an iris (primary gaze) at fissure position (s0 · w, h0)."""
    # Lid levels at the primary iris column; they follow vertical gaze in part.
    mrd1 = r * (1.6 * params.upper_lid_open - 0.4)
    upper_t = h0 + mrd1 - params.upper_lid_follow * dy
    lower_t = (
        h0 - params.mrd2_frac * r - params.lower_lid_follow * dy + params.lower_lid_raise * 0.15 * r
    )
    lower_t = min(lower_t, -0.08 * r)  # the lower lid stays below the intercanthal line
    upper_t = max(upper_t, lower_t + 0.25 * r)  # an open eye keeps a visible fissure
    upper_t = min(upper_t, lower_t + 0.45 * w)  # and opens at most ~13 mm of a ~30 mm fissure
    s_lut = np.linspace(0.0, 1.0, _LUT_SIZE)
    fu = lid_shape(s_lut, params.upper_lid_peak, params.upper_lid_power)
    fl = lid_shape(s_lut, params.lower_lid_peak, params.lower_lid_power)
    fu0 = float(lid_shape(np.array([s0]), params.upper_lid_peak, params.upper_lid_power)[0])
    fl0 = float(lid_shape(np.array([s0]), params.lower_lid_peak, params.lower_lid_power)[0])
    lower_lut = lower_t / max(fl0, 0.2) * fl
    closed = params.upper_lid_open <= 0.0
    if closed:
        # A blink: the upper lid comes down onto a slightly raised lower lid.
        lower_lut = 0.7 * lower_lut
        upper_lut = lower_lut.copy()
    else:
        upper_lut = np.maximum(upper_t / max(fu0, 0.2) * fu, lower_lut)
    # The crease follows a normally open lid, so it stays put when the lid droops.
    ref_upper = (h0 + 0.8 * r) / max(fu0, 0.2) * fu
    crease_lut = np.maximum(
        ref_upper + params.crease_frac * w * (0.55 + 0.45 * np.sin(np.pi * s_lut)), upper_lut + 2.0
    )
    return s_lut, upper_lut, lower_lut, crease_lut, closed


def _keep_inside(
    place: _Placement,
    s_lut: np.ndarray,
    upper_lut: np.ndarray,
    lower_lut: np.ndarray,
    w: float,
    W: float,
    H: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fwd, inv, head_to_crop) with the whole opening >= 2 px inside the crop.

    The eye is shifted (in the crop frame) by the least amount needed. Only the affines'
    offsets change; shapes do not.
    """
    fwd, inv, head_to_crop = place.fwd, place.inv, place.head_to_crop
    ex = inv[:, :2] @ np.stack(
        [np.concatenate([s_lut, s_lut]) * w, np.concatenate([upper_lut, lower_lut])]
    )
    ex = ex + inv[:, 2:3]
    shift = np.zeros(2)
    for axis, size in ((0, W), (1, H)):
        lo, hi = float(ex[axis].min()), float(ex[axis].max())
        if lo < 2.0:
            shift[axis] = 2.0 - lo
        elif hi > size - 3.0:
            shift[axis] = (size - 3.0) - hi
    if shift.any():
        fwd = fwd.copy()
        fwd[:, 2] -= place.linear @ shift
        inv = inv.copy()
        inv[:, 2] += shift
        head_to_crop = head_to_crop.copy()
        head_to_crop[:, 2] += shift
    return fwd, inv, head_to_crop


def _pupil_offset(params: EyeParams, r: float, rp: float) -> np.ndarray:
    """Pupil decentration (head frame px), kept so the pupil stays >= 2 px inside the iris.

    The pupil can then never touch sclera or caruncle.
    """
    pupil_off = np.array([params.pupil_dx_frac, params.pupil_dy_frac]) * r
    room = max(0.0, r - rp - 2.0)
    norm = float(np.hypot(*pupil_off))
    if norm > room:
        pupil_off = pupil_off * (room / norm)
    return pupil_off


def rasterise_labels(geo: EyeGeometry) -> np.ndarray:
    """Label map (H, W) uint8 of ``geo``: a pixel's class is decided at its centre.

    Order: opening -> sclera; caruncle ellipse ∩ opening -> caruncle; iris disc ∩ opening
    -> iris; pupil disc ∩ opening -> pupil. The pupil disc lies >= 2 px inside the iris
    disc, so a pupil pixel's 4-neighbours are iris, pupil or (where a lid cuts) background.
    """
    labels = np.zeros((geo.height_px, geo.width_px), np.uint8)
    if geo.closed:
        return labels
    x0, y0, x1, y1 = geo.opening_bbox(2.0)
    if x1 <= x0 or y1 <= y0:
        return labels
    xs = np.arange(x0, x1, dtype=np.float64)
    ys = np.arange(y0, y1, dtype=np.float64)[:, None]
    sw, h = geo.to_fissure(xs[None, :], ys)
    opening = geo.inside(sw, h)
    sub = np.where(opening, np.uint8(Label.SCLERA), np.uint8(Label.BACKGROUND))
    sub[opening & geo.caruncle(sw, h)] = Label.CARUNCLE
    isw, ih = geo.iris_fis
    psw, ph = geo.pupil_fis
    sub[opening & ((sw - isw) ** 2 + (h - ih) ** 2 <= geo.iris_r**2)] = Label.IRIS
    sub[opening & ((sw - psw) ** 2 + (h - ph) ** 2 <= geo.pupil_r**2)] = Label.PUPIL
    labels[y0:y1, x0:x1] = sub
    return labels


def _column_interval(geo: EyeGeometry, x: float) -> tuple[float, float] | None:
    """First and last y (crop px, analytic) of the opening on the vertical line through x."""
    ys = np.arange(-1.0, geo.height_px + 1.0, 0.125)
    sw, h = geo.to_fissure(np.full_like(ys, x), ys)
    inside = geo.inside(sw, h)
    if not inside.any():
        return None
    idx = np.flatnonzero(inside)

    def pred(y: float) -> bool:
        a, b = geo.to_fissure(np.array([x]), np.array([y]))
        return bool(geo.inside(a, b)[0])

    def refine(lo: float, hi: float, lo_in: bool) -> float:
        # Bisection on the boundary between an outside and an inside sample.
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            if pred(mid) == lo_in:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    top = refine(ys[idx[0]] - 0.125, ys[idx[0]], False) if idx[0] > 0 else ys[0]
    bottom = refine(ys[idx[-1]], ys[idx[-1]] + 0.125, True) if idx[-1] < len(ys) - 1 else ys[-1]
    return float(top), float(bottom)


def visible_iris_area(geo: EyeGeometry, samples: int = 4000) -> float:
    """Analytic area (crop px²) of iris disc ∩ opening (D), by integration along the fissure."""
    if geo.closed:
        return 0.0
    isw, ih = geo.iris_fis
    r = geo.iris_r
    step = 2.0 * r / samples
    sw = isw - r + step * (np.arange(samples) + 0.5)
    half = np.sqrt(np.maximum(r * r - (sw - isw) ** 2, 0.0))
    s = sw / geo.eye_w
    top = np.minimum(ih + half, np.interp(s, geo.s_lut, geo.upper_lut))
    bottom = np.maximum(ih - half, np.interp(s, geo.s_lut, geo.lower_lut))
    overlap = np.where((s > 0) & (s < 1), np.maximum(top - bottom, 0.0), 0.0)
    return float(overlap.sum() * step)


def compute_truth(geo: EyeGeometry, labels: np.ndarray) -> dict:
    """Exact ground truth of one phantom (JSON-ready; crop px, y down).

    Measurements follow ``docs/measurements.md`` ("Columns", "Pixel conventions") in the
    crop's pixel grid — the crop is the measurement frame, so with head roll the "centre
    column" is still a column of the crop, not a line along the rolled head. Lid distances
    are evaluated analytically on the centre of the pixel column that contains the iris
    centre (x = round(cx)), against the exact iris centre row cy; the mask values on that
    column differ only by rasterisation (< 1 px). Areas are pixel counts of ``labels``.
    Values that do not exist (closed eye, no opening pixel on the centre column) are None.
    """
    cx, cy = geo.iris_center()
    pcx, pcy = geo.pupil_center()
    r = geo.iris_r
    upper, lower = geo.lid_curves()
    medial, lateral = upper[0], upper[-1]
    counts = np.bincount(labels.ravel(), minlength=len(Label))
    col = int(min(max(round(cx), 0), geo.width_px - 1))
    interval = None if geo.closed else _column_interval(geo, float(col))
    if interval is not None:
        top, bottom = interval
        # A sliver between two pixel rows holds no pixel centre: no opening, as in the mask.
        if math.floor(top) + 1 > math.ceil(bottom) - 1:
            interval = None
    mrd1 = mrd2 = fissure = show = None
    if interval is not None:
        top, bottom = interval
        mrd1 = cy - top
        mrd2 = bottom - cy
        fissure = bottom - top
        dxc = col - cx
        if abs(dxc) < r:
            half = math.sqrt(r * r - dxc * dxc)
            d_top, d_bottom = max(top, cy - half), min(bottom, cy + half)
            if d_bottom > d_top:
                show = max(0.0, d_top - top)
    area_d = visible_iris_area(geo)
    return {
        "side": geo.side,
        "eye_closed": bool(geo.closed or counts[1:].sum() == 0),
        "iris_center_px": [cx, cy],
        "iris_radius_px": r,
        "pupil_center_px": [pcx, pcy],
        "pupil_radius_px": geo.pupil_r,
        "upper_lid_px": upper.tolist(),
        "lower_lid_px": lower.tolist(),
        "medial_canthus_px": medial.tolist(),
        "lateral_canthus_px": lateral.tolist(),
        "centre_column_px": col,
        "mrd1_px": mrd1,
        "mrd2_px": mrd2,
        "fissure_height_px": fissure,
        "superior_scleral_show_px": show,
        "visible_iris_fraction": area_d / (math.pi * r * r),
        "area_background_px": int(counts[Label.BACKGROUND]),
        "area_sclera_px": int(counts[Label.SCLERA]),
        "area_iris_px": int(counts[Label.IRIS]),
        "area_pupil_px": int(counts[Label.PUPIL]),
        "area_caruncle_px": int(counts[Label.CARUNCLE]),
    }


def reflex_truth(params: EyeParams, geo: EyeGeometry, labels: np.ndarray) -> dict:
    """Exact truth of the corneal light reflex the renderer paints (crop px, y down).

    Returns ``reflex_center_px`` ([x, y]: the iris centre offset by ``reflex_dx_frac`` and
    ``reflex_dy_frac`` iris radii), ``reflex_visible`` (a reflex is painted and its centre
    pixel lies in the opening of ``labels``), and ``mrd1_reflex_px`` / ``mrd2_reflex_px``
    (reflex centre to the upper / lower lid on the pixel column that holds it, analytic,
    as ``compute_truth`` reads the centre column). Values that do not exist are ``None``.
    """
    out: dict = {
        "reflex_center_px": None,
        "reflex_visible": False,
        "mrd1_reflex_px": None,
        "mrd2_reflex_px": None,
    }
    if params.reflex_strength <= 0 or geo.closed:
        return out
    cx, cy = geo.iris_center()
    rx = cx + params.reflex_dx_frac * geo.iris_r
    ry = cy + params.reflex_dy_frac * geo.iris_r
    out["reflex_center_px"] = [rx, ry]
    row, col = math.floor(ry + 0.5), math.floor(rx + 0.5)
    height, width = labels.shape
    if not (0 <= row < height and 0 <= col < width) or labels[row, col] == Label.BACKGROUND:
        return out
    out["reflex_visible"] = True
    interval = _column_interval(geo, float(col))
    if interval is not None:
        out["mrd1_reflex_px"] = ry - interval[0]
        out["mrd2_reflex_px"] = interval[1] - ry
    return out


def _validate(params: EyeParams, width_px: int, height_px: int) -> None:
    if width_px < MIN_WIDTH_PX or height_px < MIN_HEIGHT_PX:
        raise ConfigError(
            f"phantom crop {width_px}×{height_px} px is below the "
            f"{MIN_WIDTH_PX}×{MIN_HEIGHT_PX} px minimum"
        )
    if params.side not in SIDES:
        raise ConfigError(f"side must be 'right' or 'left' (patient's side), got {params.side!r}")
    ranges = {
        "gaze_x": (-1.0, 1.0),
        "gaze_y": (-1.0, 1.0),
        "upper_lid_open": (0.0, 1.0),
        "eye_width_frac": (0.4, 0.9),
        "roll_deg": (-15.0, 15.0),
        "pupil_radius_frac": (0.05, 0.8),
        "iris_radius_frac": (0.1, 0.3),
        "upper_lid_peak": (0.05, 0.95),
        "lower_lid_peak": (0.05, 0.95),
    }
    for name, (lo, hi) in ranges.items():
        value = getattr(params, name)
        if not (lo <= value <= hi):
            raise ConfigError(f"EyeParams.{name} = {value} is outside [{lo}, {hi}]")
    if params.blur_sigma_px < 0 or params.noise_sigma < 0:
        raise ConfigError(
            f"blur_sigma_px and noise_sigma must be >= 0, got {params.blur_sigma_px} "
            f"and {params.noise_sigma}"
        )
    if not 0 <= params.jpeg_quality <= 100:
        raise ConfigError(f"jpeg_quality = {params.jpeg_quality} is outside [0, 100]")
