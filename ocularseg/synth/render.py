"""Render one procedural eye phantom: RGB crop, exact label map and exact truth.

``render_eye`` is a pure function of :class:`~ocularseg.synth.params.EyeParams`: the
geometry comes from :mod:`ocularseg.synth.geometry`, all texture and noise randomness from
``params.noise_seed``. Labels are anatomical: lashes, the corneal light reflex and shadows
change the image, never the mask.

Layers, back to front: periorbital skin (tone, lid/orbit/brow shading, mottling, pores) ->
eye opening (sclera with tint, shading and vessels; caruncle and plica; textured iris;
pupil; lid shadow; corneal reflex) -> lid margins (lash line, wet lower margin) -> crease
and fine lines -> lashes and brow hairs -> camera (illumination gradient, vignette, colour
cast, exposure, blur, noise, JPEG round-trip). The result is stored losslessly (PNG) by
the dataset writer; JPEG artefacts are baked in here, in memory.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ocularseg.synth.geometry import (
    EyeGeometry,
    build_geometry,
    compute_truth,
    rasterise_labels,
    reflex_truth,
)
from ocularseg.synth.params import EyeParams
from ocularseg.synth.textures import (
    iris_polar_texture,
    iris_remap_coords,
    noise_tiles,
    noise_window,
    tile_window,
)

#: Decimal places kept for floats in ``truth`` (and in the dataset's JSON).
TRUTH_DECIMALS = 4

_DOWNSCALE = 4  # the smooth skin shading is computed on a 4× coarser grid


@dataclass(frozen=True)
class RenderedEye:
    """One rendered phantom.

    Attributes:
        image: (H, W, 3) uint8 RGB crop.
        labels: (H, W) uint8 label map, values in ``ocularseg.core.labels.Label``.
        truth: JSON-ready exact ground truth in crop px (see ``render_eye``).
    """

    image: np.ndarray
    labels: np.ndarray
    truth: dict


def render_eye(params: EyeParams, *, width_px: int = 480, height_px: int = 320) -> RenderedEye:
    """Render the phantom described by ``params`` (deterministic: same params, same bytes).

    Truth (crop px, y down, the crop's pixel grid is the measurement frame even when the
    head is rolled): ``side``, ``eye_closed``, ``iris_center_px`` [x, y],
    ``iris_radius_px``, ``pupil_center_px``, ``pupil_radius_px``, ``upper_lid_px`` and
    ``lower_lid_px`` (41 [x, y] points, medial to lateral canthus), ``medial_canthus_px``,
    ``lateral_canthus_px``, ``centre_column_px`` (round(cx)), ``mrd1_px`` (cy − upper lid
    on the centre column; negative when the lid is below the centre), ``mrd2_px``,
    ``fissure_height_px``, ``superior_scleral_show_px``, ``visible_iris_fraction``
    (analytic area(D) / (π r²)), ``area_<class>_px`` (pixel counts of ``labels``), and the
    corneal reflex (``reflex_center_px``, ``reflex_visible``, ``mrd1_reflex_px``,
    ``mrd2_reflex_px``; see ``geometry.reflex_truth``).
    Lid values are exact for the centre of the centre column, so the mask's first/last
    opening row there differs by < 1 px. Undefined values (closed eye) are ``None``.

    Args:
        params: everything about the image.
        width_px, height_px: crop size; the default is the model's 480×320 input.

    Raises:
        ConfigError: a parameter is out of range or the crop is too small.
    """
    geo = build_geometry(params, width_px, height_px)
    labels = rasterise_labels(geo)
    truth = _round_json({**compute_truth(geo, labels), **reflex_truth(params, geo, labels)})
    rng = np.random.default_rng(params.noise_seed)
    low_tile, fine_tile = noise_tiles()
    mottle = tile_window(low_tile, rng, height_px, width_px)
    grain = tile_window(fine_tile, rng, height_px, width_px)
    image = _skin(params, geo, mottle, grain)
    _eye_opening(image, params, geo, rng, mottle)
    _lines(image, params, geo, rng)
    _hair(image, params, geo, rng)
    out = _camera(image, params, geo, rng)
    return RenderedEye(image=out, labels=labels, truth=truth)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _round_json(obj: object) -> object:
    """Round floats to TRUTH_DECIMALS, turn NaN into None and tuples into lists."""
    if isinstance(obj, dict):
        return {str(k): _round_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_round_json(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if not math.isfinite(value):
            return None
        return round(value, TRUTH_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    return obj


def truth_json(truth: dict) -> str:
    """Canonical JSON text of a truth dict (sorted keys, rounded floats)."""
    return json.dumps(_round_json(truth), sort_keys=True)


def _rgb(values: tuple[int, int, int] | tuple[float, float, float]) -> np.ndarray:
    return np.asarray(values, np.float32)


def _grid(x0: int, y0: int, x1: int, y1: int, step: float = 1.0, offset: float = 0.0):
    xs = (np.arange(x0, x1, dtype=np.float32) * step + offset)[None, :]
    ys = (np.arange(y0, y1, dtype=np.float32) * step + offset)[:, None]
    return xs, ys


def _window(s: np.ndarray, fade: float = 0.12) -> np.ndarray:
    """1 over the fissure (0 <= s <= 1), fading out beyond the canthi."""
    out = np.maximum(np.abs(s - 0.5) - 0.5, 0.0) / fade
    return np.exp(-out * out)


def _lut(s: np.ndarray, geo: EyeGeometry, table: np.ndarray) -> np.ndarray:
    return np.interp(s, geo.s_lut, table).astype(np.float32)


def _to_pts(geo: EyeGeometry, sw: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Fissure-frame polylines (..., k) -> int32 (..., k, 2) crop points with 4 fraction bits."""
    x, y = geo.to_crop(sw, h)
    return np.rint(np.stack([x, y], -1) * 16.0).astype(np.int32)


def _gauss(x: np.ndarray, mu: float | np.ndarray, sigma: float) -> np.ndarray:
    z = (x - mu) / sigma
    return np.exp(-z * z)


# ---------------------------------------------------------------------------------------
# skin
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SkinFrame:
    """Coarse-grid coordinates of the skin shading, all (lh, lw) float arrays.

    Attributes:
        s, h: fissure position (eye widths) and height (crop px).
        du: eye widths above the upper lid; dl: eye widths below the lower lid.
        crease: crease height above the upper lid (eye widths).
        win: 1 over the fissure, fading beyond the canthi.
    """

    s: np.ndarray
    h: np.ndarray
    du: np.ndarray
    dl: np.ndarray
    crease: np.ndarray
    win: np.ndarray


def _skin_frame(geo: EyeGeometry) -> _SkinFrame:
    H, W = geo.height_px, geo.width_px
    lh, lw = -(-H // _DOWNSCALE), -(-W // _DOWNSCALE)
    xs, ys = _grid(0, 0, lw, lh, float(_DOWNSCALE), (_DOWNSCALE - 1) / 2.0)
    sw, h = geo.to_fissure(xs, ys)
    w = geo.eye_w
    s = sw / w
    sc = np.clip(s, 0.0, 1.0)
    du = (h - _lut(sc, geo, geo.upper_lut)) / w
    dl = (_lut(sc, geo, geo.lower_lut) - h) / w
    crease = (_lut(sc, geo, geo.crease_lut) - _lut(sc, geo, geo.upper_lut)) / w
    return _SkinFrame(s=s, h=h, du=du, dl=dl, crease=crease, win=_window(s, 0.15))


#: Brow thickness along the fissure (s -> factor of ``brow_thickness_frac``).
_BROW_TAPER_S = [-0.2, 0.2, 1.0, 1.25]
_BROW_TAPER = [1.1, 1.0, 0.6, 0.2]


def _brow_height(params: EyeParams, s: np.ndarray) -> np.ndarray:
    """Brow height above the upper lid at fissure position ``s``, in eye widths."""
    return params.brow_frac + 0.06 * np.sin(np.pi * np.clip((s + 0.15) / 1.35, 0.0, 1.0))


def _skin(params: EyeParams, geo: EyeGeometry, mottle: np.ndarray, grain: np.ndarray) -> np.ndarray:
    """Periorbital skin, float32 (H, W, 3) 0–255: tone, shading and texture."""
    f = _skin_frame(geo)
    lum = np.ones_like(f.du)
    pig = np.zeros_like(f.du)
    _upper_lid_shading(lum, pig, params, f)
    brow = _brow(lum, params, f)
    _lower_shading(lum, pig, params, f, geo.eye_w)

    base = _rgb(params.skin_rgb)
    pig_rgb = base * np.array([0.74, 0.66, 0.68], np.float32)
    hair = _rgb(params.hair_rgb)
    pig = np.clip(pig, 0.0, 0.9)[..., None]
    low = base * (1.0 - pig) + pig_rgb * pig
    brow = np.clip(brow, 0.0, 1.0)[..., None]
    low = low * (1.0 - brow) + hair * brow
    low *= lum[..., None]
    H, W = geo.height_px, geo.width_px
    skin = cv2.resize(low.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    t = params.skin_texture_strength
    texture = 1.0 + t * (0.035 * mottle + 0.03 * grain)
    skin *= texture[..., None]
    # Mottling is also a little redder where the skin is more vascular.
    skin[..., 0] += (6.0 * t) * mottle
    return skin


def _upper_lid_shading(lum: np.ndarray, pig: np.ndarray, params: EyeParams, f: _SkinFrame) -> None:
    """Tarsal skin, the fold above the crease and the sulcus above it (in place)."""
    du, crease, win = f.du, f.crease, f.win
    dark = params.periorbital_darkening
    # Tarsal lid skin between lash line and crease: a little darker and more pigmented.
    tarsal = 1.0 / (1.0 + np.exp(-du / 0.01)) * 1.0 / (1.0 + np.exp((du - crease) / 0.04)) * win
    lum *= 1.0 - 0.03 * tarsal
    pig += (0.08 + 0.3 * dark) * tarsal
    # Skin fold above the crease catches the light; the sulcus above it is shadowed.
    lum *= 1.0 + 0.05 * _gauss(du, crease + 0.06, 0.07) * win
    hollow = 0.04 + 0.1 * dark
    lum *= 1.0 - hollow * _gauss(du, crease + 0.2, 0.12) * _window(f.s, 0.3)


def _brow(lum: np.ndarray, params: EyeParams, f: _SkinFrame) -> np.ndarray:
    """Brow ridge highlight (into ``lum``, in place); returns the brow's hair alpha."""
    s, du = f.s, f.du
    brow_h = _brow_height(params, s)
    thick = params.brow_thickness_frac * np.interp(s, _BROW_TAPER_S, _BROW_TAPER)
    lum *= 1.0 + 0.07 * _gauss(du, brow_h - thick - 0.06, 0.07) * _window(s, 0.4)
    brow = (
        1.0
        / (1.0 + np.exp(-(du - brow_h + 0.5 * thick) / 0.015))
        * 1.0
        / (1.0 + np.exp((du - brow_h - 0.5 * thick) / 0.015))
    )
    brow *= np.clip((s + 0.22) / 0.1, 0.0, 1.0) * np.clip((1.25 - s) / 0.15, 0.0, 1.0)
    return brow * (0.35 + 0.3 * params.lash_density)


def _lower_shading(
    lum: np.ndarray, pig: np.ndarray, params: EyeParams, f: _SkinFrame, w: float
) -> None:
    """Under-eye, cheek, side of the nose and the orbital hollow (in place)."""
    s, dl, win = f.s, f.dl, f.win
    dark = params.periorbital_darkening
    # Under-eye: dark circle, lower-lid bulge, infraorbital fold, cheek highlight.
    lum *= 1.0 + 0.04 * _gauss(dl, 0.04, 0.05) * win
    under = _gauss(dl, 0.16, 0.1) * _window(s, 0.2)
    lum *= 1.0 - (0.05 + 0.12 * dark) * under
    pig += (0.2 + 0.6 * dark) * under
    lateral = s - 0.5
    lum *= 1.0 + 0.08 * np.exp(-(((dl - 0.5) / 0.18) ** 2) - ((lateral - 0.2) / 0.35) ** 2)
    # Side of the nose beyond the medial canthus: shadowed or lit, per image.
    nose = np.clip(-s - 0.05, 0.0, 0.6)
    nose_gain = -0.35 + 0.5 * ((params.noise_seed % 1000) / 1000.0)
    lum *= 1.0 + nose_gain * nose
    # Orbit as a whole sits in a soft hollow.
    lum *= 1.0 - 0.07 * np.exp(-((lateral / 0.7) ** 2) - ((f.h / w) / 0.45) ** 2)


# ---------------------------------------------------------------------------------------
# eye opening and lid margins
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Patch:
    """The pixel box around the lid opening and its coordinates.

    Attributes:
        x0, y0, x1, y1: the box in crop px (x1/y1 exclusive).
        xs, ys: float32 crop x (1, w) and y (h, 1) of the box's pixel centres.
        sw, h: fissure-frame coordinates (h, w) of those centres (crop px).
        s: sw / eye width (h, w).
        hu, hl: upper / lower lid height at s (h, w; crop px).
        span: 1 between the canthi (0 < s < 1), else 0 (h, w).
    """

    x0: int
    y0: int
    x1: int
    y1: int
    xs: np.ndarray
    ys: np.ndarray
    sw: np.ndarray
    h: np.ndarray
    s: np.ndarray
    hu: np.ndarray
    hl: np.ndarray
    span: np.ndarray


def _patch(geo: EyeGeometry, x0: int, y0: int, x1: int, y1: int) -> _Patch:
    xs, ys = _grid(x0, y0, x1, y1)
    sw, h = geo.to_fissure(xs, ys)
    s = sw / geo.eye_w
    hu = _lut(s, geo, geo.upper_lut)
    hl = _lut(s, geo, geo.lower_lut)
    span = ((s > 0.0) & (s < 1.0)).astype(np.float32)
    return _Patch(x0, y0, x1, y1, xs, ys, sw, h, s, hu, hl, span)


def _eye_opening(
    image: np.ndarray,
    params: EyeParams,
    geo: EyeGeometry,
    rng: np.random.Generator,
    mottle: np.ndarray,
) -> None:
    """Paint sclera, caruncle, iris, pupil, reflex and the lid margins into ``image``."""
    w, r = geo.eye_w, geo.iris_r
    margin_up = 0.02 * w + 1.5
    margin_lo = 0.012 * w + 1.2
    x0, y0, x1, y1 = geo.opening_bbox(margin_up + 3.0)
    if x1 <= x0 or y1 <= y0:
        return
    p = _patch(geo, x0, y0, x1, y1)
    region = image[y0:y1, x0:x1]
    # Lid margins first (they lie outside the opening).
    _upper_margin(region, p, margin_up)
    if geo.closed:
        return
    _lower_margin(region, params, p, margin_lo)

    opening = np.clip(p.hu - p.h + 0.5, 0, 1) * np.clip(p.h - p.hl + 0.5, 0, 1) * p.span
    mottle_box = mottle[y0:y1, x0:x1]
    eye = _sclera(params, geo, rng, p, mottle_box)
    _caruncle(eye, params, geo, p, mottle_box)
    _iris(eye, params, geo, rng, p)
    # Shadow of the upper lid and lashes on the globe.
    depth = np.maximum(p.hu - p.h, 0.0)
    lid_shadow = 1.0 - params.lid_shadow_strength * np.exp(-depth / (0.35 * r + 1.0))
    eye *= lid_shadow[..., None]
    if params.reflex_strength > 0:
        _reflex(eye, params, geo, p)
    oa = opening[..., None]
    region += oa * (eye - region)


def _upper_margin(region: np.ndarray, p: _Patch, margin_up: float) -> None:
    """A dark lash line fading up the upper lid margin (``margin_up`` crop px)."""
    above = p.h - p.hu
    upper_rim = np.clip(above + 0.5, 0, 1) * np.clip(1.0 - above / margin_up, 0, 1) ** 0.7 * p.span
    region *= (1.0 - 0.75 * upper_rim)[..., None]


def _lower_margin(region: np.ndarray, params: EyeParams, p: _Patch, margin_lo: float) -> None:
    """A wet pinkish lower rim (``margin_lo`` crop px) with a thin tear-meniscus highlight."""
    below = p.hl - p.h
    lower_rim = np.clip(below + 0.5, 0, 1) * np.clip((margin_lo - below) / 1.2, 0, 1) * p.span
    rim_rgb = _rgb(params.caruncle_rgb) * 0.7 + _rgb(params.skin_rgb) * 0.3
    region += (0.6 * lower_rim)[..., None] * (rim_rgb - region)
    region += (35.0 * _gauss(below, 0.7, 0.6) * p.span)[..., None]


def _sclera(
    params: EyeParams,
    geo: EyeGeometry,
    rng: np.random.Generator,
    p: _Patch,
    mottle_box: np.ndarray,
) -> np.ndarray:
    """Sclera of the box, float32 (h, w, 3) 0–255.

    The globe darkens towards the canthi and towards both lids; it is pinker and redder
    (vessels) towards the corners.
    """
    s, h, hu, hl = p.s, p.h, p.hu, p.hl
    edge = np.clip(np.abs(2.0 * s - 1.0), 0.0, 1.0)
    tv = np.clip((h - hl) / np.maximum(hu - hl, 1.0), 0.0, 1.0)
    shade = 0.88 - 0.38 * edge**2.2 - 0.12 * (2.0 * tv - 1.0) ** 2 + 0.025 * mottle_box
    vessels = _vessels(params, geo, rng, p)
    cw = geo.caruncle_w
    pink = 0.15 * edge**3 + 0.25 * _gauss(p.sw, 1.3 * cw, 0.25 * cw)
    red = vessels.astype(np.float32) * ((0.08 + 0.22 * params.vessel_density) / 255.0)
    sclera_rgb = _rgb(params.sclera_rgb)
    car_rgb = _rgb(params.caruncle_rgb)
    vessel_rgb = np.array([160.0, 50.0, 50.0], np.float32)
    return (
        sclera_rgb * (shade * (1.0 - pink - red))[..., None]
        + car_rgb * (shade * pink)[..., None]
        + vessel_rgb * (shade * red)[..., None]
    )


def _vessels(
    params: EyeParams, geo: EyeGeometry, rng: np.random.Generator, p: _Patch
) -> np.ndarray:
    """Conjunctival vessels from both corners: uint8 (h, w) anti-aliased line mask."""
    w, r = geo.eye_w, geo.iris_r
    vessels = np.zeros((p.y1 - p.y0, p.x1 - p.x0), np.uint8)
    n_vessels = int(4 + 26 * params.vessel_density)
    side = rng.random(n_vessels) < 0.5
    start_s = np.where(side, rng.uniform(0.02, 0.25, n_vessels), rng.uniform(0.75, 0.98, n_vessels))
    start_h = rng.uniform(-0.5, 0.5, n_vessels) * r
    steps = np.arange(6, dtype=np.float64)[None, :]
    direction = np.where(side, 1.0, -1.0)[:, None]
    seg = rng.uniform(0.02, 0.05, (n_vessels, 1)) * w
    wander = np.cumsum(rng.normal(0.0, 0.35, (n_vessels, 6)), axis=1) * seg * 0.5
    pts = _to_pts(geo, start_s[:, None] * w + direction * steps * seg, start_h[:, None] + wander)
    pts -= np.array([p.x0 * 16, p.y0 * 16], np.int32)
    cv2.polylines(vessels, list(pts), False, 255, 1, cv2.LINE_AA, 4)
    return vessels


def _caruncle(
    eye: np.ndarray, params: EyeParams, geo: EyeGeometry, p: _Patch, mottle_box: np.ndarray
) -> None:
    """Blend the caruncle (a moist pink mound) into ``eye``, in its own small box."""
    sw, h = p.sw, p.h
    w, cw = geo.eye_w, geo.caruncle_w
    car_rgb = _rgb(params.caruncle_rgb)
    s_c = cw / w
    up_c = float(np.interp(s_c, geo.s_lut, geo.upper_lut))
    lo_c = float(np.interp(s_c, geo.s_lut, geo.lower_lut))
    ch = max(0.75 * (up_c - lo_c), 1.0)
    ell = (sw / cw) ** 2 + ((h - 0.5 * (up_c + lo_c)) / ch) ** 2
    car = np.clip((1.0 - ell) * cw / 2.0 + 0.5, 0.0, 1.0)
    rows, cols = np.nonzero(car > 0)
    if rows.size:
        sl = np.s_[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        bump = np.clip(1.0 - ell[sl], 0.0, 1.0)
        car_tex = car_rgb * (0.75 + 0.3 * bump + 0.06 * np.clip(mottle_box[sl], -2, 2))[..., None]
        a = car[sl][..., None]
        eye[sl] = eye[sl] * (1.0 - a) + car_tex * a


def _iris(
    eye: np.ndarray, params: EyeParams, geo: EyeGeometry, rng: np.random.Generator, p: _Patch
) -> None:
    """Blend iris and pupil into ``eye``, in the iris's own box (polar texture lookup)."""
    r, rp = geo.iris_r, geo.pupil_r
    x0, y0, x1, y1 = p.x0, p.y0, p.x1, p.y1
    icx, icy = geo.iris_center()
    pcx, pcy = geo.pupil_center()
    bx0, bx1 = max(0, int(icx - r - 2) - x0), min(x1 - x0, int(icx + r + 3) - x0)
    by0, by1 = max(0, int(icy - r - 2) - y0), min(y1 - y0, int(icy + r + 3) - y0)
    if bx1 <= bx0 or by1 <= by0:
        return
    dx = np.broadcast_to(p.xs[:, bx0:bx1] - icx, (by1 - by0, bx1 - bx0))
    dy = np.broadcast_to(p.ys[by0:by1] - icy, (by1 - by0, bx1 - bx0))
    dist = np.sqrt(dx * dx + dy * dy)
    limbus = max(1.0, 0.03 * r)
    iris_a = np.clip((r - dist) / limbus + 0.5, 0.0, 1.0)
    tex = iris_polar_texture(params, rng)
    map_x, map_y = iris_remap_coords(dx, dy, r)
    iris_rgb = cv2.remap(tex, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    pdist = np.sqrt((dx + icx - pcx) ** 2 + (dy + icy - pcy) ** 2)
    pupil_a = np.clip(rp - pdist + 0.5, 0.0, 1.0)[..., None]
    pupil_rgb = np.array([12.0, 11.0, 11.0], np.float32) + 0.05 * _rgb(params.iris_rgb)
    iris_rgb = iris_rgb * (1.0 - pupil_a) + pupil_rgb * pupil_a
    a = iris_a[..., None]
    eye[by0:by1, bx0:bx1] = eye[by0:by1, bx0:bx1] * (1.0 - a) + iris_rgb * a


def _reflex(eye: np.ndarray, params: EyeParams, geo: EyeGeometry, p: _Patch) -> None:
    """Corneal light reflex (specular; labels are untouched) and a faint window reflection."""
    r = geo.iris_r
    x0, y0, x1, y1 = p.x0, p.y0, p.x1, p.y1
    icx, icy = geo.iris_center()
    rx = icx + params.reflex_dx_frac * r
    ry = icy + params.reflex_dy_frac * r
    rr = max(0.8, params.reflex_radius_frac * r)
    ext = 1.0 * r
    qx0, qx1 = max(0, int(rx - ext) - x0), min(x1 - x0, int(rx + ext) + 2 - x0)
    qy0, qy1 = max(0, int(ry - ext) - y0), min(y1 - y0, int(ry + ext) + 2 - y0)
    if qx1 <= qx0 or qy1 <= qy0:
        return
    qx = p.xs[:, qx0:qx1] - rx
    qy = p.ys[qy0:qy1] - ry
    rdist = np.sqrt(qx * qx + qy * qy)
    if params.reflex_shape == "ring":
        spot = np.clip(0.35 * rr - np.abs(rdist - 1.6 * rr) + 0.5, 0.0, 1.0)
    elif params.reflex_shape == "window":
        spot = np.clip(1.3 * rr - np.abs(qx) + 0.5, 0, 1) * np.clip(
            0.9 * rr - np.abs(qy) + 0.5, 0, 1
        )
    else:
        spot = np.clip(rr - rdist + 0.5, 0.0, 1.0)
    glow = 0.2 * np.exp(-((rdist / (2.2 * rr)) ** 2)) + 0.06 * np.exp(-((rdist / (0.8 * r)) ** 2))
    a = (params.reflex_strength * np.clip(spot + glow, 0.0, 1.0))[..., None]
    sub = eye[qy0:qy1, qx0:qx1]
    sub += a * (250.0 - sub)


# ---------------------------------------------------------------------------------------
# crease, fine lines, lashes, brow hairs
# ---------------------------------------------------------------------------------------


def _lines(
    image: np.ndarray, params: EyeParams, geo: EyeGeometry, rng: np.random.Generator
) -> None:
    """Darken along the lid crease and fine lines (crow's feet, lower-lid lines)."""
    H, W = geo.height_px, geo.width_px
    w = geo.eye_w
    polylines: list[np.ndarray] = []
    weights: list[int] = []
    if params.crease_frac > 0:
        s = np.linspace(0.1, 0.93, 24)
        hc = np.interp(s, geo.s_lut, geo.crease_lut) + rng.normal(0, 0.003 * w, s.shape)
        polylines.append(_to_pts(geo, s * w, hc))
        weights.append(int(110 + 80 * rng.random()))
    n_lines = int(round(params.age_lines * 6))
    for _ in range(n_lines):
        if rng.random() < 0.5:  # crow's feet from the lateral canthus
            ang = math.radians(rng.uniform(-35, 35))
            t = np.linspace(0.0, 1.0, 6)
            start = w * (1.05 + 0.05 * rng.random())
            length = w * rng.uniform(0.12, 0.25)
            bend = rng.normal(0, 0.04) * w
            sw = start + t * length * math.cos(ang)
            hh = t * length * math.sin(ang) + bend * t * t
        else:  # lines under the lower lid
            s = np.linspace(rng.uniform(0.15, 0.4), rng.uniform(0.7, 1.0), 10)
            sw = s * w
            hh = np.interp(s, geo.s_lut, geo.lower_lut) - w * rng.uniform(0.07, 0.2)
        polylines.append(_to_pts(geo, sw, hh))
        weights.append(int(40 + 60 * params.age_lines))
    if not polylines:
        return
    mask = np.zeros((H, W), np.uint8)
    thick = max(1, int(round(0.012 * w)))
    for pts, weight in zip(polylines, weights, strict=True):
        cv2.polylines(mask, [pts], False, weight, thick, cv2.LINE_AA, 4)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.0 + 0.008 * w)
    image *= (1.0 - mask.astype(np.float32) * (0.45 / 255.0))[..., None]


def _lash_polylines(
    geo: EyeGeometry,
    rng: np.random.Generator,
    s: np.ndarray,
    root_h: np.ndarray,
    angle_deg: np.ndarray,
    length: np.ndarray,
    curl_deg: np.ndarray,
    segments: int = 4,
) -> np.ndarray:
    """Curved strands in the fissure frame -> int32 (n, segments+1, 2) crop points."""
    k = np.arange(segments + 1, dtype=np.float64)
    ang = np.radians(angle_deg[:, None] + curl_deg[:, None] * np.maximum(k - 1, 0)[None, :])
    step = (length / segments)[:, None]
    dsw = np.cumsum(np.where(k[None, :] > 0, np.cos(ang) * step, 0.0), axis=1)
    dh = np.cumsum(np.where(k[None, :] > 0, np.sin(ang) * step, 0.0), axis=1)
    return _to_pts(geo, s[:, None] * geo.eye_w + dsw, root_h[:, None] + dh)


def _hair(image: np.ndarray, params: EyeParams, geo: EyeGeometry, rng: np.random.Generator) -> None:
    """Upper (dense) and lower (sparse) lashes, and brow hairs, composited in hair colour."""
    H, W = geo.height_px, geo.width_px
    mask = np.zeros((H, W), np.uint8)
    thick = 2 if geo.eye_w > 380 else 1
    upper = _upper_lashes(params, geo, rng)
    lower = _lower_lashes(params, geo, rng)
    # Thicker roots, thin tips.
    cv2.polylines(mask, list(upper[:, :3]), False, 225, thick, cv2.LINE_AA, 4)
    cv2.polylines(mask, list(upper[:, 2:]), False, 175, 1, cv2.LINE_AA, 4)
    cv2.polylines(mask, list(lower), False, 150, 1, cv2.LINE_AA, 4)
    brow = _brow_hairs(params, geo, rng)
    # Lashes look darker than the brow whatever the hair colour (roots, density, shadow).
    hair_rgb = _rgb(params.hair_rgb)
    _composite_rows(image, mask, hair_rgb * 0.45 + 6.0)
    # Only draw brow hairs whose root falls in (or near) the crop.
    x = brow[:, 0, 0] / 16.0
    y = brow[:, 0, 1] / 16.0
    keep = (x > -20) & (x < W + 20) & (y > -20) & (y < H + 20)
    if keep.any():
        mask[:] = 0
        cv2.polylines(mask, list(brow[keep]), False, 150, 1, cv2.LINE_AA, 4)
        _composite_rows(image, mask, hair_rgb)


def _upper_lashes(params: EyeParams, geo: EyeGeometry, rng: np.random.Generator) -> np.ndarray:
    """Upper lashes as int32 (n, 5, 2) crop points (4 fraction bits).

    They grow in clumps: medial ones lean medially, lateral ones sweep out, and they curl
    upwards. Seen from the front they are foreshortened, longest laterally.
    """
    w = geo.eye_w
    lash_len = params.lash_length_frac * w
    n_clumps = int(30 + 55 * params.lash_density)
    per_clump = rng.integers(1, 5, n_clumps)
    clump_s = rng.uniform(0.07, 0.97, n_clumps)
    clump_lean = -25.0 + 85.0 * clump_s + rng.normal(0.0, 7.0, n_clumps)
    idx = np.repeat(np.arange(n_clumps), per_clump)
    n_up = idx.size
    offset = rng.normal(0.0, 0.01, n_up)
    s = np.clip(clump_s[idx] + offset, 0.03, 0.99)
    hu = np.interp(s, geo.s_lut, geo.upper_lut)
    root_h = hu + (0.004 + rng.uniform(0.0, 0.01, n_up)) * w
    # Lashes of a clump converge towards a shared tip.
    lean = clump_lean[idx] - offset * 600.0 + rng.normal(0.0, 4.0, n_up)
    length = lash_len * (0.45 + 0.55 * s**0.8) * rng.uniform(0.6, 1.05, n_up)
    if geo.closed:  # lashes hang down over the closed lid
        angle = -90.0 + lean
        curl = -np.sign(lean) * rng.uniform(2.0, 8.0, n_up)
    else:
        angle = 90.0 - lean - np.sign(lean) * 12.0
        curl = np.sign(lean) * rng.uniform(3.0, 10.0, n_up)
    return _lash_polylines(geo, rng, s, root_h, angle, length, curl)


def _lower_lashes(params: EyeParams, geo: EyeGeometry, rng: np.random.Generator) -> np.ndarray:
    """Lower lashes, sparse, short, pointing down and out: int32 (n, 4, 2) crop points."""
    w = geo.eye_w
    lash_len = params.lash_length_frac * w
    n_lo = int(6 + 22 * params.lash_density)
    s_lo = rng.uniform(0.2, 0.95, n_lo)
    root_lo = np.interp(s_lo, geo.s_lut, geo.lower_lut) - (0.011 * w + 1.0)
    angle_lo = -90.0 + 55.0 * s_lo + rng.normal(0.0, 10.0, n_lo)
    len_lo = lash_len * rng.uniform(0.2, 0.4, n_lo)
    return _lash_polylines(geo, rng, s_lo, root_lo, angle_lo, len_lo, rng.normal(0, 4, n_lo), 3)


def _brow_hairs(params: EyeParams, geo: EyeGeometry, rng: np.random.Generator) -> np.ndarray:
    """Brow hairs along the brow band, upright at the head to flat at the tail.

    Returns int32 (n, 3, 2) crop points (4 fraction bits).
    """
    w = geo.eye_w
    n_brow = int(250 + 450 * params.lash_density)
    sb = rng.uniform(-0.2, 1.22, n_brow)
    sc = np.clip(sb, 0.0, 1.0)
    brow_h = _brow_height(params, sb) * w
    thick_b = params.brow_thickness_frac * w * np.interp(sb, _BROW_TAPER_S, _BROW_TAPER)
    hb = (
        np.interp(sc, geo.s_lut, geo.upper_lut) + brow_h + thick_b * rng.uniform(-0.6, 0.45, n_brow)
    )
    angle_b = np.interp(sb, [-0.2, 0.05, 0.4, 1.25], [95.0, 60.0, 18.0, -12.0]) + rng.normal(
        0, 9, n_brow
    )
    len_b = w * rng.uniform(0.035, 0.075, n_brow)
    return _lash_polylines(geo, rng, sb, hb, angle_b, len_b, rng.normal(-2, 3, n_brow), 2)


def _composite_rows(image: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    """Blend ``colour`` into ``image`` with alpha ``mask``/255, only over rows that have ink."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    a = mask[r0:r1].astype(np.float32)[..., None] * (1.0 / 255.0)
    band = image[r0:r1]
    band += a * (colour - band)


# ---------------------------------------------------------------------------------------
# camera
# ---------------------------------------------------------------------------------------


def _camera(
    image: np.ndarray, params: EyeParams, geo: EyeGeometry, rng: np.random.Generator
) -> np.ndarray:
    """Illumination gradient, vignette, colour cast, exposure, blur, noise, JPEG -> uint8."""
    H, W = geo.height_px, geo.width_px
    lh, lw = -(-H // _DOWNSCALE), -(-W // _DOWNSCALE)
    xs, ys = _grid(0, 0, lw, lh, float(_DOWNSCALE), (_DOWNSCALE - 1) / 2.0)
    u = (xs - (W - 1) / 2.0) / (W / 2.0)
    v = (ys - (H - 1) / 2.0) / (W / 2.0)
    ang = math.radians(params.illumination_angle_deg)
    gain = params.exposure * (
        1.0 + params.illumination_strength * (u * math.cos(ang) + v * math.sin(ang))
    )
    gain = gain * (1.0 - params.vignette_strength * (u * u + v * v) / 1.45)
    cast = 1.0 + params.colour_cast_strength * (
        np.asarray(params.colour_cast_rgb, np.float32) - 1.0
    )
    gain_rgb = gain[..., None].astype(np.float32) * cast.astype(np.float32)
    if not np.allclose(gain_rgb, 1.0):
        image *= cv2.resize(gain_rgb, (W, H), interpolation=cv2.INTER_LINEAR)
    if params.blur_sigma_px > 0.05:
        image = cv2.GaussianBlur(image, (0, 0), params.blur_sigma_px)
    if params.noise_sigma > 0:
        noise = noise_window(rng, H, W)
        image = cv2.scaleAdd(noise, float(params.noise_sigma), image)
    np.add(image, 0.5, out=image)
    np.clip(image, 0.0, 255.0, out=image)
    out = image.astype(np.uint8)
    if params.jpeg_quality > 0:
        ok, encoded = cv2.imencode(
            ".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(params.jpeg_quality)]
        )
        if ok:
            out = np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])
    return np.ascontiguousarray(out)
