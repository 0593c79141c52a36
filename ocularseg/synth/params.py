"""Parameters of a procedural eye phantom: person-level traits and per-image draws.

Two levels of randomness, so that a phantom dataset has "people" that can be split per
subject like a real one:

* :class:`SubjectTraits` are fixed by ``(subject_id, seed)``: skin tone (Fitzpatrick I–VI),
  iris colour, eye shape (iris size relative to the fissure, lid contours, canthal tilt,
  lid crease, brow), lashes, sclera tint, a habitual lid level per side (ptosis).
* :class:`EyeParams` are drawn per image from the traits: gaze, lid opening, pupil size,
  head roll, framing, lighting and camera degradations.

Everything :func:`ocularseg.synth.render.render_eye` needs is a field of
:class:`EyeParams`; the renderer draws nothing itself except texture noise, which is
seeded by ``EyeParams.noise_seed``. ``dataclasses.asdict(params)`` is JSON-ready
(str/int/float/tuples only). Lengths are fractions (of the eye width, the iris radius or
the crop size) so one parameter set renders at any crop size.

This module needs NumPy only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ocularseg.core.errors import ConfigError

SIDES: tuple[str, str] = ("right", "left")

#: Representative sRGB skin colours for Fitzpatrick types I–VI, as they appear in a
#: well-exposed indoor photograph (per-subject jitter is added on top).
FITZPATRICK_RGB: dict[int, tuple[int, int, int]] = {
    1: (238, 206, 188),
    2: (224, 182, 156),
    3: (200, 155, 120),
    4: (165, 118, 84),
    5: (118, 80, 55),
    6: (72, 49, 37),
}

#: Iris styles: (base, light fibres, collarette / pupillary zone) sRGB colours.
IRIS_STYLES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]] = {
    "dark_brown": ((48, 30, 20), (78, 52, 34), (40, 25, 16)),
    "brown": ((88, 55, 32), (130, 88, 52), (70, 42, 24)),
    "hazel": ((105, 98, 60), (150, 135, 85), (120, 75, 35)),
    "green": ((82, 108, 76), (128, 150, 110), (118, 96, 52)),
    "blue": ((78, 110, 148), (150, 175, 200), (100, 110, 110)),
    "grey": ((108, 118, 124), (165, 172, 176), (115, 112, 100)),
}

#: Sclera tints (white, yellowish, pinkish) in sRGB.
SCLERA_TINTS: dict[str, tuple[int, int, int]] = {
    "white": (226, 224, 218),
    "yellowish": (224, 214, 184),
    "pinkish": (226, 210, 204),
}

_IRIS_STYLE_PROBS_BY_FITZ: dict[int, tuple[float, ...]] = {
    # dark_brown, brown, hazel, green, blue, grey
    1: (0.05, 0.15, 0.15, 0.2, 0.3, 0.15),
    2: (0.08, 0.2, 0.2, 0.17, 0.23, 0.12),
    3: (0.2, 0.35, 0.2, 0.1, 0.1, 0.05),
    4: (0.45, 0.4, 0.1, 0.03, 0.01, 0.01),
    5: (0.7, 0.28, 0.02, 0.0, 0.0, 0.0),
    6: (0.8, 0.2, 0.0, 0.0, 0.0, 0.0),
}

#: Fraction of images rendered as a closed eye (blink).
BLINK_PROBABILITY: float = 0.04


@dataclass(frozen=True)
class EyeTraits:
    """Who a phantom person is and how their eye looks: the fields that
    :class:`SubjectTraits` and :class:`EyeParams` share.

    An image copies them from its subject, except ``vessel_density``, which each image
    draws around its subject's value.

    Attributes:
        subject_id: the phantom person's number.
        fitzpatrick: skin type 1–6.
        skin_rgb: sRGB skin colour of the periorbital region.
        periorbital_darkening: 0–1, darker/browner lid and under-eye skin (common in
            darker skin types).
        iris_style: key of :data:`IRIS_STYLES`.
        iris_rgb, iris_light_rgb, iris_collarette_rgb: iris base, fibre and pupillary-zone
            colours (sRGB).
        iris_radius_frac: iris radius / canthus-to-canthus width.
        mrd2_frac: lower lid to iris centre distance in primary gaze, in iris radii.
        canthal_tilt_deg: lateral canthus above the medial one by this angle.
        canthus_drop_frac: iris centre above the intercanthal line, in iris radii.
        upper_lid_peak, lower_lid_peak: position of the lid apex along the fissure,
            0 = medial canthus, 1 = lateral canthus.
        upper_lid_power, lower_lid_power: lid contour exponents (<1 fuller, >1 more almond).
        crease_frac: lid crease height above the lash line / eye width (0 = no crease).
        brow_frac: brow height above the lash line / eye width.
        brow_thickness_frac: brow thickness / eye width.
        hair_rgb: brow and lash colour.
        lash_length_frac: longest upper lash (projected) / eye width.
        lash_density: 0–1 number of lashes.
        sclera_rgb: sclera tint.
        vessel_density: 0–1 conjunctival vessel count and contrast.
        caruncle_width_frac: caruncle width / eye width.
        caruncle_rgb: caruncle colour.
        age_lines: 0–1 fine lines (crow's feet, lower-lid lines).
    """

    subject_id: int
    fitzpatrick: int
    skin_rgb: tuple[int, int, int]
    periorbital_darkening: float
    iris_style: str
    iris_rgb: tuple[int, int, int]
    iris_light_rgb: tuple[int, int, int]
    iris_collarette_rgb: tuple[int, int, int]
    iris_radius_frac: float
    mrd2_frac: float
    canthal_tilt_deg: float
    canthus_drop_frac: float
    upper_lid_peak: float
    lower_lid_peak: float
    upper_lid_power: float
    lower_lid_power: float
    crease_frac: float
    brow_frac: float
    brow_thickness_frac: float
    hair_rgb: tuple[int, int, int]
    lash_length_frac: float
    lash_density: float
    sclera_rgb: tuple[int, int, int]
    vessel_density: float
    caruncle_width_frac: float
    caruncle_rgb: tuple[int, int, int]
    age_lines: float


@dataclass(frozen=True)
class SubjectTraits(EyeTraits):
    """Person-level traits, fixed by ``(subject_id, seed)``: the :class:`EyeTraits` and
    a habitual lid level per side.

    Attributes:
        lid_open_right, lid_open_left: habitual upper lid level per side (1 open,
            ~0.3 severe ptosis); OMG ptosis is often asymmetric.
    """

    lid_open_right: float
    lid_open_left: float


@dataclass(frozen=True)
class EyeParams(EyeTraits):
    """Every parameter of one phantom image (JSON-able via ``dataclasses.asdict``).

    The :class:`EyeTraits` fields come from the subject; the rest are drawn per image.
    Geometry is given in the head frame (before ``roll_deg``); ``render_eye`` turns the
    whole eye about the crop centre by ``roll_deg`` at the end.

    Attributes:
        side: the patient's anatomical side, ``"right"`` or ``"left"``. The right eye's
            medial canthus (caruncle) is on the crop's right, the left eye's on its left.
        gaze_x, gaze_y: gaze in [-1, 1] as a fraction of the anatomical limit;
            +x = towards the image right, +y = down (head frame).
        upper_lid_open: 1 wide open (superior scleral show), ~0.75 normal, ~0.5 moderate
            ptosis, ~0.25 severe ptosis over the pupil, 0 closed (blink).
        lower_lid_raise: -1..1 shift of the lower lid in iris radii × 0.15 (+ = up).
        upper_lid_follow, lower_lid_follow: how far the lids follow vertical gaze (0–1).
        eye_width_frac: canthus-to-canthus width / crop width, in [0.4, 0.9].
        eye_dx_frac, eye_dy_frac: eye centre offset from the crop centre, as a fraction of
            crop width / height.
        roll_deg: head roll in degrees, within ±15 (+ = counter-clockwise in the image).
        pupil_radius_frac: pupil / iris radius.
        pupil_dx_frac, pupil_dy_frac: pupil decentration in iris radii.
        limbal_ring_strength, iris_fibre_contrast, iris_crypts: iris texture.
        reflex_dx_frac, reflex_dy_frac: corneal light reflex offset from the iris centre,
            in iris radii; reflex_radius_frac: its radius in iris radii; reflex_shape:
            ``"dot"``, ``"ring"`` or ``"window"``; reflex_strength: 0 = no reflex.
        lid_shadow_strength: darkening of the upper sclera/iris under the lid (0–1).
        skin_texture_strength: amplitude of skin mottling/pores (0–1).
        illumination_strength: amplitude of a linear illumination gradient (0 = none);
            illumination_angle_deg: its direction.
        vignette_strength: darkening towards the crop corners (0 = none).
        colour_cast_strength: 0 = neutral; colour_cast_rgb: unit-free channel gains
            direction (mean 1), scaled by the strength.
        exposure: global gain (1 = as designed).
        blur_sigma_px: Gaussian blur sigma in crop px (0 = none).
        noise_sigma: Gaussian sensor noise sigma in 8-bit levels (0 = none).
        jpeg_quality: JPEG round-trip quality 1–100 (0 = none).
        noise_seed: seeds all texture and noise randomness inside ``render_eye``.
    """

    side: str
    # gaze and lids
    gaze_x: float
    gaze_y: float
    upper_lid_open: float
    lower_lid_raise: float
    upper_lid_follow: float
    lower_lid_follow: float
    # framing
    eye_width_frac: float
    eye_dx_frac: float
    eye_dy_frac: float
    roll_deg: float
    # eye
    pupil_radius_frac: float
    pupil_dx_frac: float
    pupil_dy_frac: float
    limbal_ring_strength: float
    iris_fibre_contrast: float
    iris_crypts: int
    lid_shadow_strength: float
    reflex_dx_frac: float
    reflex_dy_frac: float
    reflex_radius_frac: float
    reflex_shape: str
    reflex_strength: float
    skin_texture_strength: float
    # photometric degradations (0 = off)
    illumination_strength: float
    illumination_angle_deg: float
    vignette_strength: float
    colour_cast_strength: float
    colour_cast_rgb: tuple[float, float, float]
    exposure: float
    blur_sigma_px: float
    noise_sigma: float
    jpeg_quality: int
    noise_seed: int

    def to_dict(self) -> dict:
        """The flat JSON-ready dict of every field (the ``params`` of a phantom's meta)."""
        return asdict(self)


def _rgb(values: np.ndarray) -> tuple[int, int, int]:
    clipped = np.clip(np.rint(values), 0, 255).astype(int)
    return int(clipped[0]), int(clipped[1]), int(clipped[2])


def _r(x: float, ndigits: int = 4) -> float:
    # Rounded at the source so asdict() -> JSON -> EyeParams round-trips exactly.
    return round(float(x), ndigits)


#: Sampling profiles. "standard" is the training distribution; "shifted" is our stand-in
#: for a clinical test set that differs from training: mostly darker skin (Fitzpatrick
#: IV–VI), more and stronger ptosis, and harsher lighting (strong gradients, vignetting,
#: colour casts, wider exposure errors). "balanced" is "standard" with the iris colour
#: drawn independently of the skin type, so light skin with a dark brown iris (about 2 %
#: of "standard" phantoms, yet common in people) is as frequent as any other pairing.
PROFILES: tuple[str, ...] = ("standard", "shifted", "balanced")
_SHIFTED_FITZ_PROBS = (0.04, 0.06, 0.1, 0.2, 0.3, 0.3)


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")


def subject_traits(subject_id: int, seed: int, profile: str = "standard") -> SubjectTraits:
    """Draw the traits of phantom person ``subject_id`` (deterministic in all arguments).

    Skin types are drawn uniformly over Fitzpatrick I–VI so every tone is equally
    represented (``profile="shifted"``: mostly IV–VI and more ptosis); the iris colour is
    drawn conditionally on the skin type (``profile="balanced"``: independently of it).

    Raises:
        ConfigError: ``subject_id`` or ``seed`` is negative, or an unknown profile.
    """
    if subject_id < 0 or seed < 0:
        raise ConfigError(f"subject_id and seed must be >= 0, got {subject_id} and {seed}")
    _check_profile(profile)
    shifted = profile == "shifted"
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5B1EC7, int(subject_id)]))
    fitz = 1 + int(rng.choice(6, p=_SHIFTED_FITZ_PROBS)) if shifted else int(rng.integers(1, 7))
    skin = _skin_colour(rng, fitz)
    style = _iris_style(rng, fitz, profile)
    iris_base, iris_light, iris_col = (np.array(c, float) for c in IRIS_STYLES[style])
    jitter = rng.normal(1.0, 0.08, 3)
    hair = _hair_colour(rng, fitz)
    tint_name = str(rng.choice(list(SCLERA_TINTS), p=[0.6, 0.2, 0.2]))
    sclera = np.array(SCLERA_TINTS[tint_name], float) + rng.normal(0, 4, 3)
    caruncle = np.array([205.0, 120.0, 115.0]) * rng.uniform(0.8, 1.05) + rng.normal(0, 6, 3)
    if fitz >= 5:
        caruncle = caruncle * np.array([0.75, 0.68, 0.68])
    right, left = _habitual_lids(rng, shifted)
    crease = 0.0 if rng.random() < 0.15 else rng.uniform(0.07, 0.2)
    return SubjectTraits(
        subject_id=int(subject_id),
        fitzpatrick=fitz,
        skin_rgb=_rgb(skin),
        periorbital_darkening=_r(rng.uniform(0.0, 0.35) + 0.08 * (fitz - 1)),
        iris_style=style,
        iris_rgb=_rgb(iris_base * jitter),
        iris_light_rgb=_rgb(iris_light * jitter),
        iris_collarette_rgb=_rgb(iris_col * rng.normal(1.0, 0.08, 3)),
        iris_radius_frac=_r(rng.uniform(0.175, 0.225)),
        mrd2_frac=_r(rng.uniform(0.8, 1.12)),
        canthal_tilt_deg=_r(rng.uniform(-2.0, 9.0)),
        canthus_drop_frac=_r(rng.uniform(0.0, 0.35)),
        upper_lid_peak=_r(rng.uniform(0.4, 0.52)),
        lower_lid_peak=_r(rng.uniform(0.5, 0.62)),
        upper_lid_power=_r(rng.uniform(0.75, 1.15)),
        lower_lid_power=_r(rng.uniform(0.8, 1.3)),
        crease_frac=_r(crease),
        brow_frac=_r(rng.uniform(0.5, 0.75)),
        brow_thickness_frac=_r(rng.uniform(0.1, 0.2)),
        hair_rgb=_rgb(hair),
        lash_length_frac=_r(rng.uniform(0.07, 0.15)),
        lash_density=_r(rng.uniform(0.35, 1.0)),
        sclera_rgb=_rgb(sclera),
        vessel_density=_r(rng.uniform(0.0, 1.0)),
        caruncle_width_frac=_r(rng.uniform(0.06, 0.095)),
        caruncle_rgb=_rgb(caruncle),
        age_lines=_r(rng.uniform(0.0, 1.0) ** 2),
        lid_open_right=_r(right),
        lid_open_left=_r(left),
    )


def _skin_colour(rng: np.random.Generator, fitz: int) -> np.ndarray:
    """sRGB skin colour (3,) of skin type ``fitz``, before rounding."""
    base = np.array(FITZPATRICK_RGB[fitz], float)
    # Per-person hue: redder or more olive/yellow undertone, plus lightness jitter.
    undertone = rng.normal(0.0, 1.0)
    return base * rng.uniform(0.93, 1.06) + undertone * np.array([4.0, -1.0, -4.0])


def _iris_style(rng: np.random.Generator, fitz: int, profile: str) -> str:
    """Key of :data:`IRIS_STYLES`, conditional on the skin type unless ``"balanced"``."""
    styles = list(IRIS_STYLES)
    iris_probs = _IRIS_STYLE_PROBS_BY_FITZ[fitz]
    if profile == "balanced":
        iris_probs = (1.0 / len(styles),) * len(styles)
    return styles[int(rng.choice(len(styles), p=iris_probs))]


def _hair_colour(rng: np.random.Generator, fitz: int) -> np.ndarray:
    """sRGB brow and lash colour (3,), before rounding."""
    hair_dark = rng.uniform(0.0, 1.0)
    if fitz <= 2 and rng.random() < 0.3:
        return np.array([120.0, 90.0, 60.0]) * rng.uniform(0.7, 1.2)  # fair / red-brown hair
    return np.array([45.0, 33.0, 26.0]) * (0.45 + 0.8 * hair_dark)


def _habitual_lids(rng: np.random.Generator, shifted: bool) -> tuple[float, float]:
    """Habitual (right, left) upper lid level: most people open, some ptotic on one or both
    sides (more and stronger ptosis for the shifted profile)."""
    kind = rng.random()
    open_share, asymmetric_share = (0.25, 0.65) if shifted else (0.55, 0.85)
    ptotic_low = 0.15 if shifted else 0.25
    if kind < open_share:
        right = left = rng.uniform(0.68, 0.95)
    elif kind < asymmetric_share:
        healthy, ptotic = rng.uniform(0.68, 0.92), rng.uniform(ptotic_low, 0.6)
        right, left = (healthy, ptotic) if rng.random() < 0.5 else (ptotic, healthy)
    else:
        right = left = rng.uniform(0.3, 0.65)
    return right, left


def sample_eye_params(
    traits: SubjectTraits, side: str, rng: np.random.Generator, profile: str = "standard"
) -> EyeParams:
    """Draw the parameters of one image of ``traits``'s ``side`` eye.

    About :data:`BLINK_PROBABILITY` of draws are closed eyes (``upper_lid_open == 0``).
    Gaze covers primary, up, down, left and right; the lid level varies around the
    subject's habitual level for that side (fatigue makes it droop further).

    Args:
        traits: the person.
        side: ``"right"`` or ``"left"`` (the patient's side).
        rng: the only source of randomness.
        profile: "standard", or "shifted" for harsher lighting (see :data:`PROFILES`).

    Raises:
        ConfigError: ``side`` is not ``"right"``/``"left"``, or an unknown profile.
    """
    if side not in SIDES:
        raise ConfigError(f"side must be 'right' or 'left' (patient's side), got {side!r}")
    _check_profile(profile)
    light = 1.7 if profile == "shifted" else 1.0
    habitual = traits.lid_open_right if side == "right" else traits.lid_open_left
    first = _first_draws(rng, habitual)
    slack = first.slack
    skin_luma = float(np.dot(traits.skin_rgb, [0.299, 0.587, 0.114]))
    return EyeParams(
        **_from_subject(traits),
        side=side,
        gaze_x=_r(first.gaze[0]),
        gaze_y=_r(first.gaze[1]),
        upper_lid_open=_r(first.lid_open),
        lower_lid_raise=_r(rng.uniform(-1.0, 1.0)),
        upper_lid_follow=_r(rng.uniform(0.7, 0.95)),
        lower_lid_follow=_r(rng.uniform(0.2, 0.45)),
        eye_width_frac=_r(first.eye_width),
        eye_dx_frac=_r(rng.uniform(-1.0, 1.0) * slack * 0.5),
        eye_dy_frac=_r(rng.uniform(-1.0, 1.0) * min(0.08, slack * 0.5)),
        roll_deg=_r(first.roll),
        pupil_radius_frac=_r(rng.uniform(0.22, 0.55)),
        pupil_dx_frac=_r(rng.normal(0.0, 0.03)),
        pupil_dy_frac=_r(rng.normal(0.0, 0.03)),
        limbal_ring_strength=_r(rng.uniform(0.1, 0.7)),
        iris_fibre_contrast=_r(rng.uniform(0.5, 1.2)),
        iris_crypts=int(rng.integers(0, 12)),
        vessel_density=_r(float(np.clip(traits.vessel_density + rng.normal(0, 0.1), 0, 1))),
        lid_shadow_strength=_r(rng.uniform(0.25, 0.6)),
        reflex_dx_frac=_r(rng.normal(0.0, 0.25)),
        reflex_dy_frac=_r(rng.normal(-0.1, 0.2)),
        reflex_radius_frac=_r(rng.uniform(0.035, 0.1) * first.shape),
        reflex_shape=first.reflex_shape,
        reflex_strength=_r(0.0 if rng.random() < 0.08 else rng.uniform(0.5, 1.0)),
        skin_texture_strength=_r(rng.uniform(0.3, 1.0)),
        **_camera_fields(rng, light, first, skin_luma),
    )


def _from_subject(traits: EyeTraits) -> dict[str, Any]:
    """The :class:`EyeTraits` fields an image copies from its subject (floats rounded).

    ``vessel_density`` is left out: each image draws it around the subject's value.
    """
    copied: dict[str, Any] = {}
    for f in dataclasses.fields(EyeTraits):
        if f.name != "vessel_density":
            value = getattr(traits, f.name)
            copied[f.name] = _r(value) if f.type == "float" else value
    return copied


@dataclass(frozen=True)
class _FirstDraws:
    """The draws of :func:`sample_eye_params` made before its per-field draws, in order."""

    lid_open: float
    gaze: np.ndarray  # (2,) x, y in [-1, 1]
    roll: float
    eye_width: float
    slack: float  # room (crop fraction) to move the eye centre
    shape: float  # reflex size factor
    reflex_shape: str
    cast: np.ndarray  # (3,) colour cast direction, mean 1
    jpeg: int


def _first_draws(rng: np.random.Generator, habitual: float) -> _FirstDraws:
    lid_open = _lid_open(rng, habitual)
    gaze = _gaze(rng)
    roll = rng.normal(0.0, 4.0) if rng.random() < 0.7 else rng.uniform(-15.0, 15.0)
    roll = float(np.clip(roll, -15.0, 15.0))
    eye_width = rng.uniform(0.4, 0.9)
    # Keep the whole eye comfortably inside the crop whatever the roll.
    slack = max(0.0, 0.9 - eye_width) / 2.0
    shape = rng.uniform(0.6, 1.4)
    reflex_shape = str(rng.choice(["dot", "dot", "ring", "window"]))
    cast = rng.normal(0.0, 1.0, 3)
    cast = 1.0 + 0.5 * (cast - cast.mean()) / (np.abs(cast).max() + 1e-6)
    jpeg = int(rng.integers(35, 96)) if rng.random() < 0.6 else 0
    return _FirstDraws(lid_open, gaze, roll, eye_width, slack, shape, reflex_shape, cast, jpeg)


def _lid_open(rng: np.random.Generator, habitual: float) -> float:
    """Upper lid opening of one image: a blink, or around the habitual level."""
    if rng.random() < BLINK_PROBABILITY:
        return 0.0
    lid_open = float(np.clip(habitual + rng.normal(0.0, 0.08) - rng.exponential(0.04), 0.12, 1.0))
    if rng.random() < 0.1:  # occasional wide-eyed or half-blink frames
        lid_open = float(rng.uniform(0.12, 1.0))
    return lid_open


def _gaze(rng: np.random.Generator) -> np.ndarray:
    """Gaze (2,) in [-1, 1]: near primary, one of the four clinical directions, or anywhere."""
    gaze_kind = rng.random()
    if gaze_kind < 0.3:  # near primary gaze
        gaze = rng.normal(0.0, 0.12, 2)
    elif gaze_kind < 0.85:  # one of the four clinical directions
        axis = int(rng.integers(0, 4))
        amount = rng.uniform(0.4, 1.0)
        gaze = np.array([[amount, 0], [-amount, 0], [0, amount], [0, -amount]][axis], float)
        gaze = gaze + rng.normal(0.0, 0.08, 2)
    else:
        gaze = rng.uniform(-1.0, 1.0, 2)
    return np.clip(gaze, -1.0, 1.0)


def _camera_fields(
    rng: np.random.Generator, light: float, first: _FirstDraws, skin_luma: float
) -> dict[str, Any]:
    """The photometric EyeParams fields (the last draws of :func:`sample_eye_params`)."""
    cast = first.cast
    return {
        "illumination_strength": _r(min(0.6, rng.uniform(0.0, 0.35) * light)),
        "illumination_angle_deg": _r(rng.uniform(0.0, 360.0)),
        "vignette_strength": _r(min(0.5, rng.uniform(0.0, 0.3) * light)),
        "colour_cast_strength": _r(min(0.45, rng.uniform(0.0, 0.25) * light)),
        "colour_cast_rgb": (_r(cast[0]), _r(cast[1]), _r(cast[2])),
        # Cameras meter on the face: darker skin is exposed a little brighter.
        "exposure": _r(float(np.exp(rng.normal(0.0, 0.13 * light)) * (150.0 / skin_luma) ** 0.3)),
        "blur_sigma_px": _r(rng.uniform(0.3, 1.9) if rng.random() < 0.9 else 0.0),
        "noise_sigma": _r(rng.uniform(0.0, 6.0)),
        "jpeg_quality": first.jpeg,
        "noise_seed": int(rng.integers(0, 2**31 - 1)),
    }
