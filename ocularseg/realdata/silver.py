"""Silver labels for real eye crops from the teacher's landmarks (MediaPipe Face Mesh + iris).

The teacher knows two things about a real eye: the eyelid contour (16 points per eye, upper
and lower lid from corner to corner) and the iris circle (centre + 4 limbus points). From
them a silver label map in crop px is drawn with the partial labels of
:class:`~ocularseg.core.labels.PartialLabel`:

* ``0`` (background): outside the lid contour;
* ``IRIS_DISC`` (iris or pupil): inside the contour and inside the iris circle;
* ``OPENING_NOT_DISC`` (sclera or caruncle): inside the contour, outside the circle.

It says nothing about the pupil or about where the caruncle ends; the partial-label loss
supervises only what the teacher knows. Each lid is a centripetal Catmull-Rom curve through
its nine points (corner to corner), so the opening is not a 16-gon with kinks.

Checks (:func:`teacher_eye_problems`) drop eyes where the teacher and dlib disagree (a
different face, a failed fit) or where the geometry is not an adult's eye; each problem is
named so the build report can count them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocularseg.core.errors import DataError
from ocularseg.core.labels import PartialLabel
from ocularseg.data.eye_meta import RealEyeMeta, TeacherGeometry

#: MediaPipe Face Mesh eye rings per patient side (the patient's right eye is on the image
#: left in a frontal, unmirrored photo). Upper lid: outer corner → inner corner; lower lid:
#: inner corner → outer corner. Each list holds its two corners.
MP_UPPER_LID: dict[str, tuple[int, ...]] = {
    "right": (33, 246, 161, 160, 159, 158, 157, 173, 133),
    "left": (263, 466, 388, 387, 386, 385, 384, 398, 362),
}
MP_LOWER_LID: dict[str, tuple[int, ...]] = {
    "right": (133, 155, 154, 153, 145, 144, 163, 7, 33),
    "left": (362, 382, 381, 380, 374, 373, 390, 249, 263),
}
#: The two iris groups of the refined mesh (centre, then four limbus points). Which group
#: belongs to which eye is decided by distance (:func:`teacher_eye`), not assumed.
MP_IRIS_GROUPS: tuple[tuple[int, ...], tuple[int, ...]] = (
    (468, 469, 470, 471, 472),
    (473, 474, 475, 476, 477),
)
MP_NUM_POINTS = 478

#: dlib 68-point indices of each eye's (outer, inner) corner, matching MediaPipe's corners
#: (33, 133) / (263, 362).
DLIB_CORNERS: dict[str, tuple[int, int]] = {"right": (36, 39), "left": (45, 42)}


@dataclass(frozen=True)
class TeacherEye:
    """The teacher's view of one eye, in one coordinate system (frame px or crop px).

    Attributes:
        upper_lid: (9, 2) points, outer corner → inner corner.
        lower_lid: (9, 2) points, inner corner → outer corner.
        iris_centre: (2,) iris centre (x, y).
        iris_radius: mean distance of the four limbus points from the centre.
    """

    upper_lid: np.ndarray
    lower_lid: np.ndarray
    iris_centre: np.ndarray
    iris_radius: float

    @classmethod
    def from_geometry(cls, teacher: TeacherGeometry) -> TeacherEye:
        """The eye stored in a real eye's metadata (crop px; ``data.eye_meta``).

        Raises:
            DataError: the metadata holds no lids.
        """
        if teacher.upper_lid_crop_px is None or teacher.lower_lid_crop_px is None:
            raise DataError("the teacher's lids are not in the metadata")
        return cls(
            upper_lid=np.asarray(teacher.upper_lid_crop_px, float),
            lower_lid=np.asarray(teacher.lower_lid_crop_px, float),
            iris_centre=np.asarray(teacher.iris_centre_crop_px, float),
            iris_radius=float(teacher.iris_radius_crop_px),
        )

    @classmethod
    def from_meta(cls, meta: RealEyeMeta, where: str = "metadata") -> TeacherEye:
        """The teacher's eye (crop px) of a real eye's metadata (``data.eye_meta``).

        Raises:
            DataError: naming ``where``: the metadata holds no teacher eye, or no lids.
        """
        if meta.teacher is None:
            raise DataError(f"{where}: no teacher eye in the metadata")
        try:
            return cls.from_geometry(meta.teacher)
        except DataError as exc:
            raise DataError(f"{where}: no teacher eye in the metadata ({exc})") from exc

    def geometry(self) -> TeacherGeometry:
        """This eye as stored in a real eye's metadata (its points must be crop px)."""
        return TeacherGeometry(
            upper_lid_crop_px=self.upper_lid.tolist(),
            lower_lid_crop_px=self.lower_lid.tolist(),
            iris_centre_crop_px=self.iris_centre.tolist(),
            iris_radius_crop_px=self.iris_radius,
        )

    def transformed(self, affine: np.ndarray) -> TeacherEye:
        """The same eye under a similarity ``affine`` (2, 3) (e.g. frame px → crop px)."""
        affine = np.asarray(affine, dtype=np.float64)
        linear, offset = affine[:, :2], affine[:, 2]
        scale = float(np.sqrt(abs(np.linalg.det(linear))))
        return TeacherEye(
            upper_lid=self.upper_lid @ linear.T + offset,
            lower_lid=self.lower_lid @ linear.T + offset,
            iris_centre=linear @ self.iris_centre + offset,
            iris_radius=self.iris_radius * scale,
        )

    @property
    def corners(self) -> np.ndarray:
        """(2, 2): outer corner, inner corner."""
        return np.stack([self.upper_lid[0], self.upper_lid[-1]])

    @property
    def corner_distance(self) -> float:
        """Canthus-to-canthus distance (same units as the points)."""
        outer, inner = self.corners
        return float(np.hypot(*(inner - outer)))

    def contour(self, samples_per_segment: int = 8) -> np.ndarray:
        """Closed lid contour (N, 2): the smoothed upper lid, then the smoothed lower lid."""
        upper = catmull_rom(self.upper_lid, samples_per_segment)
        lower = catmull_rom(self.lower_lid, samples_per_segment)
        return np.vstack([upper[:-1], lower[:-1]])


def teacher_eye(face_points: np.ndarray, side: str) -> TeacherEye:
    """One eye of a 478-point Face Mesh (frame px).

    Raises:
        ValueError: ``face_points`` is not (478, 2) or ``side`` is unknown.
    """
    points = np.asarray(face_points, dtype=np.float64)
    if points.shape != (MP_NUM_POINTS, 2):
        raise ValueError(f"teacher face must be ({MP_NUM_POINTS}, 2) points, got {points.shape}")
    if side not in MP_UPPER_LID:
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    upper = points[list(MP_UPPER_LID[side])]
    lower = points[list(MP_LOWER_LID[side])]
    eye_centre = np.vstack([upper, lower]).mean(axis=0)
    group = min(MP_IRIS_GROUPS, key=lambda g: float(np.hypot(*(points[g[0]] - eye_centre))))
    centre = points[group[0]]
    radius = float(np.mean(np.hypot(*(points[list(group[1:])] - centre).T)))
    return TeacherEye(upper, lower, centre, radius)


def catmull_rom(points: np.ndarray, samples_per_segment: int = 8) -> np.ndarray:
    """Centripetal Catmull-Rom curve through ``points`` (N, 2), ends included.

    Centripetal parametrisation (α = 0.5) neither overshoots nor forms cusps where points
    bunch up, as they do at the eye corners. Returns ((N − 1)·s + 1, 2) points.
    """
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 3:
        return pts.copy()
    # Mirror the end points so the curve starts and ends exactly at the corners.
    padded = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        t0 = 0.0
        t1 = t0 + max(np.hypot(*(p1 - p0)) ** 0.5, 1e-9)
        t2 = t1 + max(np.hypot(*(p2 - p1)) ** 0.5, 1e-9)
        t3 = t2 + max(np.hypot(*(p3 - p2)) ** 0.5, 1e-9)
        t = np.linspace(t1, t2, samples_per_segment, endpoint=False)[:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    out.append(pts[-1:])
    return np.vstack(out)


def fill_polygon(points: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W) mask of the pixels whose centres lie inside the polygon (N, 2).

    Sub-pixel vertices (OpenCV's ``shift`` of 4 bits = 1/16 px), pixel centres at integer
    coordinates as everywhere in ocularseg.
    """
    import cv2

    mask = np.zeros(shape_hw, np.uint8)
    fixed = np.round(np.asarray(points, dtype=np.float64) * 16).astype(np.int32)
    cv2.fillPoly(mask, [fixed.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


#: Radius, as a fraction of the eye width, around the inner corner outside the teacher's
#: contour that is left unlabelled (``PartialLabel.IGNORE``): MediaPipe's inner corner point
#: often sits on the caruncle, so part of the caruncle falls outside its contour and would
#: be taught as skin, against the phantoms' caruncle (a model trained so never predicted it).
CARUNCLE_IGNORE_FRAC = 0.12


def silver_label_map(
    eye: TeacherEye,
    shape_hw: tuple[int, int],
    caruncle_ignore_frac: float = CARUNCLE_IGNORE_FRAC,
) -> np.ndarray:
    """uint8 (H, W) partial label map of one eye (``eye`` in the map's pixel coordinates).

    Outside the contour within ``caruncle_ignore_frac`` × eye width of the inner corner the
    map holds ``PartialLabel.IGNORE`` (neither trained nor scored).
    """
    opening = fill_polygon(eye.contour(), shape_hw)
    rows, cols = np.indices(shape_hw)
    cx, cy = eye.iris_centre
    disc = (cols - cx) ** 2 + (rows - cy) ** 2 <= eye.iris_radius**2
    inner = eye.corners[1]
    near_inner = np.hypot(cols - inner[0], rows - inner[1]) <= (
        caruncle_ignore_frac * eye.corner_distance
    )
    labels = np.zeros(shape_hw, np.uint8)
    labels[near_inner] = PartialLabel.IGNORE
    labels[opening] = PartialLabel.OPENING_NOT_DISC
    labels[opening & disc] = PartialLabel.IRIS_DISC
    return labels


@dataclass(frozen=True)
class EyeCheckParams:
    """Thresholds that decide whether a teacher eye is trusted (ratios are dimensionless)."""

    #: Largest mean distance between dlib's two corners and the teacher's, as a fraction of
    #: the eye width: beyond it the two disagree about where the eye is.
    max_corner_disagreement: float = 0.2
    #: Visible iris diameter / canthus-to-canthus width in adults is about 0.40–0.55;
    #: a wider band tolerates the teacher's spread, outside it the iris fit failed.
    min_iris_to_width: float = 0.3
    max_iris_to_width: float = 0.7
    #: Opening height / width below this is a closed eye (kept, but not "open").
    closed_height_to_width: float = 0.1


def teacher_eye_problems(
    eye_crop: TeacherEye,
    dlib_corners_crop: np.ndarray,
    params: EyeCheckParams | None = None,
) -> list[str]:
    """Named reasons to distrust the teacher on this eye (empty = trusted).

    Args:
        eye_crop: the teacher's eye in crop px.
        dlib_corners_crop: (2, 2) dlib's (outer, inner) corners in crop px.
        params: thresholds.
    """
    p = params or EyeCheckParams()
    problems = []
    width = eye_crop.corner_distance
    if width <= 0:
        return ["teacher_degenerate"]
    disagreement = float(np.mean(np.hypot(*(eye_crop.corners - dlib_corners_crop).T))) / width
    if disagreement > p.max_corner_disagreement:
        problems.append("teacher_dlib_disagree")
    ratio = 2 * eye_crop.iris_radius / width
    if not p.min_iris_to_width <= ratio <= p.max_iris_to_width:
        problems.append("teacher_iris_implausible")
    return problems


def opening_height_to_width(eye_crop: TeacherEye) -> float:
    """Largest vertical extent of the lid contour / canthus width (closed eye ≈ 0)."""
    contour = eye_crop.contour()
    outer, inner = eye_crop.corners
    # Heights are measured across the corner line (the crop is roll-corrected already).
    direction = (inner - outer) / max(eye_crop.corner_distance, 1e-9)
    normal = np.array([-direction[1], direction[0]])
    across = (contour - outer) @ normal
    return float((across.max() - across.min()) / max(eye_crop.corner_distance, 1e-9))
