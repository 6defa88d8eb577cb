"""model-build's retraining schedule: weekly on main, also without a code change.

The schedule is checked against Azure Pipelines' schema with the rest of the
file by test_pipelines.py (test_pipeline_file_passes_the_schema_check); here,
what it says.
"""

from __future__ import annotations

from pathlib import Path

import yaml

MODEL_BUILD = Path(__file__).resolve().parents[1] / "pipelines" / "model-build.yml"


def schedule() -> dict:
    (only,) = yaml.safe_load(MODEL_BUILD.read_text(encoding="utf-8"))["schedules"]
    return only


def test_model_build_runs_weekly_on_main() -> None:
    """One cron schedule: a fixed weekday, every week, on main."""
    minute, hour, day, month, weekday = schedule()["cron"].split()

    assert (day, month) == ("*", "*")
    assert weekday.isdigit() and minute.isdigit() and hour.isdigit()
    assert schedule()["branches"]["include"] == ["main"]


def test_model_build_runs_even_when_no_code_changed() -> None:
    """`always: "true"`: the data changes without a commit, so the run is not skipped."""
    assert schedule()["always"] == "true"
