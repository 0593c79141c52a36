"""``ocularseg synth-video``: a phantom face video with exact per-frame ground truth."""

from __future__ import annotations

from pathlib import Path

import typer

#: The command's help, one string per paragraph (Rich keeps hard line breaks as they are).
HELP = (
    "Render a phantom face video with exact per-frame ground truth, for testing the "
    "pipeline end to end.\n\n"
    "The astronaut photograph (NASA, public domain, shipped with scikit-image) gets phantom "
    "eyes at dlib's landmarks; the head sways, the gaze moves, she blinks once, a few "
    "frames are blurred, and the patient's LEFT upper lid droops slowly (a fatigability "
    "test) while the RIGHT eye stays steady.\n\n"
    "Beside FILE.mp4, FILE.json holds per frame and eye: MRD1/MRD2, visible iris fraction, "
    "iris circle, lid curves and canthi in frame px, and the blink/blur flags."
)


def register(app: typer.Typer) -> None:
    """Add the ``synth-video`` command to ``app``."""
    app.command("synth-video", help=HELP)(synth_video)


def synth_video(
    out: Path = typer.Option(
        ...,
        "--out",
        help="Video to write (.mp4); the ground truth goes beside it with .json.",
        dir_okay=False,
    ),
    seconds: float = typer.Option(8.0, "--seconds", help="Duration in seconds (> 0)."),
    fps: float = typer.Option(15.0, "--fps", help="Frames per second (> 0, at most 120)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice (>= 0)."),
    size: int = typer.Option(
        640, "--size", help="Frame width and height in px (square frame, 128–2048)."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing video and ground-truth file."
    ),
) -> None:
    """Write a phantom face video and its ground truth (help text: ``HELP``)."""
    from ocularseg.synth.motion import SynthVideoSpec
    from ocularseg.synth.video import write_synth_video
    from ocularseg.synth.video_truth import ground_truth_path

    spec = SynthVideoSpec(seconds=seconds, fps=fps, seed=seed, frame_size_px=(size, size))
    write_synth_video(out, spec, overwrite=overwrite)
    size_mb = out.stat().st_size / 1e6
    typer.echo(
        f"wrote {out} ({spec.frame_count} frames, {spec.frame_count / spec.fps:.2f} s at "
        f"{spec.fps:g} fps, {size_mb:.2f} MB) and {ground_truth_path(out)}"
    )
