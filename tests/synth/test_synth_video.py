"""Phantom face videos: geometry bookkeeping, schedule, files, ground truth and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from ocularseg.cli import synth_video_cmd
from ocularseg.cli.app import OcularsegGroup
from ocularseg.core.errors import ConfigError
from ocularseg.synth.affine import apply, compose, invert, similarity_from_points, similarity_scale
from ocularseg.synth.motion import HeadPose, SynthVideoSpec, head_motion, plan_video
from ocularseg.synth.video import count_video_frames, write_synth_video
from ocularseg.synth.video_truth import ground_truth_path, read_ground_truth

# (src points, dst points, expected scale, expected rotation in degrees)
SIMILARITY_CASES = [
    ([[0, 0], [10, 0]], [[5, 5], [25, 5]], 2.0, 0.0),
    ([[0, 0], [10, 0]], [[0, 0], [0, 10]], 1.0, 90.0),
    ([[100, 50], [300, 50]], [[20, 30], [40, 30]], 0.1, 0.0),
    ([[1, 1], [2, 2]], [[0, 0], [-1, 1]], 1.0, 90.0),
]

#: A short, small video keeps the module's runtime low (16 frames, two eyes each).
SHORT = SynthVideoSpec(seconds=2.0, fps=8.0, seed=3, frame_size_px=(480, 480))


@pytest.mark.parametrize(("src", "dst", "scale", "angle"), SIMILARITY_CASES)
def test_similarity_maps_both_points_exactly(src, dst, scale, angle):
    m = similarity_from_points(np.array(src, float), np.array(dst, float))
    np.testing.assert_allclose(apply(m, np.array(src, float)), dst, atol=1e-9)
    assert similarity_scale(m) == pytest.approx(scale)
    assert math.degrees(math.atan2(m[1, 0], m[0, 0])) == pytest.approx(angle)


def test_similarity_refuses_coincident_points():
    with pytest.raises(ConfigError, match="coincident"):
        similarity_from_points(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([[0, 0], [1, 0]]))


def test_compose_and_invert_round_trip():
    a = similarity_from_points(np.array([[0, 0], [1, 0]]), np.array([[3, 4], [3, 6]]))
    b = head_motion(HeadPose(2.0, -1.0, 3.0, 1.02), np.array([100.0, 80.0]))
    p = np.array([[10.0, 20.0], [-5.0, 7.0]])
    np.testing.assert_allclose(apply(compose(a, b), p), apply(a, apply(b, p)), atol=1e-9)
    np.testing.assert_allclose(apply(invert(b), apply(b, p)), p, atol=1e-9)


def test_head_motion_keeps_the_centre_when_not_shifted():
    centre = np.array([200.0, 150.0])
    m = head_motion(HeadPose(0.0, 0.0, 4.0, 1.03), centre)
    np.testing.assert_allclose(apply(m, centre), centre, atol=1e-9)
    assert similarity_scale(m) == pytest.approx(1.03)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seconds": 0.0}, "--seconds"),
        ({"seconds": -1.0}, "--seconds"),
        ({"fps": 0.0}, "--fps"),
        ({"fps": -5.0}, "--fps"),
        ({"fps": 500.0}, "--fps"),
        ({"seconds": 1.0, "fps": 5.0}, "at least 12"),
        ({"seed": -1}, "--seed"),
        ({"frame_size_px": (64, 64)}, "outside 128"),
        ({"upper_lid_open_droop_end": 1.5}, r"\[0, 1\]"),
    ],
)
def test_spec_rejects_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SynthVideoSpec(**kwargs)


def test_plan_is_deterministic_and_has_one_blink_and_blurred_frames():
    a, b = plan_video(SHORT), plan_video(SHORT)
    assert a == b
    blink = [f.index for f in a.frames if f.blink]
    assert blink and blink == list(range(blink[0], blink[-1] + 1))  # one contiguous blink
    assert min(f.upper_lid_open["left"] for f in a.frames) == 0.0
    blurred = [f.index for f in a.frames if f.blur is not None]
    assert len(blurred) >= 2 and not set(blurred) & set(blink)
    other = plan_video(SynthVideoSpec(seconds=2.0, fps=8.0, seed=4, frame_size_px=(480, 480)))
    assert other != a


# ------------------------------------------------------------------ the rendered video


@pytest.fixture(scope="module")
def short_video(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth_video") / "short.mp4"
    gt = write_synth_video(out, SHORT)
    return out, gt


def _decoded_frames(path: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def _slope(t: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(t, y, 1)[0])


@pytest.mark.slow
def test_video_reads_back_with_frame_count_and_fps(short_video):
    import cv2

    out, gt = short_video
    cap = cv2.VideoCapture(str(out))
    assert cap.isOpened()
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(SHORT.fps, rel=1e-3)
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 480
    assert int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == 480
    cap.release()
    assert count_video_frames(out) == SHORT.frame_count == 16
    assert gt["video"]["frame_count"] == 16 and gt["video"]["fps"] == SHORT.fps
    assert [f["index"] for f in gt["frames"]] == list(range(16))
    assert gt["frames"][5]["timestamp_s"] == pytest.approx(5 / 8)


def test_ground_truth_file_is_written_beside_the_video(short_video):
    out, gt = short_video
    on_disk = read_ground_truth(ground_truth_path(out))
    assert on_disk == json.loads(json.dumps(gt))
    assert on_disk["source"]["licence"].startswith("public domain")
    assert on_disk["video"]["seed"] == SHORT.seed
    assert on_disk["schedule"]["droop"]["side"] == "left"
    assert len(on_disk["base_landmarks_px"]) == 68
    eye = on_disk["frames"][0]["eyes"]["right"]
    for key in (
        "mrd1_px",
        "mrd2_px",
        "visible_iris_fraction",
        "iris_center_px",
        "iris_radius_px",
        "eye_closed",
        "upper_lid_px",
        "crop_from_frame",
    ):
        assert key in eye
    assert not list(out.parent.glob(".*tmp*"))  # no temporary files left behind


def test_same_seed_gives_identical_files(short_video, tmp_path):
    out, _ = short_video
    again = tmp_path / "again.mp4"
    write_synth_video(again, SHORT)
    assert ground_truth_path(again).read_text().replace("again.mp4", "short.mp4") == (
        ground_truth_path(out).read_text()
    )
    first, second = _decoded_frames(out), _decoded_frames(again)
    assert len(first) == len(second) == SHORT.frame_count
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_left_lid_droops_while_right_stays_steady(short_video):
    _, gt = short_video
    frames = [f for f in gt["frames"] if not f["blink"]]
    t = np.array([f["timestamp_s"] for f in frames])
    left = np.array([f["eyes"]["left"]["mrd1_px"] for f in frames])
    right = np.array([f["eyes"]["right"]["mrd1_px"] for f in frames])
    left_slope, right_slope = _slope(t, left), _slope(t, right)
    assert left_slope < 0
    assert left[-1] < left[0] - 0.25 * right.mean()  # a clinically visible drop
    assert abs(right_slope) < 0.15 * abs(left_slope)
    vif = np.array([f["eyes"]["left"]["visible_iris_fraction"] for f in frames])
    assert vif[-1] < vif[0]


def test_blink_frames_are_flagged_and_closed_for_both_eyes(short_video):
    _, gt = short_video
    closed = [
        f["index"]
        for f in gt["frames"]
        if f["eyes"]["right"]["eye_closed"] and f["eyes"]["left"]["eye_closed"]
    ]
    blink = [f["index"] for f in gt["frames"] if f["blink"]]
    assert closed and set(closed) <= set(blink)
    assert blink == list(range(blink[0], blink[-1] + 1))
    assert not any(
        f["eyes"][s]["eye_closed"]
        for f in gt["frames"]
        if not f["blink"]
        for s in ("right", "left")
    )


def test_blurred_frames_are_flagged_and_blurrier(short_video):
    import cv2

    out, gt = short_video
    frames = _decoded_frames(out)
    blurred = {f["index"] for f in gt["frames"] if f["blurred"]}
    assert len(blurred) >= 2
    assert all(gt["frames"][i]["blur"]["kind"] in ("motion", "defocus") for i in blurred)

    def sharpness(i: int) -> float:
        # Variance of the Laplacian over the eye region, as key-frame selection scores it.
        eyes = gt["frames"][i]["eyes"]
        corners = np.array(
            [
                eyes[s][k]
                for s in ("right", "left")
                for k in ("lateral_canthus_px", "medial_canthus_px")
            ]
        )
        (x0, y0), (x1, y1) = corners.min(axis=0) - 15, corners.max(axis=0) + 15
        grey = cv2.cvtColor(frames[i], cv2.COLOR_RGB2GRAY)[int(y0) : int(y1), int(x0) : int(x1)]
        return float(cv2.Laplacian(grey, cv2.CV_64F).var())

    for i in blurred:
        neighbours = [
            j
            for j in (i - 2, i - 1, i + 1, i + 2)
            if 0 <= j < len(frames) and j not in blurred and not gt["frames"][j]["blink"]
        ]
        assert sharpness(i) < 0.7 * np.mean([sharpness(j) for j in neighbours])


def test_ground_truth_matches_the_pixels(short_video):
    """The pupil centre in the GT is dark in the decoded frame; the canthi sit on landmarks."""
    out, gt = short_video
    frames = _decoded_frames(out)
    base = np.array(gt["base_landmarks_px"])
    for f in gt["frames"]:
        m = np.array(f["frame_from_base"])
        for side, (lateral, medial) in {"right": (36, 39), "left": (45, 42)}.items():
            eye = f["eyes"][side]
            np.testing.assert_allclose(
                eye["lateral_canthus_px"], apply(m, base[lateral]), atol=0.01
            )
            np.testing.assert_allclose(eye["medial_canthus_px"], apply(m, base[medial]), atol=0.01)
            if f["blink"] or f["blurred"] or eye["visible_iris_fraction"] < 0.5:
                continue
            x, y = (int(round(v)) for v in eye["pupil_center_px"])
            skin = frames[f["index"]][int(round(y + 2.5 * eye["iris_radius_px"])), x]
            assert frames[f["index"]][y, x].mean() < 0.5 * skin.mean()


def test_dlib_finds_the_landmarks_where_the_eyes_were_placed(short_video):
    """dlib re-finds the canthi on rendered frames close to where the phantoms were put.

    The eye here is about 45 frame px wide; dlib's shape prior puts the canthi of the
    phantom eyes 2–4 px lower than on the photograph's own eyes, so the bound is loose.
    """
    from ocularseg.synth.face import detect_face_landmarks

    out, gt = short_video
    frames = _decoded_frames(out)
    errors = []
    for f in gt["frames"][::2]:
        if f["blink"] or f["blurred"]:
            continue
        found = detect_face_landmarks(frames[f["index"]], upsample=0).points_px
        for side, (lateral, medial) in {"right": (36, 39), "left": (45, 42)}.items():
            eye = f["eyes"][side]
            errors.append(np.hypot(*(found[lateral] - eye["lateral_canthus_px"])))
            errors.append(np.hypot(*(found[medial] - eye["medial_canthus_px"])))
    assert len(errors) >= 4 * 4
    assert np.mean(errors) < 4.0 and np.max(errors) < 7.0


# ------------------------------------------------------------------ CLI


def _cli_app() -> typer.Typer:
    app = typer.Typer(cls=OcularsegGroup)

    @app.callback()
    def _root() -> None:
        """Test app."""

    synth_video_cmd.register(app)
    return app


@pytest.mark.slow
def test_cli_writes_video_and_ground_truth_and_refuses_to_overwrite(tmp_path):
    runner = CliRunner()
    out = tmp_path / "x.mp4"
    args = ["synth-video", "--out", str(out), "--seconds", "1", "--fps", "12", "--size", "256"]
    result = runner.invoke(_cli_app(), args)
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "x.json").is_file()
    assert "12 frames" in result.output
    before = out.read_bytes()

    again = runner.invoke(_cli_app(), args)
    assert again.exit_code == 2
    assert str(out) in again.output and "--overwrite" in again.output
    assert out.read_bytes() == before

    replaced = runner.invoke(_cli_app(), [*args, "--seed", "1", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert json.loads((tmp_path / "x.json").read_text())["video"]["seed"] == 1


@pytest.mark.parametrize(
    "bad",
    [
        ["--fps", "0"],
        ["--fps", "-3"],
        ["--seconds", "0"],
        ["--seconds", "-2"],
        ["--size", "32"],
        ["--seconds", "abc"],
    ],
)
def test_cli_rejects_bad_options(tmp_path, bad):
    out = tmp_path / "y.mp4"
    result = CliRunner().invoke(_cli_app(), ["synth-video", "--out", str(out), *bad])
    assert result.exit_code == 2, result.output
    assert not out.exists() and not (tmp_path / "y.json").exists()


def test_cli_rejects_a_non_mp4_target(tmp_path):
    result = CliRunner().invoke(_cli_app(), ["synth-video", "--out", str(tmp_path / "v.avi")])
    assert result.exit_code == 2
    assert "v.avi" in result.output


@pytest.mark.slow
def test_default_video_is_small_and_droops(tmp_path):
    out = tmp_path / "default.mp4"
    gt = write_synth_video(out, SynthVideoSpec())
    assert out.stat().st_size < 3_000_000
    assert count_video_frames(out) == SynthVideoSpec().frame_count == 120
    frames = [f for f in gt["frames"] if not f["blink"]]
    t = np.array([f["timestamp_s"] for f in frames])
    left = _slope(t, np.array([f["eyes"]["left"]["mrd1_px"] for f in frames]))
    right = _slope(t, np.array([f["eyes"]["right"]["mrd1_px"] for f in frames]))
    assert left < 0 and abs(right) < 0.15 * abs(left)
    assert ground_truth_path(out).stat().st_size < 1_000_000
