"""Drawing a phantom face video: two rendered phantom eyes blended into the moving face.

Geometry (all transforms are similarities: rotation + uniform scale + translation, see
``synth.affine``):

* ``base`` frame px: the enlarged photograph before head motion; the dlib landmarks
  found on it place the eyes.
* ``crop`` px: the renderer's 480×320 eye crop. ``base_from_crop`` maps the phantom's
  canthi exactly onto the landmark canthi (36/39 for the patient's right eye, 45/42 for
  the left). The renderer draws with ``roll_deg = 0``, so the crop is already
  roll-corrected along the canthal line, like the eye-crop stage's crop.
* ``frame`` px: the final video frame; ``frame_from_base`` is the frame's head motion.

Each eye is set up once per spec (:func:`_setup_eyes`: renderer params at rest and the
blending alpha), then every planned frame re-renders both eyes with the frame's gaze and
lid opening, warps them into the moving face, blurs and adds noise.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ocularseg.core.containers import CROP_HEIGHT_PX, CROP_WIDTH_PX, SIDES
from ocularseg.synth.affine import apply, compose, invert, similarity_from_points, similarity_scale
from ocularseg.synth.face import PhantomFace, astronaut_face, local_skin_rgb, warp_source
from ocularseg.synth.motion import SynthVideoSpec, VideoPlan, head_motion
from ocularseg.synth.video_truth import eye_truth, frame_record

log = logging.getLogger(__name__)

#: Extra Gaussian softness of the phantom in frame px, matching the enlarged photograph.
_PHANTOM_SOFTNESS_PX = 0.9


def _renderer() -> tuple[Any, Any, Any]:
    # Imported late: the renderer is a sibling module and pulls in OpenCV/scikit-image.
    from ocularseg.synth.params import sample_eye_params, subject_traits
    from ocularseg.synth.render import render_eye

    return subject_traits, sample_eye_params, render_eye


#: Renderer fields switched to "off" so that the whole frame, not each eye crop, gets
#: one consistent set of degradations (blur, noise, compression, lighting).
_NEUTRAL_PHOTOMETRY: dict[str, Any] = {
    "blur_sigma_px": 0.0,
    "noise_sigma": 0.0,
    "jpeg_quality": 0,
    "illumination_strength": 0.0,
    "vignette_strength": 0.0,
    "colour_cast_strength": 0.0,
    "exposure": 1.0,
}

#: Geometry fixed for blending: the eye centred in the crop, the canthal line horizontal
#: (no head roll, no canthal tilt — the photograph's landmarks carry the real tilt), so
#: the crop is roll-corrected along the eye-corner line like the eye-crop stage's crop.
_FIXED_GEOMETRY: dict[str, Any] = {
    "roll_deg": 0.0,
    "canthal_tilt_deg": 0.0,
    "eye_dx_frac": 0.0,
    "eye_dy_frac": 0.0,
    "eye_width_frac": 0.6,
}


@dataclass(frozen=True)
class _EyeSetup:
    """Per-eye constants: renderer params at rest and the blending alpha in crop px."""

    side: str
    params: Any
    alpha_crop: np.ndarray  # float32 (320, 480) in [0, 1]


def _eye_params(base: Any, **changes: Any) -> Any:
    # Fields the renderer's EyeParams lacks are skipped (logged once per name), so a
    # renamed field degrades the blend instead of stopping the video.
    names = {f.name for f in dataclasses.fields(base)}
    for missing in sorted(set(changes) - names - _WARNED_FIELDS):
        _WARNED_FIELDS.add(missing)
        log.warning("EyeParams has no field %r; left at the renderer's value", missing)
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if k in names})


_WARNED_FIELDS: set[str] = set()


def _setup_eyes(
    spec: SynthVideoSpec, face: PhantomFace, base_rgb: np.ndarray
) -> dict[str, _EyeSetup]:
    import cv2

    subject_traits, sample_eye_params, render_eye = _renderer()
    traits = subject_traits(spec.subject_id, spec.seed)
    rng = np.random.default_rng([spec.seed, 0xE7E])
    setups: dict[str, _EyeSetup] = {}
    for side in SIDES:
        sampled = sample_eye_params(traits, side, rng)
        skin = local_skin_rgb(base_rgb, face.landmarks, side)
        params = _eye_params(
            sampled,
            side=side,
            skin_rgb=skin,
            # The photograph's own skin tone around the eye decides the darkening.
            periorbital_darkening=0.0,
            gaze_x=0.0,
            gaze_y=0.0,
            upper_lid_open=1.0,
            # The upper lid tracks vertical gaze exactly, so MRD1 of the steady eye does
            # not move with it (the lower lid keeps the renderer's partial follow).
            upper_lid_follow=1.0,
            # A pupil of ordinary room light; the sampler also draws dilated ones.
            pupil_radius_frac=float(np.clip(sampled.pupil_radius_frac, 0.28, 0.4)),
            **_FIXED_GEOMETRY,
            **_NEUTRAL_PHOTOMETRY,
        )
        # The alpha covers the widest opening the video will show (lid fully open), the
        # photograph's own eye opening (so it disappears under the phantom) and a margin
        # of lid skin and lashes; outside it the face keeps its own skin and brow.
        ref = render_eye(params, width_px=CROP_WIDTH_PX, height_px=CROP_HEIGHT_PX)
        base_from_crop = _base_from_crop(ref.truth, face, side)
        real_eye_crop = apply(invert(base_from_crop), face.landmarks.eye_points_px(side))
        mask = (np.asarray(ref.labels) > 0).astype(np.uint8)
        cv2.fillPoly(mask, [np.round(real_eye_crop).astype(np.int32)], 1)
        canthal_crop = float(
            np.hypot(*np.subtract(ref.truth["medial_canthus_px"], ref.truth["lateral_canthus_px"]))
        )
        margin = max(3, int(round(0.1 * canthal_crop)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
        mask = cv2.dilate(mask, kernel)
        alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.45 * margin)
        setups[side] = _EyeSetup(side=side, params=params, alpha_crop=alpha)
    return setups


def _base_from_crop(truth: dict[str, Any], face: PhantomFace, side: str) -> np.ndarray:
    lateral, medial = face.canthi_px(side)  # type: ignore[arg-type]
    src = np.array([truth["lateral_canthus_px"], truth["medial_canthus_px"]], dtype=np.float64)
    return similarity_from_points(src, np.array([lateral, medial]))


@functools.lru_cache(maxsize=4)
def _cached_face(frame_size_px: tuple[int, int]) -> PhantomFace:
    # dlib detection on the photograph takes about a second; tests build several videos.
    return astronaut_face(frame_size_px)


@functools.lru_cache(maxsize=4)
def _cached_setups(spec: SynthVideoSpec) -> dict[str, _EyeSetup]:
    face = _cached_face(tuple(spec.frame_size_px))
    return _setup_eyes(spec, face, face.base_frame())


def _blur_kernel(blur: dict[str, Any]) -> np.ndarray:
    import cv2

    if blur["kind"] == "motion":
        length = max(2.0, float(blur["length_px"]))
        size = int(math.ceil(length)) | 1
        kernel = np.zeros((size, size), np.float32)
        c = size // 2
        angle = math.radians(float(blur["angle_deg"]))
        dx, dy = math.cos(angle) * (length - 1) / 2, math.sin(angle) * (length - 1) / 2
        cv2.line(
            kernel,
            # shift=4: coordinates in 1/16 px, for a sub-pixel line through the centre.
            (int(round((c - dx) * 16)), int(round((c - dy) * 16))),
            (int(round((c + dx) * 16)), int(round((c + dy) * 16))),
            1.0,
            thickness=1,
            lineType=cv2.LINE_AA,
            shift=4,
        )
    else:
        radius = max(1.0, float(blur["radius_px"]))
        size = int(math.ceil(radius)) * 2 + 1
        yy, xx = np.mgrid[:size, :size] - size // 2
        kernel = (np.hypot(xx, yy) <= radius).astype(np.float32)
    return kernel / kernel.sum()


def render_frames(plan: VideoPlan) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """Draw the planned frames one by one.

    Yields:
        (frame, truth): the frame as RGB uint8 (H, W, 3) and its ground-truth record
        (frame px of this frame; see ``synth.video_truth``).
    """
    spec = plan.spec
    face = _cached_face(tuple(spec.frame_size_px))
    setups = _cached_setups(spec)
    width, height = face.frame_size_px
    centre = face.landmarks.points_px[36:48].mean(axis=0)
    for fp in plan.frames:
        frame_from_base = head_motion(fp.head, centre)
        canvas = warp_source(
            face.source_rgb, compose(frame_from_base, face.frame_from_source), (width, height)
        ).astype(np.float32)
        eyes: dict[str, Any] = {}
        for side in SIDES:
            canvas, eyes[side] = _blend_eye(
                canvas,
                setups[side],
                face,
                frame_from_base,
                fp.gaze_x,
                fp.gaze_y,
                fp.upper_lid_open[side],
            )
        canvas = _degrade(canvas, fp.blur, spec, fp.index)
        frame = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
        yield frame, frame_record(fp, frame_from_base, eyes)


def _blend_eye(
    canvas: np.ndarray,
    setup: _EyeSetup,
    face: PhantomFace,
    frame_from_base: np.ndarray,
    gaze_x: float,
    gaze_y: float,
    upper_lid_open: float,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Render one eye for the frame, warp it into ``canvas`` (frame px) and give its truth."""
    import cv2

    _, _, render_eye = _renderer()
    width, height = face.frame_size_px
    params = _eye_params(setup.params, gaze_x=gaze_x, gaze_y=gaze_y, upper_lid_open=upper_lid_open)
    eye = render_eye(params, width_px=CROP_WIDTH_PX, height_px=CROP_HEIGHT_PX)
    frame_from_crop = compose(frame_from_base, _base_from_crop(eye.truth, face, setup.side))
    per_crop = similarity_scale(frame_from_crop)
    # Low-pass before shrinking (about 1/5 in the default video) so the phantom
    # does not alias, and a little more so it is as soft as the enlarged photo.
    sigma_crop = math.hypot(0.5, _PHANTOM_SOFTNESS_PX) / per_crop
    phantom = cv2.GaussianBlur(np.asarray(eye.image), (0, 0), sigma_crop)
    warped = cv2.warpAffine(
        phantom.astype(np.float32),
        frame_from_crop,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    alpha = cv2.warpAffine(
        setup.alpha_crop,
        frame_from_crop,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )[..., None]
    canvas = canvas * (1.0 - alpha) + warped * alpha
    return canvas, eye_truth(eye.truth, frame_from_crop, upper_lid_open)


def _degrade(
    canvas: np.ndarray, blur: dict[str, Any] | None, spec: SynthVideoSpec, index: int
) -> np.ndarray:
    """The frame's planned blur, then its sensor noise (seeded by the frame index)."""
    import cv2

    if blur is not None:
        canvas = cv2.filter2D(canvas, -1, _blur_kernel(blur), borderType=cv2.BORDER_REFLECT101)
    if spec.noise_sigma > 0:
        noise_rng = np.random.default_rng([spec.seed, 0x401, index])
        canvas = canvas + noise_rng.normal(0.0, spec.noise_sigma, canvas.shape).astype(np.float32)
    return canvas
