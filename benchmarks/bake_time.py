"""Bake time: `cookiecutter --no-input` of the default configuration against a
one-file template baked by the same cookiecutter; median of 5 each.

    .venv/bin/python benchmarks/bake_time.py

Target: ratio <= 2.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNS = 5


def one_file_template(root: Path) -> Path:
    template = root / "one-file-template"
    (template / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"project_slug": "one-file"}))
    (template / "{{cookiecutter.project_slug}}" / "README.md").write_text(
        "# {{ cookiecutter.project_slug }}\n"
    )
    return template


def bake_seconds(template: Path, workdir: Path) -> float:
    output = Path(tempfile.mkdtemp(dir=workdir))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(template), "-o", str(output)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        baseline_template = one_file_template(workdir)
        ours, baseline = [], []
        for _ in range(RUNS):  # interleaved, so drift hits both alike
            ours.append(bake_seconds(REPO_ROOT, workdir))
            baseline.append(bake_seconds(baseline_template, workdir))
    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    print(f"bake, median of {RUNS}: template {ours_median:.3f} s, one-file {baseline_median:.3f} s")
    print(f"bake time ratio: {ours_median / baseline_median:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
