"""Hand-made measurement rows for the report tests (values chosen to be checked by hand)."""

from __future__ import annotations

import math

from ocularseg.core.records import EyeRow
from ocularseg.stages.measure import MEASUREMENT_COLUMNS

NAN = math.nan


def make_row(
    input_name: str,
    frame_index: int,
    timestamp_s: float,
    side: str,
    *,
    mode: str = "keyframes",
    blink: bool = False,
    flags: str = "",
    gates_failed: str = "",
    **values: float,
) -> dict:
    """One measurement row as the pipeline writes it; unspecified measurements are NaN."""
    row = {
        "input": input_name,
        "frame_index": frame_index,
        "timestamp_s": timestamp_s,
        "side": side,
        "mode": mode,
        "sharpness": 120.0,
        "ear": 0.3,
        "blink": blink,
        "quality": 0.95,
        "mirror_agreement": 0.97,
        "outline_agreement": 0.95,
        "flags": flags,
        "gates_failed": gates_failed,
        "overlay": f"overlays/{input_name}_{frame_index}_{side}.png",
    }
    row.update(dict.fromkeys(MEASUREMENT_COLUMNS, NAN))
    row["iris_diameter_mm"] = 11.7
    unknown = set(values) - set(MEASUREMENT_COLUMNS)
    if unknown:
        raise KeyError(f"not measurement columns: {unknown}")
    row.update(values)
    return row


#: (MRD1 mm, blink, flags) per key frame of 'a.mp4', as ``keyframe_rows`` tabulates them.
_KEYFRAME_RIGHT = [
    (4.0, False, ""),
    (3.8, False, ""),
    (4.2, False, ""),
    (0.5, True, ""),
    (4.0, False, ""),
]
_KEYFRAME_LEFT = [
    (1.6, False, ""),
    (1.4, False, ""),
    (NAN, False, "at_border"),
    (0.2, True, ""),
    (NAN, False, "eye_closed;iris_not_found"),
]


def keyframe_rows() -> list[dict]:
    """'a.mp4', key frames. Right eye MRD1 ~4 mm, left ~1.5 mm (left ptotic).

    frame  t(s)  right MRD1        left MRD1
    0      0.0   4.0               1.6
    1      1.0   3.8               1.4
    2      2.0   4.2               NaN (at_border: usable, value skipped)
    3      3.0   0.5  blink        0.2  blink          -> excluded
    4      4.0   4.0               NaN eye_closed;iris_not_found -> excluded
    Right: median 4.0, q25 3.95, q75 4.05, slope 0.2 / 8.75 mm/s over t = 0, 1, 2, 4.
    Left: median 1.5 (n = 2), q25 1.45, q75 1.55; 2 points -> no slope.
    """
    rows = []
    for frame, ((r_mrd1, r_blink, r_flags), (l_mrd1, l_blink, l_flags)) in enumerate(
        zip(_KEYFRAME_RIGHT, _KEYFRAME_LEFT, strict=True)
    ):
        rows.append(
            make_row(
                "a.mp4",
                frame,
                float(frame),
                "right",
                blink=r_blink,
                flags=r_flags,
                mrd1_mm=r_mrd1,
                mrd1_px=r_mrd1 * 10,
                mrd2_mm=5.0,
                fissure_height_mm=10.0,
                visible_iris_fraction=0.95,
                iris_cx_px=240.0,
                iris_cy_px=160.0,
                iris_radius_px=60.0,
            )
        )
        rows.append(
            make_row(
                "a.mp4",
                frame,
                float(frame),
                "left",
                blink=l_blink,
                flags=l_flags,
                mrd1_mm=l_mrd1,
                mrd2_mm=5.0,
                fissure_height_mm=8.0,
                visible_iris_fraction=0.6,
            )
        )
    return rows


def timeseries_rows(n_frames: int = 21, step_s: float = 1.0) -> list[dict]:
    """'b.mp4', time series: right MRD1 = 4 − 0.15 t (drooping), left steady 4.0 mm."""
    rows = []
    for frame in range(n_frames):
        t = frame * step_s
        rows.append(make_row("b.mp4", frame, t, "right", mode="timeseries", mrd1_mm=4.0 - 0.15 * t))
        rows.append(make_row("b.mp4", frame, t, "left", mode="timeseries", mrd1_mm=4.0))
    return rows


_LEAD = (
    "input",
    "frame_index",
    "timestamp_s",
    "side",
    "mode",
    "blink",
    "sharpness",
    "ear",
    "quality",
    "mirror_agreement",
    "outline_agreement",
)


def eye_row(row) -> EyeRow:
    """A dict row of this module (flags and gates ``;``-joined) as a typed ``EyeRow``;
    keys that are not fields or measurement columns are left out."""
    if isinstance(row, EyeRow):
        return row
    names = lambda v: tuple(n for n in str(v or "").split(";") if n)  # noqa: E731
    return EyeRow(
        **{k: row[k] for k in _LEAD},
        flags=names(row.get("flags")),
        gates_failed=names(row.get("gates_failed")),
        values={k: float(row.get(k, NAN)) for k in MEASUREMENT_COLUMNS},
        cleaned=bool(row.get("cleaned", True)),
        landmark_gate_removed_px=int(row.get("landmark_gate_removed_px", 0)),
        overlay=str(row.get("overlay") or ""),
    )


def measurements_frame_of(rows, columns=MEASUREMENT_COLUMNS):
    """``report.tables.measurements_frame`` of dict rows (through :func:`eye_row`)."""
    from ocularseg.report.tables import measurements_frame

    return measurements_frame([eye_row(r) for r in rows], columns)
