"""Parameters of a procedural eye phantom: person-level traits and per-image draws.

Two levels of randomness, so that a phantom dataset has "people" that can be split per
subject like a real one:

* :class:`SubjectTraits` are fixed by ``(subject_id, seed)``: skin tone (Fitzpatrick I–VI),
  iris colour, eye shape (iris size relative to the fissure, lid contours, canthal tilt,
  lid crease, brow), lashes, sclera tint, a habitual lid level per side (ptosis).
* :class:`EyeParams` are drawn per image from the traits: gaze, lid opening, pupil size,
  head roll, framing, lighting and camera degradations.

Both hold the person's :class:`EyeShape` and :class:`Appearance` as nested groups (an
image copies its person's groups; the video replaces fields of them). Everything
:func:`ocularseg.synth.render.render_eye` needs is a field of :class:`EyeParams` or of its
groups; the renderer draws nothing itself except texture noise, which is seeded by
``EyeParams.noise_seed``. ``EyeParams.to_dict()`` is the flat JSON-ready form
(str/int/float/tuples only) written into a phantom's meta. The numeric priors of the
samplers are named tables per profile in :mod:`ocularseg.synth.priors`. Lengths are
fractions (of the eye width, the iris radius or the crop size) so one parameter set
renders at any crop size.

This module needs NumPy only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ocularseg.core.errors import ConfigError
from ocularseg.synth.priors import (
    PROFILES,
    STANDARD,
    ImagePriors,
    TraitPriors,
    priors_for,
)

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

#: Fraction of images rendered as a closed eye (blink), in the standard profile.
BLINK_PROBABILITY: float = STANDARD.image.blink_share

__all__ = [
    "BLINK_PROBABILITY",
    "FITZPATRICK_RGB",
    "IRIS_STYLES",
    "PROFILES",
    "SCLERA_TINTS",
    "SIDES",
    "Appearance",
    "EyeParams",
    "EyeShape",
    "SubjectTraits",
    "sample_eye_params",
    "subject_traits",
]


@dataclass(frozen=True)
class EyeShape:
    """A person's eye shape; lengths are fractions so it renders at any crop size.

    Attributes:
        iris_radius_frac: iris radius / canthus-to-canthus width.
        mrd2_frac: lower lid to iris centre distance in primary gaze, in iris radii.
        canthal_tilt_deg: lateral canthus above the medial one by this angle.
        canthus_drop_frac: iris centre above the intercanthal line, in iris radii.
        upper_lid_peak, lower_lid_peak: position of the lid apex along the fissure,
            0 = medial canthus, 1 = lateral canthus.
        upper_lid_power, lower_lid_power: lid contour exponents (<1 fuller, >1 more almond).
        caruncle_width_frac: caruncle width / eye width.
        crease_frac: lid crease height above the lash line / eye width (0 = no crease).
        brow_frac: brow height above the lash line / eye width.
        brow_thickness_frac: brow thickness / eye width.
    """

    iris_radius_frac: float
    mrd2_frac: float
    canthal_tilt_deg: float
    canthus_drop_frac: float
    upper_lid_peak: float
    lower_lid_peak: float
    upper_lid_power: float
    lower_lid_power: float
    caruncle_width_frac: float
    crease_frac: float
    brow_frac: float
    brow_thickness_frac: float


@dataclass(frozen=True)
class Appearance:
    """A person's colours, lashes and skin (sRGB 0–255 colours).

    Attributes:
        skin_rgb: sRGB skin colour of the periorbital region.
        periorbital_darkening: 0–1, darker/browner lid and under-eye skin (common in
            darker skin types).
        iris_style: key of :data:`IRIS_STYLES`.
        iris_rgb, iris_light_rgb, iris_collarette_rgb: iris base, fibre and pupillary-zone
            colours.
        sclera_rgb: sclera tint.
        caruncle_rgb: caruncle colour.
        hair_rgb: brow and lash colour.
        lash_length_frac: longest upper lash (projected) / eye width.
        lash_density: 0–1 number of lashes.
        age_lines: 0–1 fine lines (crow's feet, lower-lid lines).
    """

    skin_rgb: tuple[int, int, int]
    periorbital_darkening: float
    iris_style: str
    iris_rgb: tuple[int, int, int]
    iris_light_rgb: tuple[int, int, int]
    iris_collarette_rgb: tuple[int, int, int]
    sclera_rgb: tuple[int, int, int]
    caruncle_rgb: tuple[int, int, int]
    hair_rgb: tuple[int, int, int]
    lash_length_frac: float
    lash_density: float
    age_lines: float


@dataclass(frozen=True)
class SubjectTraits:
    """Person-level traits, fixed by ``(subject_id, seed)``.

    Attributes:
        subject_id: the phantom person's number.
        fitzpatrick: skin type 1–6.
        shape: the eye shape.
        look: colours, lashes and skin.
        vessel_density: 0–1 conjunctival vessel count and contrast (habitual; each image
            jitters it).
        lid_open_right, lid_open_left: habitual upper lid level per side (1 open,
            ~0.3 severe ptosis); OMG ptosis is often asymmetric.
    """

    subject_id: int
    fitzpatrick: int
    shape: EyeShape
    look: Appearance
    vessel_density: float
    lid_open_right: float
    lid_open_left: float


@dataclass(frozen=True)
class EyeParams:
    """Every parameter of one phantom image (flat JSON via :meth:`to_dict`).

    Geometry is given in the head frame (before ``roll_deg``); ``render_eye`` turns the
    whole eye about the crop centre by ``roll_deg`` at the end.

    Attributes:
        side: the patient's anatomical side, ``"right"`` or ``"left"``. The right eye's
            medial canthus (caruncle) is on the crop's right, the left eye's on its left.
        subject_id: the phantom person.
        fitzpatrick: skin type 1–6 (for reporting coverage).
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
        shape: the person's eye shape (:class:`EyeShape`).
        look: the person's colours, lashes and skin (:class:`Appearance`).
        pupil_radius_frac: pupil radius / iris radius.
        pupil_dx_frac, pupil_dy_frac: pupil decentration in iris radii.
        limbal_ring_strength, iris_fibre_contrast, iris_crypts: iris texture.
        vessel_density: 0–1 conjunctival vessels of this image.
        lid_shadow_strength: darkening of the upper sclera/iris under the lid (0–1).
        reflex_dx_frac, reflex_dy_frac: corneal light reflex offset from the iris centre,
            in iris radii; reflex_radius_frac: its radius in iris radii; reflex_shape:
            ``"dot"``, ``"ring"`` or ``"window"``; reflex_strength: 0 = no reflex.
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
    subject_id: int
    fitzpatrick: int
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
    # the person
    shape: EyeShape
    look: Appearance
    # this image's eye
    pupil_radius_frac: float
    pupil_dx_frac: float
    pupil_dy_frac: float
    limbal_ring_strength: float
    iris_fibre_contrast: float
    iris_crypts: int
    vessel_density: float
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

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON-ready dict of every field, groups spread out (a phantom's meta)."""
        flat = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _GROUPS}
        return {**flat, **asdict(self.shape), **asdict(self.look)}

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Every flat name :meth:`replace` and :meth:`from_dict` accept."""
        return _FLAT_NAMES

    @classmethod
    def from_dict(cls, flat: dict[str, Any]) -> EyeParams:
        """Rebuild from :meth:`to_dict` (lists may stand for tuples, as JSON gives them)."""
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in flat.items()}
        groups = {
            name: group(**{f.name: values.pop(f.name) for f in fields(group)})
            for name, group in _GROUPS.items()
        }
        return cls(**values, **groups)

    def replace(self, **changes: Any) -> EyeParams:
        """A copy with fields changed by their flat names (group fields included).

        Raises:
            ConfigError: a name that is not a field of the params or of its groups.
        """
        unknown = sorted(set(changes) - _FLAT_NAMES)
        if unknown:
            raise ConfigError(f"EyeParams has no field {', '.join(map(repr, unknown))}")
        groups = {}
        for name, group in _GROUPS.items():
            own = {f.name: changes.pop(f.name) for f in fields(group) if f.name in changes}
            groups[name] = dataclasses.replace(getattr(self, name), **own)
        return dataclasses.replace(self, **changes, **groups)


#: The nested groups of :class:`EyeParams`, by field name.
_GROUPS: dict[str, type] = {"shape": EyeShape, "look": Appearance}
_FLAT_NAMES: frozenset[str] = frozenset(
    [f.name for f in fields(EyeParams) if f.name not in _GROUPS]
    + [f.name for group in _GROUPS.values() for f in fields(group)]
)


def _rgb(values: np.ndarray) -> tuple[int, int, int]:
    clipped = np.clip(np.rint(values), 0, 255).astype(int)
    return int(clipped[0]), int(clipped[1]), int(clipped[2])


def _r(x: float, ndigits: int = 4) -> float:
    # Rounded at the source so to_dict() -> JSON -> EyeParams round-trips exactly.
    return round(float(x), ndigits)


def subject_traits(subject_id: int, seed: int, profile: str = "standard") -> SubjectTraits:
    """Draw the traits of phantom person ``subject_id`` (deterministic in all arguments).

    Skin types are drawn uniformly over Fitzpatrick I–VI so every tone is equally
    represented (``profile="shifted"``: mostly IV–VI and more ptosis); the iris colour is
    drawn conditionally on the skin type (``profile="balanced"``: independently of it).
    The priors are the profile's :class:`~ocularseg.synth.priors.TraitPriors`.

    Raises:
        ConfigError: ``subject_id`` or ``seed`` is negative, or an unknown profile.
    """
    if subject_id < 0 or seed < 0:
        raise ConfigError(f"subject_id and seed must be >= 0, got {subject_id} and {seed}")
    pri = priors_for(profile).traits
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5B1EC7, int(subject_id)]))
    fitz, skin = _draw_skin(rng, pri)
    style, iris_base, iris_light, iris_col = _draw_iris(rng, pri, fitz)
    hair = _draw_hair(rng, pri, fitz)
    tint_name = str(rng.choice(list(SCLERA_TINTS), p=pri.sclera_tint_probs))
    sclera = np.array(SCLERA_TINTS[tint_name], float) + rng.normal(0, pri.sclera_sigma, 3)
    caruncle = _draw_caruncle(rng, pri, fitz)
    right, left = _draw_lid_levels(rng, pri)
    crease = 0.0 if rng.random() < pri.no_crease_share else rng.uniform(*pri.crease_frac)
    # The remaining draws keep the order in which the traits were first written out.
    darkening = _r(rng.uniform(*pri.periorbital_darkening) + pri.darkening_per_fitz * (fitz - 1))
    collarette = _rgb(iris_col * rng.normal(1.0, pri.iris_jitter_sigma, 3))
    ranges = (
        pri.iris_radius_frac, pri.mrd2_frac, pri.canthal_tilt_deg, pri.canthus_drop_frac,
        pri.upper_lid_peak, pri.lower_lid_peak, pri.upper_lid_power, pri.lower_lid_power,
        pri.brow_frac, pri.brow_thickness_frac, pri.lash_length_frac, pri.lash_density,
        pri.vessel_density, pri.caruncle_width_frac,
    )  # fmt: skip
    (iris_r, mrd2, tilt, drop, up_peak, lo_peak, up_pow, lo_pow, brow, brow_thick, lash_len,
     lash_density, vessels, caruncle_w) = (_r(rng.uniform(*lo_hi)) for lo_hi in ranges)  # fmt: skip
    shape = EyeShape(
        iris_radius_frac=iris_r, mrd2_frac=mrd2, canthal_tilt_deg=tilt, canthus_drop_frac=drop,
        upper_lid_peak=up_peak, lower_lid_peak=lo_peak, upper_lid_power=up_pow,
        lower_lid_power=lo_pow, caruncle_width_frac=caruncle_w, crease_frac=_r(crease),
        brow_frac=brow, brow_thickness_frac=brow_thick,
    )  # fmt: skip
    look = Appearance(
        skin_rgb=_rgb(skin),
        periorbital_darkening=darkening,
        iris_style=style,
        iris_rgb=_rgb(iris_base),
        iris_light_rgb=_rgb(iris_light),
        iris_collarette_rgb=collarette,
        sclera_rgb=_rgb(sclera),
        caruncle_rgb=_rgb(caruncle),
        hair_rgb=_rgb(hair),
        lash_length_frac=lash_len,
        lash_density=lash_density,
        age_lines=_r(rng.uniform(*pri.age_lines) ** 2),
    )
    return SubjectTraits(int(subject_id), fitz, shape, look, vessels, _r(right), _r(left))


def _draw_skin(rng: np.random.Generator, pri: TraitPriors) -> tuple[int, np.ndarray]:
    """Fitzpatrick type and sRGB skin colour (before rounding)."""
    if pri.fitzpatrick_probs is not None:
        fitz = 1 + int(rng.choice(6, p=pri.fitzpatrick_probs))
    else:
        fitz = int(rng.integers(1, 7))
    base = np.array(FITZPATRICK_RGB[fitz], float)
    # Per-person hue: redder or more olive/yellow undertone, plus lightness jitter.
    undertone = rng.normal(0.0, 1.0)
    return fitz, base * rng.uniform(*pri.skin_gain) + undertone * np.array(pri.undertone_rgb)


def _draw_iris(
    rng: np.random.Generator, pri: TraitPriors, fitz: int
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """Iris style and its base and fibre colours (jittered) and collarette colour (not)."""
    styles = list(IRIS_STYLES)
    style = styles[int(rng.choice(len(styles), p=pri.iris_probs(fitz)))]
    iris_base, iris_light, iris_col = (np.array(c, float) for c in IRIS_STYLES[style])
    jitter = rng.normal(1.0, pri.iris_jitter_sigma, 3)
    return style, iris_base * jitter, iris_light * jitter, iris_col


def _draw_hair(rng: np.random.Generator, pri: TraitPriors, fitz: int) -> np.ndarray:
    """Brow and lash colour (sRGB, before rounding)."""
    hair_dark = rng.uniform(0.0, 1.0)
    if fitz <= pri.fair_hair_max_fitz and rng.random() < pri.fair_hair_share:
        return np.array(pri.fair_hair_rgb) * rng.uniform(*pri.fair_hair_gain)
    base, span = pri.dark_hair_lightness
    return np.array(pri.dark_hair_rgb) * (base + span * hair_dark)


def _draw_caruncle(rng: np.random.Generator, pri: TraitPriors, fitz: int) -> np.ndarray:
    """Caruncle colour (sRGB, before rounding); darker in darker skin types."""
    gain = rng.uniform(*pri.caruncle_gain)
    caruncle = np.array(pri.caruncle_rgb) * gain + rng.normal(0, pri.caruncle_sigma, 3)
    if fitz >= pri.dark_caruncle_min_fitz:
        caruncle = caruncle * np.array(pri.dark_caruncle_gain)
    return caruncle


def _draw_lid_levels(rng: np.random.Generator, pri: TraitPriors) -> tuple[float, float]:
    """Habitual lid level (right, left): most people open, some ptotic on one or both sides."""
    kind = rng.random()
    if kind < pri.open_share:
        right = left = rng.uniform(*pri.open_lid)
    elif kind < pri.asymmetric_share:
        healthy, ptotic = rng.uniform(*pri.healthy_lid), rng.uniform(*pri.ptotic_lid)
        right, left = (healthy, ptotic) if rng.random() < 0.5 else (ptotic, healthy)
    else:
        right = left = rng.uniform(*pri.bilateral_ptotic_lid)
    return right, left


def sample_eye_params(
    traits: SubjectTraits, side: str, rng: np.random.Generator, profile: str = "standard"
) -> EyeParams:
    """Draw the parameters of one image of ``traits``'s ``side`` eye.

    About :data:`BLINK_PROBABILITY` of draws are closed eyes (``upper_lid_open == 0``).
    Gaze covers primary, up, down, left and right; the lid level varies around the
    subject's habitual level for that side (fatigue makes it droop further). The priors
    are the profile's :class:`~ocularseg.synth.priors.ImagePriors`.

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
    pri = priors_for(profile).image
    habitual = traits.lid_open_right if side == "right" else traits.lid_open_left
    lid_open = _draw_lid_open(rng, pri, habitual)
    gaze = _draw_gaze(rng, pri)
    roll = _draw_roll(rng, pri)
    eye_width = rng.uniform(*pri.eye_width_frac)
    # Keep the whole eye comfortably inside the crop whatever the roll.
    slack = max(0.0, pri.framing_span - eye_width) / 2.0
    size_gain = rng.uniform(*pri.reflex_size_gain)
    reflex_shape = str(rng.choice(list(pri.reflex_shapes)))
    cast = rng.normal(0.0, 1.0, 3)
    cast = 1.0 + 0.5 * (cast - cast.mean()) / (np.abs(cast).max() + 1e-6)
    jpeg = int(rng.integers(*pri.jpeg_quality)) if rng.random() < pri.jpeg_share else 0
    skin_luma = float(np.dot(traits.look.skin_rgb, [0.299, 0.587, 0.114]))
    lids = _lid_and_framing_fields(rng, pri, slack)
    eye = _eye_fields(rng, pri, traits, size_gain, reflex_shape)
    camera = _camera_fields(rng, pri, skin_luma)
    return EyeParams(
        side=side,
        subject_id=traits.subject_id,
        fitzpatrick=traits.fitzpatrick,
        gaze_x=_r(gaze[0]),
        gaze_y=_r(gaze[1]),
        upper_lid_open=_r(lid_open),
        eye_width_frac=_r(eye_width),
        roll_deg=_r(roll),
        shape=traits.shape,
        look=traits.look,
        colour_cast_rgb=(_r(cast[0]), _r(cast[1]), _r(cast[2])),
        jpeg_quality=jpeg,
        **lids,
        **eye,
        **camera,
    )


def _draw_lid_open(rng: np.random.Generator, pri: ImagePriors, habitual: float) -> float:
    """This image's upper lid level around the habitual one (0 = a blink)."""
    if rng.random() < pri.blink_share:
        return 0.0
    lo, hi = pri.lid_range
    lid_open = float(
        np.clip(
            habitual + rng.normal(0.0, pri.lid_sigma) - rng.exponential(pri.lid_fatigue_mean),
            lo,
            hi,
        )
    )
    if rng.random() < pri.odd_lid_share:  # occasional wide-eyed or half-blink frames
        lid_open = float(rng.uniform(lo, hi))
    return lid_open


def _draw_gaze(rng: np.random.Generator, pri: ImagePriors) -> np.ndarray:
    """Gaze (x, y) in [-1, 1]: near primary, one of the four clinical directions, or any."""
    gaze_kind = rng.random()
    if gaze_kind < pri.primary_gaze_share:
        gaze = rng.normal(0.0, pri.primary_gaze_sigma, 2)
    elif gaze_kind < pri.cardinal_gaze_share:
        axis = int(rng.integers(0, 4))
        amount = rng.uniform(*pri.cardinal_amount)
        gaze = np.array([[amount, 0], [-amount, 0], [0, amount], [0, -amount]][axis], float)
        gaze = gaze + rng.normal(0.0, pri.cardinal_sigma, 2)
    else:
        gaze = rng.uniform(-1.0, 1.0, 2)
    return np.clip(gaze, -1.0, 1.0)


def _draw_roll(rng: np.random.Generator, pri: ImagePriors) -> float:
    """Head roll in degrees: mostly small, sometimes anywhere in the allowed range."""
    if rng.random() < pri.small_roll_share:
        roll = rng.normal(0.0, pri.roll_sigma_deg)
    else:
        roll = rng.uniform(*pri.roll_range_deg)
    return float(np.clip(roll, *pri.roll_range_deg))


def _lid_and_framing_fields(
    rng: np.random.Generator, pri: ImagePriors, slack: float
) -> dict[str, float]:
    """Lower lid, lid follow and the eye's offset in the crop (drawn in this order)."""
    return {
        "lower_lid_raise": _r(rng.uniform(*pri.lower_lid_raise)),
        "upper_lid_follow": _r(rng.uniform(*pri.upper_lid_follow)),
        "lower_lid_follow": _r(rng.uniform(*pri.lower_lid_follow)),
        "eye_dx_frac": _r(rng.uniform(-1.0, 1.0) * slack * 0.5),
        "eye_dy_frac": _r(rng.uniform(-1.0, 1.0) * min(pri.max_dy_frac, slack * 0.5)),
    }


def _eye_fields(
    rng: np.random.Generator,
    pri: ImagePriors,
    traits: SubjectTraits,
    size_gain: float,
    reflex_shape: str,
) -> dict[str, float | int | str]:
    """Pupil, iris texture, vessels, lid shadow, corneal reflex, skin texture (in order)."""
    return {
        "pupil_radius_frac": _r(rng.uniform(*pri.pupil_radius_frac)),
        "pupil_dx_frac": _r(rng.normal(0.0, pri.pupil_offset_sigma)),
        "pupil_dy_frac": _r(rng.normal(0.0, pri.pupil_offset_sigma)),
        "limbal_ring_strength": _r(rng.uniform(*pri.limbal_ring_strength)),
        "iris_fibre_contrast": _r(rng.uniform(*pri.iris_fibre_contrast)),
        "iris_crypts": int(rng.integers(*pri.iris_crypts)),
        "vessel_density": _r(
            float(np.clip(traits.vessel_density + rng.normal(0, pri.vessel_sigma), 0, 1))
        ),
        "lid_shadow_strength": _r(rng.uniform(*pri.lid_shadow_strength)),
        "reflex_dx_frac": _r(rng.normal(0.0, pri.reflex_dx_sigma)),
        "reflex_dy_frac": _r(rng.normal(pri.reflex_dy_mean, pri.reflex_dy_sigma)),
        "reflex_radius_frac": _r(rng.uniform(*pri.reflex_radius_frac) * size_gain),
        "reflex_shape": reflex_shape,
        "reflex_strength": _r(
            0.0 if rng.random() < pri.no_reflex_share else rng.uniform(*pri.reflex_strength)
        ),
        "skin_texture_strength": _r(rng.uniform(*pri.skin_texture_strength)),
    }


def _camera_fields(
    rng: np.random.Generator, pri: ImagePriors, skin_luma: float
) -> dict[str, float | int]:
    """Lighting, exposure, blur, sensor noise and the texture seed (drawn in this order)."""
    light = pri.lighting_gain
    return {
        "illumination_strength": _r(
            min(pri.max_illumination_strength, rng.uniform(*pri.illumination_strength) * light)
        ),
        "illumination_angle_deg": _r(rng.uniform(*pri.illumination_angle_deg)),
        "vignette_strength": _r(
            min(pri.max_vignette_strength, rng.uniform(*pri.vignette_strength) * light)
        ),
        "colour_cast_strength": _r(
            min(pri.max_colour_cast_strength, rng.uniform(*pri.colour_cast_strength) * light)
        ),
        # Cameras meter on the face: darker skin is exposed a little brighter.
        "exposure": _r(
            float(
                np.exp(rng.normal(0.0, pri.exposure_sigma * light))
                * (pri.metering_luma / skin_luma) ** pri.metering_power
            )
        ),
        "blur_sigma_px": _r(
            rng.uniform(*pri.blur_sigma_px) if rng.random() < pri.blur_share else 0.0
        ),
        "noise_sigma": _r(rng.uniform(*pri.noise_sigma)),
        "noise_seed": int(rng.integers(0, 2**31 - 1)),
    }
