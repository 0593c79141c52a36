"""Key-frame selection: sharp, open-eyed frames spread over time and gaze.

Scores per candidate frame (all recorded in the report):

* ``sharpness``: variance of the Laplacian of the grey image inside the two eye regions
  (higher = sharper). Motion blur and defocus lower it.
* ``ear``: eye aspect ratio of the six dlib eye points, EAR = (|p2−p6| + |p3−p5|) / (2|p1−p4|),
  mean of both eyes. A blink drops it sharply. Landmark EAR under-reads the lid in ptotic eyes,
  so blinks are detected *relative to the video's own median EAR*, not with an absolute cut.
* ``gaze_x``, ``gaze_y``: a landmark-free gaze proxy: the centroid of the darkest pixels
  (iris/pupil) inside the eye polygon, relative to the eye's centre, in eye widths.

Selection: drop blinks and the blurriest frames, then pick ``n`` frames greedily so that each
new frame is as far as possible (in normalised time and gaze) from those already picked,
ties broken by sharpness. Every choice is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocularseg.core.containers import FaceLandmarks, Side


class KeyframeParams(BaseModel):
    """Key-frame selection settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    blink_ear_ratio: float = Field(
        0.7, gt=0, lt=1, description="a frame whose EAR is below this × the median EAR is a blink"
    )
    min_sharpness_ratio: float = Field(
        0.6, ge=0, lt=1, description="frames below this × the median sharpness are too blurred"
    )
    gaze_weight: float = Field(
        1.0, ge=0, description="weight of gaze diversity relative to time spread"
    )


@dataclass(frozen=True)
class FrameScores:
    """Quality scores of one candidate frame."""

    index: int
    timestamp_s: float
    sharpness: float
    ear: float
    gaze_x: float
    gaze_y: float


def eye_aspect_ratio(points: np.ndarray) -> float:
    """EAR of six eye points (6, 2) in dlib order p1..p6 (p1, p4 = corners)."""
    p1, p2, p3, p4, p5, p6 = points
    width = np.linalg.norm(p1 - p4)
    if width <= 0:
        return float("nan")
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2 * width))


def score_frame(
    index: int, timestamp_s: float, image: np.ndarray, face: FaceLandmarks
) -> FrameScores:
    """Sharpness, EAR and gaze proxy of one frame (RGB uint8 (H, W, 3), landmarks in frame px)."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    sharp, ears, gazes = [], [], []
    side: Side
    for side in ("right", "left"):
        pts = face.eye_points_px(side)
        ears.append(eye_aspect_ratio(pts))
        width = max(float(np.linalg.norm(pts[0] - pts[3])), 1.0)
        x0, y0 = np.floor(pts.min(axis=0) - 0.3 * width).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0) + 0.3 * width).astype(int)
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, grey.shape[1]), min(y1, grey.shape[0])
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        region = grey[y0:y1, x0:x1]
        sharp.append(float(cv2.Laplacian(region, cv2.CV_64F).var()))
        mask = np.zeros_like(region)
        cv2.fillPoly(mask, [np.round(pts - (x0, y0)).astype(np.int32)], 255)
        inside = region[mask > 0]
        if inside.size >= 10:
            dark = (region <= np.percentile(inside, 20)) & (mask > 0)
            ys, xs = np.nonzero(dark)
            centre = pts.mean(axis=0) - (x0, y0)
            gazes.append(((xs.mean() - centre[0]) / width, (ys.mean() - centre[1]) / width))
    gaze = np.mean(gazes, axis=0) if gazes else (0.0, 0.0)
    return FrameScores(
        index=index,
        timestamp_s=timestamp_s,
        sharpness=float(np.mean(sharp)) if sharp else 0.0,
        ear=float(np.nanmean(ears)) if ears else float("nan"),
        gaze_x=float(gaze[0]),
        gaze_y=float(gaze[1]),
    )


def usable_mask(scores: list[FrameScores], params: KeyframeParams | None = None) -> np.ndarray:
    """Boolean (N,): True for frames that are neither blinks nor much blurrier than usual."""
    p = params or KeyframeParams()
    if not scores:
        return np.zeros(0, bool)
    ear = np.array([s.ear for s in scores], float)
    sharp = np.array([s.sharpness for s in scores])
    # A frame without a finite EAR cannot be vouched for, even when no frame has one.
    ok = ~is_blink(scores, p) & np.isfinite(ear)
    return ok & (sharp >= p.min_sharpness_ratio * np.median(sharp))


def is_blink(scores: list[FrameScores], params: KeyframeParams | None = None) -> np.ndarray:
    """Boolean (N,): frames whose EAR is below ``blink_ear_ratio`` × the median EAR."""
    p = params or KeyframeParams()
    ear = np.array([s.ear for s in scores], float)
    if not len(ear) or not np.isfinite(ear).any():
        return np.zeros(len(ear), bool)
    return ~(ear >= p.blink_ear_ratio * np.nanmedian(ear))


def select_keyframes(
    scores: list[FrameScores], n: int, params: KeyframeParams | None = None
) -> list[int]:
    """Positions (into ``scores``) of up to ``n`` key frames, in time order."""
    p = params or KeyframeParams()
    if n < 1 or not scores:
        return []
    candidates = np.flatnonzero(usable_mask(scores, p))
    if not len(candidates):
        return []
    times = np.array([scores[i].timestamp_s for i in candidates])
    span = max(float(times.max() - times.min()), 1e-9)
    gaze = np.array([(scores[i].gaze_x, scores[i].gaze_y) for i in candidates])
    gaze_span = np.maximum(gaze.max(axis=0) - gaze.min(axis=0), 1e-9)
    features = np.column_stack([(times - times.min()) / span, p.gaze_weight * gaze / gaze_span])
    sharp = np.array([scores[i].sharpness for i in candidates])
    chosen = [int(np.argmax(sharp))]
    distance = np.linalg.norm(features - features[chosen[0]], axis=1)
    while len(chosen) < min(n, len(candidates)):
        # Farthest point first; sharpness (normalised to < 1e-3) only breaks near-ties.
        key = distance + 1e-3 * sharp / max(float(sharp.max()), 1e-9)
        key[chosen] = -np.inf
        pick = int(np.argmax(key))
        chosen.append(pick)
        distance = np.minimum(distance, np.linalg.norm(features - features[pick], axis=1))
    return sorted(int(candidates[i]) for i in chosen)
