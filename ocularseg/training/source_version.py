"""Which source tree a run or an export came from (recorded in run.json and model.json)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit(repo_dir: Path | None = None) -> str:
    """Current git commit of the source tree, or 'unknown' outside a checkout."""
    here = repo_dir or Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"
