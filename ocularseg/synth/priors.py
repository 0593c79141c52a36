"""The numeric priors of the phantom samplers, as one named table per sampling profile.

:func:`ocularseg.synth.params.subject_traits` and
:func:`~ocularseg.synth.params.sample_eye_params` read every range, share and sigma from a
:class:`PhantomPriors`; a profile is one instance of it:

* ``"standard"`` (:data:`STANDARD`): the training distribution;
* ``"shifted"`` (:data:`SHIFTED`): our stand-in for a clinical test set that differs from
  training: mostly darker skin (Fitzpatrick IV–VI), more and stronger ptosis, and harsher
  lighting (strong gradients, vignetting, colour casts, wider exposure errors);
* ``"balanced"`` (:data:`BALANCED`): ``"standard"`` with the iris colour drawn
  independently of the skin type, so light skin with a dark brown iris (rare in
  ``"standard"``, yet common in people) is as frequent as any other pairing.

A ``(lo, hi)`` pair is the argument pair of ``rng.uniform`` (or ``rng.integers``, high
exclusive); a ``*_share`` is the probability of a branch; lengths are fractions as in
``synth.params``. This module needs nothing beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ocularseg.core.errors import ConfigError

Range = tuple[float, float]
RGB = tuple[float, float, float]

#: Iris style names, in the order of every probability tuple below.
IRIS_STYLE_ORDER: tuple[str, ...] = ("dark_brown", "brown", "hazel", "green", "blue", "grey")

#: Iris style probabilities per Fitzpatrick type, in :data:`IRIS_STYLE_ORDER`.
_IRIS_STYLE_PROBS_BY_FITZ: dict[int, tuple[float, ...]] = {
    1: (0.05, 0.15, 0.15, 0.2, 0.3, 0.15),
    2: (0.08, 0.2, 0.2, 0.17, 0.23, 0.12),
    3: (0.2, 0.35, 0.2, 0.1, 0.1, 0.05),
    4: (0.45, 0.4, 0.1, 0.03, 0.01, 0.01),
    5: (0.7, 0.28, 0.02, 0.0, 0.0, 0.0),
    6: (0.8, 0.2, 0.0, 0.0, 0.0, 0.0),
}
_IRIS_STYLE_PROBS_UNIFORM: dict[int, tuple[float, ...]] = {
    fitz: (1.0 / len(IRIS_STYLE_ORDER),) * len(IRIS_STYLE_ORDER) for fitz in range(1, 7)
}


@dataclass(frozen=True)
class TraitPriors:
    """Priors of a phantom person (:class:`~ocularseg.synth.params.SubjectTraits`).

    Attributes:
        fitzpatrick_probs: probabilities of types I–VI, or ``None`` for uniform integers.
        skin_gain: lightness jitter of the type's skin colour (multiplier range).
        undertone_rgb: sRGB shift per unit of the normal undertone draw (red vs olive).
        iris_style_probs: per Fitzpatrick type, probabilities in :data:`IRIS_STYLE_ORDER`.
        iris_jitter_sigma: sigma of the per-person iris colour gain (per channel).
        fair_hair_max_fitz, fair_hair_share: fair / red-brown hair for types up to this.
        fair_hair_rgb, fair_hair_gain: its colour and gain range.
        dark_hair_rgb, dark_hair_lightness: dark hair colour, ``base + span * U(0, 1)``.
        sclera_tint_probs: probabilities of white, yellowish, pinkish.
        sclera_sigma: sRGB jitter of the sclera tint.
        caruncle_rgb, caruncle_gain, caruncle_sigma: caruncle colour, gain and jitter.
        dark_caruncle_min_fitz, dark_caruncle_gain: darker caruncle from this type on.
        open_share: people with both lids open; asymmetric_share: cumulative share up to
            one-sided ptosis (the rest: both sides ptotic).
        open_lid, healthy_lid, ptotic_lid, bilateral_ptotic_lid: habitual lid levels.
        no_crease_share, crease_frac: people without a crease; crease height range.
        periorbital_darkening, darkening_per_fitz: darkening range, plus this per type.
        iris_radius_frac ... caruncle_width_frac: the eye-shape ranges of
            :class:`~ocularseg.synth.params.EyeShape`.
        lash_length_frac, lash_density, vessel_density: ranges of those traits.
        age_lines: range of the draw that is squared into ``age_lines``.
    """

    fitzpatrick_probs: tuple[float, ...] | None = None
    skin_gain: Range = (0.93, 1.06)
    undertone_rgb: RGB = (4.0, -1.0, -4.0)
    iris_style_probs: dict[int, tuple[float, ...]] | None = None
    iris_jitter_sigma: float = 0.08
    fair_hair_max_fitz: int = 2
    fair_hair_share: float = 0.3
    fair_hair_rgb: RGB = (120.0, 90.0, 60.0)
    fair_hair_gain: Range = (0.7, 1.2)
    dark_hair_rgb: RGB = (45.0, 33.0, 26.0)
    dark_hair_lightness: Range = (0.45, 0.8)
    sclera_tint_probs: tuple[float, float, float] = (0.6, 0.2, 0.2)
    sclera_sigma: float = 4.0
    caruncle_rgb: RGB = (205.0, 120.0, 115.0)
    caruncle_gain: Range = (0.8, 1.05)
    caruncle_sigma: float = 6.0
    dark_caruncle_min_fitz: int = 5
    dark_caruncle_gain: RGB = (0.75, 0.68, 0.68)
    open_share: float = 0.55
    asymmetric_share: float = 0.85
    open_lid: Range = (0.68, 0.95)
    healthy_lid: Range = (0.68, 0.92)
    ptotic_lid: Range = (0.25, 0.6)
    bilateral_ptotic_lid: Range = (0.3, 0.65)
    no_crease_share: float = 0.15
    crease_frac: Range = (0.07, 0.2)
    periorbital_darkening: Range = (0.0, 0.35)
    darkening_per_fitz: float = 0.08
    iris_radius_frac: Range = (0.175, 0.225)
    mrd2_frac: Range = (0.8, 1.12)
    canthal_tilt_deg: Range = (-2.0, 9.0)
    canthus_drop_frac: Range = (0.0, 0.35)
    upper_lid_peak: Range = (0.4, 0.52)
    lower_lid_peak: Range = (0.5, 0.62)
    upper_lid_power: Range = (0.75, 1.15)
    lower_lid_power: Range = (0.8, 1.3)
    brow_frac: Range = (0.5, 0.75)
    brow_thickness_frac: Range = (0.1, 0.2)
    lash_length_frac: Range = (0.07, 0.15)
    lash_density: Range = (0.35, 1.0)
    vessel_density: Range = (0.0, 1.0)
    caruncle_width_frac: Range = (0.06, 0.095)
    age_lines: Range = (0.0, 1.0)

    def iris_probs(self, fitzpatrick: int) -> tuple[float, ...]:
        """Iris style probabilities for a skin type, in :data:`IRIS_STYLE_ORDER`."""
        table = self.iris_style_probs or _IRIS_STYLE_PROBS_BY_FITZ
        return table[fitzpatrick]


@dataclass(frozen=True)
class ImagePriors:
    """Priors of one image of a person (:class:`~ocularseg.synth.params.EyeParams`).

    Attributes:
        blink_share: images rendered as a closed eye.
        lid_sigma, lid_fatigue_mean: normal jitter and exponential droop of the lid
            around the habitual level; lid_range: its clip range.
        odd_lid_share: wide-eyed or half-blink frames, drawn uniformly from ``lid_range``.
        primary_gaze_share, primary_gaze_sigma: near-primary gaze and its spread.
        cardinal_gaze_share: cumulative share up to one of the four clinical directions;
            cardinal_amount, cardinal_sigma: how far along it, and the spread.
        small_roll_share, roll_sigma_deg: normal head roll; else uniform in roll_range_deg.
        eye_width_frac: range of canthus-to-canthus width / crop width.
        framing_span: eye width that still fits whatever the offset.
        reflex_size_gain: range of the reflex size multiplier; reflex_shapes: drawn
            uniformly (repeats weigh a shape).
        jpeg_share, jpeg_quality: JPEG round-trip share and quality range.
        lighting_gain: multiplier of the lighting degradations (1 = standard).
        exposure_sigma: log-normal exposure sigma (times ``lighting_gain``).
        metering_luma, metering_power: darker skin exposed brighter,
            ``(metering_luma / skin luma) ** metering_power``.
        blur_share, blur_sigma_px: blurred share and blur sigma range (crop px).
        Other names: ranges (or normal sigmas) of the :class:`EyeParams` field they name.
    """

    blink_share: float = 0.04
    lid_sigma: float = 0.08
    lid_fatigue_mean: float = 0.04
    lid_range: Range = (0.12, 1.0)
    odd_lid_share: float = 0.1
    primary_gaze_share: float = 0.3
    primary_gaze_sigma: float = 0.12
    cardinal_gaze_share: float = 0.85
    cardinal_amount: Range = (0.4, 1.0)
    cardinal_sigma: float = 0.08
    small_roll_share: float = 0.7
    roll_sigma_deg: float = 4.0
    roll_range_deg: Range = (-15.0, 15.0)
    eye_width_frac: Range = (0.4, 0.9)
    framing_span: float = 0.9
    max_dy_frac: float = 0.08
    reflex_size_gain: Range = (0.6, 1.4)
    reflex_shapes: tuple[str, ...] = ("dot", "dot", "ring", "window")
    jpeg_share: float = 0.6
    jpeg_quality: tuple[int, int] = (35, 96)
    lower_lid_raise: Range = (-1.0, 1.0)
    upper_lid_follow: Range = (0.7, 0.95)
    lower_lid_follow: Range = (0.2, 0.45)
    pupil_radius_frac: Range = (0.22, 0.55)
    pupil_offset_sigma: float = 0.03
    limbal_ring_strength: Range = (0.1, 0.7)
    iris_fibre_contrast: Range = (0.5, 1.2)
    iris_crypts: tuple[int, int] = (0, 12)
    vessel_sigma: float = 0.1
    lid_shadow_strength: Range = (0.25, 0.6)
    reflex_dx_sigma: float = 0.25
    reflex_dy_mean: float = -0.1
    reflex_dy_sigma: float = 0.2
    reflex_radius_frac: Range = (0.035, 0.1)
    no_reflex_share: float = 0.08
    reflex_strength: Range = (0.5, 1.0)
    skin_texture_strength: Range = (0.3, 1.0)
    lighting_gain: float = 1.0
    illumination_strength: Range = (0.0, 0.35)
    max_illumination_strength: float = 0.6
    illumination_angle_deg: Range = (0.0, 360.0)
    vignette_strength: Range = (0.0, 0.3)
    max_vignette_strength: float = 0.5
    colour_cast_strength: Range = (0.0, 0.25)
    max_colour_cast_strength: float = 0.45
    exposure_sigma: float = 0.13
    metering_luma: float = 150.0
    metering_power: float = 0.3
    blur_share: float = 0.9
    blur_sigma_px: Range = (0.3, 1.9)
    noise_sigma: Range = (0.0, 6.0)


@dataclass(frozen=True)
class PhantomPriors:
    """One sampling profile: the person-level and the per-image priors."""

    name: str
    traits: TraitPriors
    image: ImagePriors


STANDARD = PhantomPriors("standard", TraitPriors(), ImagePriors())
SHIFTED = PhantomPriors(
    "shifted",
    replace(
        STANDARD.traits,
        fitzpatrick_probs=(0.04, 0.06, 0.1, 0.2, 0.3, 0.3),
        open_share=0.25,
        asymmetric_share=0.65,
        ptotic_lid=(0.15, 0.6),
    ),
    replace(STANDARD.image, lighting_gain=1.7),
)
BALANCED = PhantomPriors(
    "balanced", replace(STANDARD.traits, iris_style_probs=_IRIS_STYLE_PROBS_UNIFORM), STANDARD.image
)

#: The profiles by name, in the order the CLI lists them.
PRIORS: dict[str, PhantomPriors] = {p.name: p for p in (STANDARD, SHIFTED, BALANCED)}
PROFILES: tuple[str, ...] = tuple(PRIORS)


def priors_for(profile: str) -> PhantomPriors:
    """The priors of a profile by name.

    Raises:
        ConfigError: an unknown profile.
    """
    if profile not in PRIORS:
        raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    return PRIORS[profile]
