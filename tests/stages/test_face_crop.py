"""Face and crop stages on a real face: scikit-image's astronaut photograph (public domain)."""

from __future__ import annotations

import numpy as np
import pytest

from ocularseg.core.containers import CROP_HEIGHT_PX, CROP_WIDTH_PX, FaceLandmarks
from ocularseg.core.errors import DetectionError
from ocularseg.stages.crop import CropParams, crop_eye, crop_geometry
from ocularseg.stages.face import FaceDetector, FaceParams
from ocularseg.stages.keyframes import FrameScores, eye_aspect_ratio, select_keyframes


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def test_both_eyes_found_on_the_astronaut(detector, astronaut):
    face = detector.detect(astronaut)
    assert face.faces_found == 1
    right, left = face.eye_points_px("right"), face.eye_points_px("left")
    # The patient's right eye is on the image's left in a frontal photograph.
    assert right[:, 0].mean() < left[:, 0].mean()
    left_box, top, right_box, bottom = face.box_px
    for eye in (right, left):
        assert np.all((eye[:, 0] > left_box) & (eye[:, 0] < right_box))
        assert np.all((eye[:, 1] > top) & (eye[:, 1] < bottom))


@pytest.mark.parametrize("side", ["right", "left"])
def test_crop_contains_the_eye_landmarks_with_margin(detector, astronaut, side):
    face = detector.detect(astronaut)
    crop = crop_eye(astronaut, face, side)
    assert crop.image.shape == (CROP_HEIGHT_PX, CROP_WIDTH_PX, 3)
    pts = face.eye_points_px(side)
    in_crop = pts @ crop.crop_from_frame[:, :2].T + crop.crop_from_frame[:, 2]
    # All six eye points inside the crop, at least 15 % of the width from its sides.
    assert np.all(in_crop[:, 0] > 0.15 * CROP_WIDTH_PX) and np.all(
        in_crop[:, 0] < 0.85 * CROP_WIDTH_PX
    )
    assert np.all(in_crop[:, 1] > 0.2 * CROP_HEIGHT_PX) and np.all(
        in_crop[:, 1] < 0.8 * CROP_HEIGHT_PX
    )
    # The eye is darker in the middle of the crop than the skin at its corners.
    grey = crop.image.mean(axis=2)
    assert grey[130:190, 180:300].mean() < grey[:40, :60].mean()
    # The astronaut's face is small: the crop is flagged so the report can say so.
    assert "too_small" in crop.flags


def test_roll_is_corrected():
    points = np.zeros((68, 2))
    angle = np.deg2rad(12)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    eye = np.array([[0, 0], [10, -4], [20, -4], [30, 0], [20, 4], [10, 4]], float)
    points[36:42] = eye @ rotation.T + (200, 200)
    points[42:48] = (eye + (60, 0)) @ rotation.T + (200, 200)
    face = FaceLandmarks(points, (150, 150, 300, 300), 1.0)
    matrix, scale, width = crop_geometry(face, "right", CropParams())
    corners = points[[36, 39]] @ matrix[:, :2].T + matrix[:, 2]
    assert corners[0, 1] == pytest.approx(corners[1, 1], abs=1e-9)  # horizontal after roll
    assert width == pytest.approx(30 * 1.8)
    assert scale == pytest.approx(CROP_WIDTH_PX / width)


def test_eye_at_the_frame_border_is_flagged(detector, astronaut):
    face = detector.detect(astronaut)
    shifted = FaceLandmarks(face.points_px - face.points_px[36] + (3, 200), face.box_px, 1.0)
    assert "at_border" in crop_eye(astronaut, shifted, "right").flags


def test_no_face_is_a_detection_error(detector):
    from skimage import data

    with pytest.raises(DetectionError, match="no face"):
        detector.detect(np.ascontiguousarray(data.coffee()))


def test_ear_of_open_and_closed_eye():
    open_eye = np.array([[0, 0], [10, -5], [20, -5], [30, 0], [20, 5], [10, 5]], float)
    closed = open_eye * (1, 0.1)
    assert eye_aspect_ratio(open_eye) == pytest.approx(10 / 30)
    assert eye_aspect_ratio(closed) < 0.05


def test_keyframes_skip_blinks_and_spread_over_time():
    scores = [FrameScores(i, i * 0.5, 100.0, 0.3, 0.0, 0.0) for i in range(20)]
    scores[5] = FrameScores(5, 2.5, 100.0, 0.05, 0.0, 0.0)  # blink
    scores[6] = FrameScores(6, 3.0, 5.0, 0.3, 0.0, 0.0)  # blurred
    chosen = select_keyframes(scores, 4)
    assert len(chosen) == 4 and 5 not in chosen and 6 not in chosen
    times = [scores[i].timestamp_s for i in chosen]
    assert times[0] <= 1.0 and times[-1] >= 8.5  # both ends of the video are covered
    assert select_keyframes(scores, 4) == chosen  # deterministic


def test_several_faces_take_the_highest_scoring_detection(detector, astronaut):
    import cv2

    # The astronaut beside a half-size copy of herself. dlib scores the original ≈ 1.5 and
    # gives the copy a weak (≈ 0.02) but *larger* box: the detection to trust is the
    # highest-scoring one, not the largest. So weak a box is no second face to warn about.
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((512, 800, 3), np.uint8)
    canvas[:, :512] = astronaut
    canvas[128:384, 530:786] = small
    face = detector.detect(canvas)
    boxes, scores, _ = detector._detector.run(canvas, 0, detector.params.min_score)
    assert len(boxes) == 2
    assert face.detector_score == pytest.approx(max(scores))
    assert face.box_px[2] < 512  # the original's box, not the copy's larger weak one
    assert face.faces_found == 1


def test_two_real_people_side_by_side_count_as_two_faces(detector, astronaut):
    import cv2

    big = cv2.resize(astronaut, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    face = detector.detect(np.hstack([big, big]))
    assert face.faces_found == 2


# (other score, other width, best score, best width, counts): the sample video's hair box
# scores 0.06 beside the face's 0.86 and is a quarter as wide.
SECOND_FACE_CASES = [
    (0.062, 73.0, 0.861, 311.0, False),
    (0.5, 311.0, 0.861, 311.0, True),
    (0.43, 311.0, 0.861, 311.0, False),  # just under half the best score
    (0.8, 110.0, 0.861, 311.0, True),  # a person further back: a third of the width
    (0.8, 90.0, 0.861, 311.0, False),
    (0.8, 300.0, 0.0, 311.0, True),  # a best score of 0 (the default floor) sets no floor
]


@pytest.mark.parametrize(
    ("score", "width", "best_score", "best_width", "counts"), SECOND_FACE_CASES
)
def test_second_face_needs_a_comparable_score_and_size(
    score, width, best_score, best_width, counts
):
    params = FaceParams()
    assert params.counts_as_second_face(score, width, best_score, best_width) is counts


@pytest.mark.slow
def test_the_hair_of_the_sample_video_is_no_second_face(detector, repo_root):
    from ocularseg.io.video import iter_frames

    # dlib finds a faint "face" in the hair of frame 112 next to the patient's.
    video = repo_root / "sample_data" / "phantom_video.mp4"
    (frame,) = [f for f in iter_frames(video) if f.index == 112]
    boxes, _, _ = detector._detector.run(frame.image, 0, detector.params.min_score)
    assert len(boxes) == 2
    assert detector.detect(frame.image).faces_found == 1


def test_a_face_width_hint_finds_the_same_face_faster_scale(detector, astronaut):
    import cv2

    big = cv2.resize(astronaut, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    first = detector.detect(big)
    width = first.box_px[2] - first.box_px[0]
    tracked = detector.detect(big, face_width_hint_px=width)
    # The same face: the eye landmarks agree to a few percent of the face width.
    shift = np.abs(tracked.points_px[36:48] - first.points_px[36:48]).max()
    assert shift < 0.05 * width
    # A hint far off the real size falls back to the default search and still finds it.
    fallback = detector.detect(big, face_width_hint_px=50 * width)
    assert np.abs(fallback.points_px - first.points_px).max() < 0.05 * width
