"""A baked project switched to a team's own data by its settings alone.

Slow tier: bakes the default project, writes a dataset the template does not
ship into its ``data/`` folder, changes only ``TRAINING_DATA``,
``TARGET_COLUMN`` and ``TASK`` in ``settings.py``, runs the payload command,
then runs what the project's users and CI run: lint, hooks, the whole suite
(notebooks included), the training command without arguments, and the
README's serve and smoke-test commands.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from project_env import clean_environment, npm_ci, project_environment, run
from test_baked_projects import run_project_checks, run_readme_serve_and_smoke_test

pytestmark = pytest.mark.slow


def write_churn_csv(path: Path) -> dict[str, str]:
    """A binary churn table: text and numeric columns, missing values."""
    rng = random.Random(13)
    fields = ["plan", "region", "monthly_fee", "tenure_months", "support_calls", "churn"]
    rows = []
    for _ in range(300):
        plan = rng.choice(["basic", "pro", "family"])
        tenure = rng.randint(1, 72)
        calls = rng.randint(0, 9)
        risk = calls / 9 - tenure / 72 + (0.3 if plan == "basic" else 0.0)
        rows.append(
            {
                "plan": plan,
                "region": rng.choice(["north", "south", "east", "west", ""]),  # "" = missing
                "monthly_fee": "" if rng.random() < 0.1 else f"{rng.uniform(10, 90):.2f}",
                "tenure_months": tenure,
                "support_calls": calls,
                "churn": "yes" if risk + rng.gauss(0, 0.2) > 0.2 else "no",
            }
        )
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return {"TARGET_COLUMN": "churn", "TASK": "classification"}


def write_house_prices_jsonl(path: Path) -> dict[str, str]:
    """A regression table (JSON Lines): numbers, a text column, missing values."""
    rng = random.Random(31)
    with path.open("w", encoding="utf-8") as stream:
        for _ in range(250):
            area = rng.uniform(30, 200)
            district = rng.choice(["centre", "suburb", "rural"])
            row = {
                "area_m2": round(area, 1),
                "rooms": max(1, round(area / 30)),
                "district": district,
                "year_built": None if rng.random() < 0.1 else rng.randint(1900, 2024),
                "price": round(
                    area * {"centre": 5.0, "suburb": 3.5, "rural": 2.0}[district]
                    + rng.gauss(0, 20),
                    2,
                ),
            }
            stream.write(json.dumps(row) + "\n")
    return {"TARGET_COLUMN": "price", "TASK": "regression"}


DATASETS: dict[str, tuple[str, Callable[[Path], dict[str, str]], set[str]]] = {
    "churn-csv": ("data/churn.csv", write_churn_csv, {"accuracy", "roc_auc", "f1"}),
    "house-prices-jsonl": (
        "data/houses.jsonl",
        write_house_prices_jsonl,
        {"rmse", "mae", "r2"},
    ),
}


def switch_settings(project: Path, module: str, values: dict[str, str]) -> None:
    """Set ``NAME = "value"`` lines in the project's settings.py, nothing else."""
    path = project / "src" / module / "settings.py"
    text = path.read_text(encoding="utf-8")
    for name, value in values.items():
        text, count = re.subn(rf"^{name} = .*$", f"{name} = {json.dumps(value)}", text, flags=re.M)
        assert count == 1, f"settings.py has no single {name} line"
    path.write_text(text, encoding="utf-8")


def commit_all(project: Path) -> None:
    """Commit the team's change, as it would before pushing (data/ is git-ignored)."""
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    run([*git, "add", "-A"], project)
    run([*git, "commit", "-q", "--no-verify", "-m", "Train on our data"], project)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_project_runs_on_a_foreign_dataset_by_its_settings_alone(bake: Any, dataset: str) -> None:
    relative, write, expected_metrics = DATASETS[dataset]
    # The default module name: its requirement files, and so its environment,
    # are the default bake's (project_env caches environments by them).
    result = bake({"project_slug": f"own-data-{dataset}", "module_name": "my_mlops_project"})
    project = result.project_path
    module = result.context["module_name"]
    env_dir = project_environment(project, result.context["python_version"])
    env = clean_environment(env_dir)
    python = str(env_dir / "bin" / "python")
    npm_ci(project)

    (project / "data").mkdir(exist_ok=True)
    settings = write(project / relative)
    switch_settings(project, module, {"TRAINING_DATA": relative, **settings})
    run([python, "-m", f"{module}.devtools.sample_payload", "--write"], project, env)
    payload = json.loads((project / ".azureml" / "test.json").read_text())
    assert payload["data"] and settings["TARGET_COLUMN"] not in payload["data"][0]
    commit_all(project)

    run_project_checks(project, env_dir)

    run([python, "-m", f"{module}.model_building.train"], project, env)
    metrics = json.loads((project / "outputs" / "metrics.json").read_text())
    assert metrics["task"] == settings["TASK"]
    assert set(metrics) >= expected_metrics
    run_readme_serve_and_smoke_test(project, env)
