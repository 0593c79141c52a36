"""The real-face teacher: MediaPipe Face Mesh with iris refinement, run in its own venv.

This file is a stand-alone script on purpose. MediaPipe (Apache-2.0) pulls
``opencv-contrib-python``, which installs the same ``cv2`` module as ocularseg's
``opencv-python-headless``; the two must not share an environment. So the data-set builder
(``ocularseg data build-real``) writes the decoded frames as PNG files and calls this script
with the teacher environment's Python::

    python3 -m venv .venv-teacher
    .venv-teacher/bin/pip install mediapipe==0.10.14
    .venv-teacher/bin/python ocularseg/realdata/teacher_mediapipe.py REQUEST.json RESULT.json

``mediapipe==0.10.14`` is pinned because it still bundles ``face_landmark_with_attention``
and ``iris_landmark`` (the legacy ``mp.solutions.face_mesh`` API with
``refine_landmarks=True``); newer releases dropped them. Nothing is downloaded.

REQUEST.json: ``{"images": [{"id": "...", "path": "frame.png"}, ...]}``.
RESULT.json: ``{"teacher": {...versions...}, "results": {id: {"size_wh": [w, h],
"faces": [[[x, y], ... 478 points in frame px], ...]}}}``; a face that MediaPipe did not
find gives ``"faces": []``. It imports only the standard library, NumPy, OpenCV and
MediaPipe, never ocularseg.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

#: Faces looked for per image; the builder keeps the one matching dlib's face.
MAX_FACES = 4


def run(request_path: str, result_path: str) -> int:
    import cv2
    import mediapipe as mp
    import numpy as np

    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    results: dict[str, dict] = {}
    face_mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True,
        max_num_faces=MAX_FACES,
        refine_landmarks=True,
        min_detection_confidence=0.5,
    )
    try:
        for item in request["images"]:
            bgr = cv2.imread(item["path"], cv2.IMREAD_COLOR)
            if bgr is None:
                results[item["id"]] = {"size_wh": None, "faces": [], "error": "unreadable"}
                continue
            rgb = np.ascontiguousarray(bgr[..., ::-1])
            height, width = rgb.shape[:2]
            found = face_mesh.process(rgb)
            faces = []
            for face in found.multi_face_landmarks or []:
                # Normalised (x, y) -> frame px with pixel centres at integers, the
                # convention of ocularseg (MediaPipe's 0..1 spans the image's edges).
                faces.append(
                    [
                        [round(p.x * width - 0.5, 3), round(p.y * height - 0.5, 3)]
                        for p in face.landmark
                    ]
                )
            results[item["id"]] = {"size_wh": [width, height], "faces": faces}
    finally:
        face_mesh.close()
    payload = {
        "teacher": {
            "name": "mediapipe face_mesh refine_landmarks=True",
            "mediapipe": mp.__version__,
            "opencv": cv2.__version__,
        },
        "results": results,
    }
    folder = os.path.dirname(os.path.abspath(result_path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write("usage: teacher_mediapipe.py REQUEST.json RESULT.json\n")
        sys.exit(2)
    sys.exit(run(sys.argv[1], sys.argv[2]))
