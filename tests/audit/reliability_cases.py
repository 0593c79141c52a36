"""Reliability audit of the installed CLI: bad media, special files, crafted model folders,
annotations and configs, concurrent runs, kill -9, a full disk, phone media.

Each case runs ``python -m ocularseg ...`` in a subprocess with a timeout and is classed:

* ``ok``           worked as it should (exit 0, or 1 with the expected error rows);
* ``clear error``  refused or reported with a one-line message and exit 1 or 2;
* ``traceback``    a Python traceback or an exit code other than 0/1/2;
* ``hang``         still running at the timeout;
* ``data lost``    a finished result or an input went missing, or a wrong value was
                   reported as right (checked per case).

The cases run as the slow pytest module ``tests/audit/test_reliability_audit.py`` (one test
per case: it fails unless the case is ``ok`` or a ``clear error``), and as a table::

    python benchmarks/audit_reliability.py --work /tmp/audit [--json audit.json]

The real full-disk cases mount a small tmpfs (root only; skipped otherwise). Writes only in
the case's folder. Deterministic (every random byte comes from a seeded generator); the
seeded LabelMe/config fuzzer is ``tests/fuzz``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.conftest import edit_model_json
from tests.pipeline.media_helpers import (
    _find,
    make_fast_start,
    make_special_entries,
    make_variable_rate,
    write_video,
)
from tests.pipeline.media_helpers import (
    jpeg_with_exif_orientation as jpeg_exif,
)

TIMEOUT_S = 240


@dataclass
class Outcome:
    category: str
    note: str = ""


@dataclass
class Ran:
    rc: int | None
    out: str
    timed_out: bool


def cli(*args, cwd=None, timeout=TIMEOUT_S, env=None) -> Ran:
    command = [sys.executable, "-m", "ocularseg", *map(str, args)]
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"").decode("utf-8", "replace") + (exc.stderr or b"").decode(
            "utf-8", "replace"
        )
        return Ran(None, text, True)
    text = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    return Ran(done.returncode, text, False)


def judge(ran: Ran, *, want: tuple[int, ...] = (0, 1, 2), needle: str = "") -> Outcome:
    """Class a run: hang, traceback, or clear error / ok (checked against what was wanted)."""
    if ran.timed_out:
        return Outcome("hang", "timed out")
    if "Traceback" in ran.out or ran.rc not in (0, 1, 2):
        line = next((ln for ln in ran.out.splitlines()[::-1] if ln.strip()), "")
        return Outcome("traceback", f"exit {ran.rc}: {line[:120]}")
    if ran.rc not in want:
        return Outcome("data lost", f"exit {ran.rc}, wanted {want}: {ran.out.strip()[-160:]}")
    if needle and needle not in ran.out:
        return Outcome("data lost", f"missing '{needle}': {ran.out.strip()[-160:]}")
    return Outcome("ok" if ran.rc == 0 else "clear error", _last_line(ran.out))


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("error:", "- ", "  - "))]
    return (errors or lines or [""])[-1][:140]


def rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


# ----------------------------------------------------------------------------- media


def face() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def write_png(path: Path, image: np.ndarray) -> Path:
    from ocularseg.io.images import write_image_atomic

    write_image_atomic(path, image)
    return path


def on_tmpfs(folder: Path, size: str, body: Callable[[Path], Outcome]) -> Outcome:
    """``body(mount)`` with a tmpfs of ``size`` (``"1m"``) mounted at ``folder/small`` and
    unmounted after; ``skipped`` where it cannot be mounted (not root)."""
    mount = folder / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        return Outcome("skipped", "cannot mount a tmpfs (not root)")
    try:
        return body(mount)
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def report_not_from_run(out: Path) -> Outcome | None:
    """``data lost`` where a report file is not the one whose SHA-256 ``out/run.json`` lists."""
    info = json.loads((out / "run.json").read_text())
    for name, digest in info.get("report_files", {}).items():
        if hashlib.sha256((out / name).read_bytes()).hexdigest() != digest:
            return Outcome("data lost", f"{name} is not from the run in run.json")
    return None


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def make_rotated(path: Path) -> Path:
    """Set the track's display matrix to 90° (how phones store portrait video)."""
    data = bytearray(path.read_bytes())
    offset, _ = _find(bytes(data), [b"moov", b"trak", b"tkhd"])
    version = data[offset + 8]
    matrix_at = offset + (48 if version == 0 else 60)
    one, big = 0x10000, 0x40000000
    data[matrix_at : matrix_at + 36] = struct.pack(">9i", 0, one, 0, -one, 0, 0, 0, 0, big)
    path.write_bytes(bytes(data))
    return path


# ----------------------------------------------------------------------------- cases


REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    """One audit case: its group, its name and the function that runs it in a new folder."""

    group: str
    name: str
    run: Callable[[Path], Outcome]

    @property
    def test_id(self) -> str:
        return f"{self.group}: {self.name}"


class Audit:
    """The registered cases and the media they share (made on first use, in ``media``)."""

    def __init__(self, media: Path | None = None) -> None:
        self.media = media  # set before the first case runs
        self.cases: list[Case] = []
        self._face: np.ndarray | None = None

    @property
    def face(self) -> np.ndarray:
        if self._face is None:
            self._face = face()
        return self._face

    @property
    def png(self) -> Path:
        path = self._media() / "face.png"
        if not path.exists():
            write_png(path, self.face)
        return path

    @property
    def video(self) -> Path:
        path = self._media() / "clip.mp4"
        if not path.exists():
            frames = [np.roll(self.face, s, axis=1) for s in range(0, 60, 2)]
            write_video(path, frames)
        return path

    def _media(self) -> Path:
        if self.media is None:
            raise RuntimeError("Audit.media is not set: say where the shared media go")
        self.media.mkdir(parents=True, exist_ok=True)
        return self.media

    def photos(self, folder: Path, count: int, prefix: str = "p") -> Path:
        """``folder``, made, with ``count`` copies of the face photo: p0.png, p1.png, ..."""
        folder.mkdir()
        for i in range(count):
            shutil.copy(self.png, folder / f"{prefix}{i}.png")
        return folder

    def case(self, group: str, name: str, run: Callable[[Path], Outcome]) -> None:
        self.cases.append(Case(group, name, run))

    # analyze helper: run and judge, with an optional check of the outputs
    def analyze(self, folder, *inputs, want=(0, 1, 2), needle="", check=None, extra=(), cwd=None):
        out = folder / "out"
        ran = cli("analyze", *inputs, "--out", out, "--keyframes", "2", *extra, cwd=cwd)
        outcome = judge(ran, want=want, needle=needle)
        about_case = [ln.strip() for ln in ran.out.splitlines() if str(folder) in ln]
        if about_case and outcome.category in ("ok", "clear error"):
            outcome.note = about_case[-1][:140]
        if check and outcome.category in ("ok", "clear error"):
            problem = check(out, ran)
            if problem:
                return Outcome("data lost", problem)
        return outcome


def inputs_cases(a: Audit) -> None:
    """The ``inputs`` group: odd paths, bad files, file names and phone media."""
    for register in (
        _named_path_cases,
        _special_entry_cases,
        _bad_file_cases,
        _fast_start_cases,
        _folder_layout_cases,
        _file_name_cases,
        _phone_media_cases,
    ):
        register(a, "inputs")


def _named_path_cases(a: Audit, g: str) -> None:
    """A name that is not UTF-8 in a folder; FIFOs, devices, links and folders named x.mp4."""

    def non_utf8(f):
        d = f / "d"
        d.mkdir()
        shutil.copy(a.png, d / "a.png")
        shutil.copy(a.png, d / os.fsdecode(b"b\xe9.png"))
        return a.analyze(
            f,
            d,
            check=lambda o, r: (
                None if len(list(o.glob("inputs/*/result.json"))) == 2 else "an input has no result"
            ),
        )

    a.case(g, "file name not valid UTF-8 in a folder", non_utf8)

    def special(kind):
        def run(f):
            target = f / "x.mp4"
            if kind == "fifo":
                os.mkfifo(target)
            elif kind == "zero":
                target.symlink_to("/dev/zero")
            elif kind == "dangling":
                target.symlink_to(f / "nowhere.mp4")
            elif kind == "loop":
                target.symlink_to(f / "y.mp4")
                (f / "y.mp4").symlink_to(target)
            elif kind == "dir":
                target.mkdir()

            def check(out, ran):
                if ran.rc == 2:  # a missing path (broken link, loop) stops the run: usage
                    return None
                named = [e for e in rows(out / "errors.csv") if e["input"] == str(target)]
                skipped = out / "skipped_files.txt"
                listed = skipped.exists() and str(target) in skipped.read_text()
                return None if named or listed else "the named path is neither error nor skip"

            # Exit 0 is right when the named path is a skipped folder and the photo is
            # analysed (issue 20: exit 1 only when an input failed); the check asks that
            # the named path is recorded, as an error row or a skip.
            return a.analyze(f, target, a.png, want=(0, 1, 2), check=check)

        return run

    for kind in ("fifo", "zero", "dangling", "loop", "dir"):
        a.case(g, f"named {kind} as x.mp4 (with a good photo)", special(kind))


def _special_entry_cases(a: Audit, g: str) -> None:
    """Special entries inside a folder, and a folder named like a video."""

    def in_folder(f):
        d = f / "d"
        d.mkdir()
        shutil.copy(a.png, d / "face.png")
        make_special_entries(d)

        def check(out, ran):
            listed = (
                (out / "skipped_files.txt").read_text()
                if (out / "skipped_files.txt").exists()
                else ""
            )
            missing = [
                n
                for n in ("pipe", "zero", "dangling", "loop1", "loop2", "x.mp4")
                if n not in listed
            ]
            return f"not listed as skipped: {missing}" if missing else None

        return a.analyze(f, d, check=check)

    a.case(g, "FIFO, /dev/zero link, dangling link, loops, folder x.mp4 inside a folder", in_folder)

    def lone_dir(f):
        (f / "x.mp4").mkdir()
        return a.analyze(f, f / "x.mp4", want=(2,))

    a.case(g, "folder named x.mp4 given alone", lone_dir)


def _bad_file_cases(a: Audit, g: str) -> None:
    """Empty, cut, random, bomb and mislabelled files next to a good photo."""

    def bad_file(name, content):
        def run(f):
            (f / name).write_bytes(content())
            return a.analyze(
                f,
                f / name,
                a.png,
                want=(1,),
                check=lambda o, r: None if rows(o / "errors.csv") else "no error row",
            )

        return run

    def head(data: Callable[[], bytes], share: int) -> Callable[[], bytes]:
        return lambda: (whole := data())[: len(whole) // share]

    png_bytes = lambda: a.png.read_bytes()  # noqa: E731
    jpg = lambda: jpeg_exif(a.face, 1)  # noqa: E731
    vid = lambda: a.video.read_bytes()  # noqa: E731
    for name, content in [
        ("empty.mp4", lambda: b""),
        ("text.mp4", lambda: b"not a video\n"),
        ("cut.mp4", head(vid, 3)),
        ("empty.png", lambda: b""),
        ("cut.png", head(png_bytes, 2)),
        ("cut.jpg", head(jpg, 2)),
        ("random.jpg", lambda: np.random.default_rng(11).bytes(5000)),
        ("bomb.png", lambda: png_header_only(32000, 32000)),
        ("photo.heic", lambda: b"\0\0\0\x18ftypheic" + b"\0" * 64),
        ("video.png", vid),
    ]:
        a.case(g, f"bad file {name}", bad_file(name, content))


def _fast_start_cases(a: Audit, g: str) -> None:
    """Fast-start MP4s (index first) cut in half, and complete."""

    def truncated_fast_start(f):
        video = make_fast_start(Path(shutil.copy(a.video, f / "full.mp4")))
        data = video.read_bytes()
        (f / "cut.mp4").write_bytes(data[: len(data) // 2])

        def check(out, ran):
            if not any("truncated" in e["error"] for e in rows(out / "errors.csv")):
                return "a truncated video was reported as complete"
            return None

        return a.analyze(f, f / "cut.mp4", want=(1,), check=check)

    a.case(g, "fast-start MP4 cut in half", truncated_fast_start)

    def complete_fast_start(f):
        video = make_fast_start(Path(shutil.copy(a.video, f / "full.mp4")))
        return a.analyze(
            f,
            video,
            check=lambda o, r: (
                "complete video flagged"
                if any("truncated" in e["error"] for e in rows(o / "errors.csv"))
                else None
            ),
        )

    a.case(g, "fast-start MP4 complete (control)", complete_fast_start)


def _folder_layout_cases(a: Audit, g: str) -> None:
    """The output folder inside the input folder; a data-set folder given as input."""

    def out_inside(f):
        d = f / "clinic"
        d.mkdir()
        shutil.copy(a.png, d / "face.png")
        first = cli("analyze", d, "--out", d / "res")
        second = cli("analyze", d, "--out", d / "res")
        outcome = judge(second)
        inputs = {r["input"] for r in rows(d / "res" / "measurements.csv")}
        if outcome.category in ("ok", "clear error") and inputs != {str(d / "face.png")}:
            return Outcome("data lost", f"analysed its own outputs: {sorted(inputs)[:3]}")
        return outcome if first.rc in (0, 1) else judge(first)

    a.case(g, "--out inside the input folder, run twice", out_inside)

    def dataset_folder(f):
        d = f / "ds"
        (d / "images").mkdir(parents=True)
        (d / "masks").mkdir()
        shutil.copy(a.png, d / "images" / "a.png")
        write_png(d / "masks" / "a.png", np.zeros((32, 48), np.uint8))
        write_png(d / "images" / "a_mask.png", np.zeros((32, 48), np.uint8))
        (d / "manifest.csv").write_text("image,mask,subject,group,split\n")
        return a.analyze(
            f,
            d,
            check=lambda o, r: (
                None
                if len(
                    {x["input"] for x in rows(o / "measurements.csv")}
                    | {x["input"] for x in rows(o / "errors.csv")}
                )
                == 1
                else "masks analysed as photos"
            ),
        )

    a.case(g, "data-set folder with masks/ and *_mask.png", dataset_folder)


def _file_name_cases(a: Audit, g: str) -> None:
    """File names a spreadsheet or a shell reads otherwise: formulas, newlines, dashes."""

    def formula(f):
        name = "=1+2.png"
        shutil.copy(a.png, f / name)
        return a.analyze(
            f,
            name,
            cwd=f,
            check=lambda o, r: (
                None
                if all(x["input"].startswith("'=") for x in rows(o / "measurements.csv"))
                else "formula written unescaped"
            ),
        )

    a.case(g, "file name starting with '='", formula)

    for label, name in [
        ("newline in the name", "a\nb.png"),
        ("valid UTF-8 accents and spaces", "Jöhn Dœ ü.png"),
        ("255-byte name", "x" * 251 + ".png"),
        ("name starting with '-'", "-x.png"),
    ]:

        def named(f, name=name):
            shutil.copy(a.png, f / name)
            return a.analyze(f, f / name)

        a.case(g, label, named)


def _phone_media_cases(a: Audit, g: str) -> None:
    """What phones write: EXIF orientation, rotation metadata, variable frame rate."""

    def exif(f):
        (f / "phone.jpg").write_bytes(jpeg_exif(np.ascontiguousarray(np.rot90(a.face, 1)), 6))
        return a.analyze(
            f,
            f / "phone.jpg",
            want=(0, 1),
            check=lambda o, r: (
                None if rows(o / "measurements.csv") else "face not found in an EXIF-rotated photo"
            ),
        )

    a.case(g, "phone photo with EXIF orientation 6", exif)

    def rotated_video(f):
        frames = [
            np.ascontiguousarray(np.rot90(np.roll(a.face, s, axis=1), 1)) for s in range(0, 20, 2)
        ]
        video = make_rotated(write_video(f / "portrait.mp4", frames))
        return a.analyze(
            f,
            video,
            want=(0, 1),
            check=lambda o, r: (
                None
                if rows(o / "measurements.csv")
                else "face not found in a video with rotation metadata"
            ),
        )

    a.case(g, "phone video with 90° rotation metadata", rotated_video)

    def vfr(f):
        frames = [np.roll(a.face, s, axis=1) for s in range(0, 40, 2)]
        video = make_variable_rate(write_video(f / "vfr.mp4", frames, fps=10))
        out = f / "out"
        ran = cli("analyze", video, "--out", out, "--fps", "10")
        outcome = judge(ran, want=(0, 1))
        times = sorted({float(x["timestamp_s"]) for x in rows(out / "measurements.csv")})
        steps = np.round(np.diff(times), 2).tolist()
        if outcome.category in ("ok", "clear error") and not (0.1 in steps and 0.3 in steps):
            return Outcome("data lost", f"timestamps do not follow the container: {steps[:6]}")
        return Outcome(outcome.category, f"{outcome.note}; frame steps {sorted(set(steps))}")

    a.case(g, "variable-frame-rate video (0.1 s then 0.3 s frames)", vfr)


def run_cases(a: Audit) -> None:
    """The ``run`` group: concurrent, interrupted and disk-full runs, and impossible options."""
    for register in (
        _concurrent_run_cases,
        _interrupted_run_cases,
        _full_disk_cases,
        _bad_option_cases,
    ):
        register(a, "run")


def _concurrent_run_cases(a: Audit, g: str) -> None:
    """Two runs into one output folder at once."""

    def concurrent(f):
        d1, d2 = a.photos(f / "a", 3, prefix="a"), a.photos(f / "b", 3, prefix="b")
        out = f / "out"
        cmd = [sys.executable, "-m", "ocularseg", "analyze", "--out", str(out), "--keyframes", "1"]
        p1 = subprocess.Popen([*cmd, str(d1)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(1.0)
        p2 = subprocess.Popen([*cmd, str(d2)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        o1, o2 = (p.communicate(timeout=TIMEOUT_S)[0].decode() for p in (p1, p2))
        inputs = {x["input"] for x in rows(out / "measurements.csv")} | {
            x["input"] for x in rows(out / "errors.csv")
        }
        refused = [p.returncode == 2 and "in use by another" in o for p, o in ((p1, o1), (p2, o2))]
        if any(refused) and len(inputs) == 3:
            return Outcome(
                "clear error", "the second run was refused; the first run's reports are complete"
            )
        if len(inputs) == 6:
            return Outcome("ok", "both runs' inputs in the reports")
        return Outcome(
            "data lost",
            f"exits {p1.returncode}/{p2.returncode}, {len(inputs)} inputs in the reports",
        )

    a.case(g, "two runs into one --out at once", concurrent)


def _interrupted_run_cases(a: Audit, g: str) -> None:
    """Runs killed mid-batch, then resumed."""

    def kill_and_resume(signum, jobs):
        def run(f):
            d = a.photos(f / "d", 8)
            out = f / "out"
            cmd = [
                sys.executable,
                "-m",
                "ocularseg",
                "analyze",
                str(d),
                "--out",
                str(out),
                "--keyframes",
                "1",
                "--jobs",
                str(jobs),
            ]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(list(out.glob("inputs/*/result.json"))) < 2:
                time.sleep(0.2)
            children = _children(p.pid)
            os.kill(p.pid, signum)
            p.wait(timeout=60)
            time.sleep(3)
            orphans = [c for c in children if _alive(c)]
            for c in orphans:
                os.kill(c, signal.SIGKILL)
            if orphans:
                return Outcome("hang", f"{len(orphans)} worker(s) outlived their parent")
            partial = [p for p in out.rglob("*") if ".tmp" in p.name or ".new-" in p.name]
            ran = cli("analyze", d, "--out", out, "--keyframes", "1", "--resume")
            outcome = judge(ran)
            inputs = {x["input"] for x in rows(out / "measurements.csv")}
            if outcome.category in ("ok", "clear error") and len(inputs) != 8:
                return Outcome("data lost", f"{len(inputs)} of 8 inputs after --resume")
            return Outcome(
                outcome.category, f"{outcome.note}; {len(partial)} temporary file(s) left"
            )

        return run

    a.case(g, "kill -9 mid-batch (--jobs 1), then --resume", kill_and_resume(signal.SIGKILL, 1))
    a.case(g, "kill -9 mid-batch (--jobs 2), then --resume", kill_and_resume(signal.SIGKILL, 2))
    a.case(g, "SIGTERM mid-batch (--jobs 2), then --resume", kill_and_resume(signal.SIGTERM, 2))


def _full_disk_cases(a: Audit, g: str) -> None:
    """The disk filling up during a run (tmpfs; root only)."""

    def full_disk(size):
        def run(f):
            return on_tmpfs(f, size, lambda mount: fill_with_images(f, mount))

        def fill_with_images(f, mount):
            d = a.photos(f / "d", 6)
            ran = cli("analyze", d, "--out", mount / "out", "--keyframes", "1")
            outcome = judge(ran, want=(1, 2))
            if outcome.category == "clear error" and "No space left" not in ran.out:
                return Outcome("clear error", f"(not the disk) {outcome.note}")
            if (mount / "out" / "run.json").exists():
                return report_not_from_run(mount / "out") or outcome
            return outcome

        return run

    a.case(g, "disk fills during image writes (1 MB tmpfs)", full_disk("1m"))

    def full_at_reports(f):
        return on_tmpfs(f, "8m", lambda mount: fill_before_reports(f, mount))

    def fill_before_reports(f, mount):
        d = a.photos(f / "d", 3)
        out = mount / "out"
        first = cli("analyze", d, "--out", out, "--keyframes", "1")
        if first.rc not in (0, 1):
            return judge(first)
        # (hidden files excluded: the lock file records each run's process)
        before = {p.name: p.read_bytes() for p in out.glob("[!.]*") if p.is_file()}
        free = shutil.disk_usage(mount).free
        (mount / "filler").write_bytes(b"\0" * max(0, free - 6_000))
        ran = cli("analyze", d, "--out", out, "--keyframes", "1", "--resume")
        outcome = judge(ran, want=(1,), needle="No space left")
        after = {p.name: p.read_bytes() for p in out.glob("[!.]*") if p.is_file()}
        lost = report_not_from_run(out)
        if lost:
            return lost
        if after != before:
            return Outcome("data lost", "the previous report set was changed")
        return Outcome(outcome.category, f"{outcome.note}; previous set intact")

    a.case(g, "disk full while writing the reports (resume, 6 KB free)", full_at_reports)


def _bad_option_cases(a: Audit, g: str) -> None:
    """Impossible options and an output path that is a file."""
    for args, label in [
        (["--jobs", "100000"], "--jobs 100000"),
        (["--jobs", "0"], "--jobs 0"),
        (["--fps", "-1"], "--fps -1"),
        (["--fps", "5", "--keyframes", "4"], "--fps with --keyframes"),
        (["--device", "tpu"], "--device tpu"),
        (["--batch-size", "0"], "--batch-size 0"),
    ]:
        a.case(
            g,
            label,
            lambda f, args=args: judge(cli("analyze", a.png, "--out", f / "o", *args), want=(2,)),
        )

    def out_is_file(f):
        (f / "o").write_text("x")
        return judge(cli("analyze", a.png, "--out", f / "o"), want=(2,))

    a.case(g, "--out is a file", out_is_file)


def config_cases(a: Audit) -> None:
    g = "config"
    for label, text in [
        ("iris_diameter_mm .inf", "measure: {iris_diameter_mm: .inf}\n"),
        ("iris_diameter_mm -1", "measure: {iris_diameter_mm: -1}\n"),
        ("max_seconds .inf", "max_seconds: .inf\n"),
        ("unknown key", "keyframe_count: 3\n"),
        ("not a mapping", "- 1\n- 2\n"),
        ("deeply nested", "a: " + "[" * 50_000 + "]" * 50_000 + "\n"),
        (
            "YAML alias bomb",
            "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "c: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
        ),
        ("byte-order mark", "\ufeffkeyframes: 2\n"),
        ("not UTF-8", "keyframes: 2 # \xe9\n"),
        ("fps in YAML, --keyframes on the line", "fps: 5\n"),
        ("max_image_megapixels tiny", "max_image_megapixels: 0.001\n"),
    ]:

        def run(f, text=text, label=label):
            path = f / "c.yaml"
            path.write_bytes(
                text.encode("latin-1") if label == "not UTF-8" else text.encode("utf-8")
            )
            extra = ["--keyframes", "2"] if "fps" in label else []
            ran = cli("analyze", a.png, "--out", f / "o", "--config", path, *extra)
            want = (0, 1) if label == "byte-order mark" else (1,) if "tiny" in label else (2,)
            outcome = judge(ran, want=want)
            if label == "byte-order mark" and outcome.category in ("ok", "clear error"):
                run = json.loads((f / "o" / "run.json").read_text())
                if run["config"]["keyframes"] != 2:
                    return Outcome("data lost", "the option after the BOM was ignored")
                outcome.note = "option read (keyframes 2)"
            return outcome

        a.case(g, label, run)


def model_cases(a: Audit) -> None:
    g = "model"
    from ocularseg.io.model_store import models_dir

    bundled = models_dir() / "ocularseg-unet-real"

    def crafted(change, want=(2,)):
        def run(f):
            model = f / "m"
            shutil.copytree(
                bundled, model, ignore=shutil.ignore_patterns("evaluation*", "*.safetensors")
            )
            change(model)
            return judge(cli("analyze", a.png, "--out", f / "o", "--model", model), want=want)

        return run

    def edit(**fields):
        def change(model):
            edit_model_json(model, **fields)

        return change

    def fifo_json(model):
        (model / "model.json").unlink()
        os.mkfifo(model / "model.json")

    def fifo_onnx(model):
        (model / "model.onnx").unlink()
        os.mkfifo(model / "model.onnx")

    for label, change in [
        ("std 0", edit(input__std=[0, 0.2, 0.2])),
        ("mean NaN", edit(input__mean=[float("nan"), 0.4, 0.4])),
        ("input 256×256", edit(input__height=256, input__width=256)),
        ("onnx_file ../x", edit(onnx_file="../model.onnx")),
        ("onnx_file /dev/zero", edit(onnx_file="/dev/zero")),
        (
            "labels swapped",
            edit(labels={"background": 0, "sclera": 2, "iris": 1, "pupil": 3, "caruncle": 4}),
        ),
        ("format_version 99", edit(format_version=99)),
        ("sha256 wrong", edit(sha256="0" * 64)),
        (
            "model.json nested deeply",
            lambda m: (m / "model.json").write_text("[" * 100_000 + "]" * 100_000),
        ),
        ("model.json is a FIFO", fifo_json),
        ("model.onnx is a FIFO", fifo_onnx),
        (
            "model.onnx truncated",
            lambda m: (m / "model.onnx").write_bytes((m / "model.onnx").read_bytes()[:1000]),
        ),
    ]:
        a.case(g, label, crafted(change))


def data_cases(a: Audit) -> None:
    """The ``data`` group: crafted LabelMe files and manifests."""
    for register in (
        _labelme_cases,
        _geometry_and_manifest_cases,
    ):
        register(a, "data")


def _labelme_cases(a: Audit, g: str) -> None:
    """Crafted LabelMe files: sizes, bombs, huge or NaN polygons, unknown labels."""

    def labelme(doc_change, want=(1,), embed=True):
        def run(f):
            src = f / "P01"
            src.mkdir()
            write_png(src / "eye.png", np.full((32, 48, 3), 120, np.uint8))
            doc = {
                "shapes": [{"label": "sclera", "points": [[2, 2], [40, 3], [44, 28], [3, 26]]}],
                "imagePath": "eye.png",
                "imageData": base64.b64encode((src / "eye.png").read_bytes()).decode()
                if embed
                else None,
                "imageHeight": 32,
                "imageWidth": 48,
            }
            text = doc_change(doc)
            (src / "eye.json").write_text(text if isinstance(text, str) else json.dumps(doc))
            return judge(cli("data", "import", "labelme", src, "--out", f / "ds"), want=want)

        return run

    def set_(**kw):
        return lambda d: d.update(kw)

    rng = np.random.default_rng(0)
    for label, change, want in [
        ("imageHeight = imageWidth = 2^40", set_(imageHeight=2**40, imageWidth=2**40), (1,)),
        (
            "embedded 32000² PNG",
            set_(imageData=base64.b64encode(png_header_only(32000, 32000)).decode()),
            (1,),
        ),
        (
            "30k-vertex self-intersecting polygon",
            lambda d: d["shapes"].append(
                {"label": "iris", "points": rng.uniform(0, 47, (30_000, 2)).tolist()}
            ),
            (1,),
        ),
        ("deeply nested JSON", lambda d: "[" * 200_000 + "]" * 200_000, (1,)),
        (
            "points NaN",
            lambda d: d["shapes"].append(
                {"label": "iris", "points": [[float("nan"), 1], [2, 3], [4, 5]]}
            ),
            (1,),
        ),
        (
            "unknown label",
            lambda d: d["shapes"].append({"label": "eyebrow", "points": [[1, 1], [3, 1], [3, 3]]}),
            (1,),
        ),
        ("imagePath /dev/zero", lambda d: d.update(imageData=None, imagePath="/dev/zero"), (1,)),
        ("good file (control)", lambda d: None, (0,)),
    ]:
        a.case(g, f"LabelMe: {label}", labelme(change, want))


def _geometry_and_manifest_cases(a: Audit, g: str) -> None:
    """A far polygon vertex (int32 overflow) and odd manifests."""

    def far_vertex(f):
        from ocularseg.data.labelme import labelme_to_mask

        doc = {
            "shapes": [{"label": "sclera", "points": [[100, 100], [500, 120], [9e6, 9e6]]}],
            "imageHeight": 400,
            "imageWidth": 600,
        }
        area = int(labelme_to_mask(doc).astype(bool).sum())
        return Outcome("ok" if area > 90_000 else "data lost", f"area {area} px (exact ≈ 94,000)")

    a.case(g, "LabelMe: vertex 9 M px away (int32 overflow)", far_vertex)

    def manifest(text: bytes, want):
        def run(f):
            ds = f / "ds"
            (ds / "images").mkdir(parents=True)
            (ds / "masks").mkdir()
            write_png(ds / "images" / "a.png", np.zeros((320, 480, 3), np.uint8))
            write_png(ds / "masks" / "a.png", np.zeros((320, 480), np.uint8))
            (ds / "manifest.csv").write_bytes(text)
            return judge(cli("data", "check", ds), want=want)

        return run

    header = b"image,mask,subject,group,split\n"
    a.case(
        g,
        "manifest with a BOM (Excel)",
        manifest(b"\xef\xbb\xbf" + header + b"images/a.png,masks/a.png,s1,,\n", (0, 1)),
    )
    a.case(
        g,
        "manifest field of 200,000 characters",
        manifest(header + b"images/a.png,masks/a.png," + b"x" * 200_000 + b",,\n", (1,)),
    )


def train_cases(a: Audit) -> None:
    g = "train"
    data = REPO / "sample_data" / "phantoms"
    for label, extra in [
        (
            "class_weights of the wrong length",
            "loss: {name: ce+tiu, options: {class_weights: [1, 2]}}",
        ),
        ("negative class weight", "loss: {name: ce, options: {class_weights: [1, 1, 1, 1, -8]}}"),
        ("crop_hw larger than the images", "crop_hw: [640, 640]"),
        ("learning_rate .inf", "learning_rate: .inf"),
        ("unknown loss", "loss: {name: nope}"),
    ]:

        def run(f, extra=extra):
            (f / "t.yaml").write_text(f"data: {data}\nout: {f / 'run'}\nepochs: 1\n{extra}\n")
            return judge(cli("train", f / "t.yaml"), want=(2,))

        a.case(g, label, run)


def privacy_cases(a: Audit) -> None:
    g = "privacy"

    def home_untouched(f):
        home = f / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "XDG_"))}
        env["HOME"] = str(home)
        ran = cli("analyze", a.png, "--out", f / "o", "--jobs", "2", env=env)
        outcome = judge(ran)
        written = [str(p.relative_to(home)) for p in home.rglob("*")]
        if written:
            return Outcome("data lost", f"written under HOME: {written[:3]}")
        return outcome

    a.case(g, "analyze --jobs 2 under an empty HOME: nothing written outside --out", home_untouched)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found |= {int(c) for c in task.read_text().split()}
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


GROUPS: dict[str, Callable[[Audit], None]] = {
    "inputs": inputs_cases,
    "run": run_cases,
    "config": config_cases,
    "model": model_cases,
    "data": data_cases,
    "train": train_cases,
    "privacy": privacy_cases,
}


def all_cases(audit: Audit, only: str | None = None) -> list[Case]:
    """Register every case with ``audit`` (nothing runs yet) and return them in order."""
    for name, register in GROUPS.items():
        if only in (None, name):
            register(audit)
    return audit.cases


def run_case(case: Case, folder: Path) -> Outcome:
    """Run one case in ``folder`` (made here); a bug in the audit itself becomes an outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return case.run(folder)
    except Exception as exc:
        return Outcome("audit error", f"{type(exc).__name__}: {exc}")
