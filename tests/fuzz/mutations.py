"""Seeded mutations of LabelMe files and option files, for the fuzz test (and the audit).

Every random choice takes the ``numpy.random.Generator`` passed in, so a case is rebuilt
exactly from (seed, index). Mutations follow what the audit saw go wrong: wrong types, huge
or non-finite numbers, missing keys, deep nesting, truncated or foreign bytes, images whose
header lies about their size, thousands of vertices, labels that look like formulas.
"""

from __future__ import annotations

import base64
import copy
import json
import struct
import zlib
from typing import Any

import numpy as np

ODD_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**40,
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    "",
    "x",
    "=1+1",
    "\x00",
    [],
    {},
    [1, 2],
    {"a": 1},
    "9" * 300,
)
LABELS = ("sclera", "iris", "pupil", "caruncle", "White", "_background_", "lid", "=cmd", "")
SHAPE_TYPES = ("polygon", "circle", "ellipse", "rectangle", "mask", "line", "point", "blob", None)


def tiny_png(width: int = 48, height: int = 32, seed: int = 0) -> bytes:
    """A real, decodable RGB PNG of the given size."""
    rng = np.random.default_rng(seed)
    raw = b"".join(
        b"\0" + rng.integers(0, 255, width * 3, dtype=np.uint8).tobytes() for _ in range(height)
    )
    return _png(width, height, 2, zlib.compress(raw))


def header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height but whose data is a stub."""
    return _png(width, height, 2, zlib.compress(b"\0" * 16))


def _png(width: int, height: int, colour_type: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def base_labelme(embed: bool) -> dict[str, Any]:
    """A valid 48×32 annotation with one shape of each kind."""
    mask_png = _png(8, 8, 0, zlib.compress(b"".join(b"\0" + b"\xff" * 8 for _ in range(8))))
    return {
        "version": "5.4.1",
        "flags": {},
        "shapes": [
            {"label": "sclera", "points": [[2, 2], [40, 3], [44, 28], [3, 26]]},
            {"label": "iris", "shape_type": "circle", "points": [[22, 15], [30, 15]]},
            {"label": "pupil", "shape_type": "ellipse", "points": [[19, 12], [25, 18]]},
            {"label": "caruncle", "shape_type": "rectangle", "points": [[40, 12], [45, 18]]},
            {
                "label": "sclera",
                "shape_type": "mask",
                "points": [[1, 1], [9, 9]],
                "mask": base64.b64encode(mask_png).decode(),
            },
        ],
        "imagePath": "eye.png",
        "imageData": base64.b64encode(tiny_png()).decode() if embed else None,
        "imageHeight": 32,
        "imageWidth": 48,
    }


def _mutate_shape(shape: dict[str, Any], rng: np.random.Generator) -> None:
    choice = rng.integers(8)
    if choice == 0:
        shape["label"] = LABELS[rng.integers(len(LABELS))]
    elif choice == 1:
        shape["shape_type"] = SHAPE_TYPES[rng.integers(len(SHAPE_TYPES))]
    elif choice == 2:
        shape["points"] = ODD_VALUES[rng.integers(len(ODD_VALUES))]
    elif choice == 3:
        count = int(rng.choice([0, 1, 2, 5, 200, 12_000]))
        shape["points"] = rng.uniform(-10, 60, (count, 2)).tolist()
    elif choice == 4:
        scale = float(rng.choice([1e3, 1e7, 1e12, 1e300]))
        points = list(shape.get("points") or [[0, 0], [1, 1], [2, 0]])
        points[0] = [scale, -scale]
        shape["points"] = points
    elif choice == 5:
        shape["points"] = [["a", "b"], [1, None], [2, 3]]
    elif choice == 6:
        shape["mask"] = base64.b64encode(rng.bytes(int(rng.integers(0, 64)))).decode()
        shape["shape_type"] = "mask"
    else:
        shape.pop(str(rng.choice(["label", "points", "shape_type"])), None)


def mutate_labelme(doc: dict[str, Any], rng: np.random.Generator) -> dict[str, Any] | str:
    """A mutated copy of ``doc``, or raw text for mutations below the JSON level."""
    doc = copy.deepcopy(doc)
    for _ in range(int(rng.integers(1, 4))):
        choice = rng.integers(11)
        if choice <= 2 and isinstance(doc.get("shapes"), list) and doc["shapes"]:
            _mutate_shape(doc["shapes"][int(rng.integers(len(doc["shapes"])))], rng)
        elif choice == 3:
            key = str(rng.choice(["shapes", "imageHeight", "imageWidth", "imagePath", "imageData"]))
            doc[key] = ODD_VALUES[rng.integers(len(ODD_VALUES))]
        elif choice == 4:
            doc.pop(str(rng.choice(["shapes", "imageHeight", "imageWidth", "imagePath"])), None)
        elif choice == 5:
            side = int(rng.choice([1, 31, 33, 100_000, 2**31]))
            doc[str(rng.choice(["imageHeight", "imageWidth"]))] = side
        elif choice == 6:
            data = [
                header_only_png(32000, 32000),
                header_only_png(48, 32),
                tiny_png(50, 30),
                tiny_png()[:40],
                rng.bytes(100),
            ][int(rng.integers(5))]
            doc["imageData"] = base64.b64encode(data).decode()
        elif choice == 7:
            doc["imageData"] = "%%% not base64 %%%"
        elif choice == 8:
            doc["imagePath"] = str(rng.choice(["/dev/zero", "../../etc", "missing.png", ".", ""]))
            doc["imageData"] = None
        elif choice == 9:
            doc["shapes"] = (doc.get("shapes") or []) * int(rng.integers(2, 30))
        else:
            text = json.dumps(doc)
            kind = rng.integers(4)
            if kind == 0:
                return text[: int(rng.integers(0, len(text)))]
            if kind == 1:
                return "[" * 100_000 + "]" * 100_000
            if kind == 2:
                return "\ufeff" + text
            return text.encode("utf-8").decode("latin-1")[:200] + "\udce9"
    return doc


def base_analyze_config() -> dict[str, Any]:
    """A valid ``analyze --config`` mapping touching every section."""
    return {
        "batch_size": 4,
        "keyframes": 3,
        "max_candidates": 20,
        "max_seconds": 10.0,
        "cleanup": True,
        "landmark_gate": {"enabled": True, "margin_frac": 0.2},
        "max_image_megapixels": 50,
        "face": {"max_upsample": 1, "min_score": 0.0},
        "crop": {},
        "keyframe": {},
        "measure": {"iris_diameter_mm": 11.7},
    }


def base_train_config() -> dict[str, Any]:
    """A valid training mapping (its data folder is filled in by the caller)."""
    return {
        "model": {"name": "unet", "options": {"base_channels": 4, "depth": 2}},
        "loss": {"name": "ce", "options": {"class_weights": [1, 1, 1, 1, 8]}},
        "epochs": 1,
        "batch_size": 2,
        "learning_rate": 0.001,
        "crop_hw": [160, 160],
        "input_scale": 1.0,
    }


def mutate_config(config: dict[str, Any], rng: np.random.Generator) -> Any:
    """A mutated copy of a config mapping (may become a non-mapping or raw text)."""
    config = copy.deepcopy(config)
    for _ in range(int(rng.integers(1, 4))):
        choice = rng.integers(8)
        flat = _paths(config)
        if choice <= 2 and flat:
            target, key = flat[int(rng.integers(len(flat)))]
            target[key] = ODD_VALUES[rng.integers(len(ODD_VALUES))]
        elif choice == 3 and flat:
            target, key = flat[int(rng.integers(len(flat)))]
            target.pop(key, None)
        elif choice == 4:
            config[str(rng.choice(["keyframes_count", "fps", "model", "device", "Measure"]))] = (
                ODD_VALUES[rng.integers(len(ODD_VALUES))]
            )
        elif choice == 5:
            if rng.integers(2):
                return "measure: " + "[" * 1_500 + "]" * 1_500 + "\n"
            nested: Any = 1
            for _ in range(10):
                nested = [nested]
            config["measure"] = nested
        elif choice == 6:
            return ODD_VALUES[rng.integers(len(ODD_VALUES))]
        else:
            return "{" * int(rng.integers(1, 20)) + ": ]"
    return config


def _paths(obj: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    found: list[tuple[dict[str, Any], str]] = []
    for key, value in obj.items():
        found.append((obj, key))
        if isinstance(value, dict):
            found.extend(_paths(value))
    return found
