"""A baked project switched to a team's own data by its settings alone.

Slow tier: bakes the default project, writes a regression dataset the template does not
ship into its ``data/`` folder, changes only ``TRAINING_DATA``,
``TARGET_COLUMN`` and ``TASK`` in ``settings.py``, runs the payload command,
then runs what the project's users and CI run: lint, hooks, the whole suite
(notebooks included), the training command without arguments, and the
README's serve and smoke-test commands.

The classification case is issue 20's support-ticket table (a datetime, a boolean, a
500-value code, short free text, numbers with gaps, an integer id, names with
spaces, 4 imbalanced classes), switched to by settings and the project's one
preparation place only, read as a blob from Azurite with the credentials in
the project's root ``secrets.json``.
"""

from __future__ import annotations

import json
import random
import re
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from project_env import clean_environment, free_port, npm_ci, project_environment, run
from test_baked_projects import run_project_checks, run_readme_serve_and_smoke_test

pytestmark = pytest.mark.slow


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
    "house-prices-jsonl": (
        "data/houses.jsonl",
        write_house_prices_jsonl,
        {"rmse", "mae", "r2"},
    ),
}


def switch_settings(project: Path, module: str, values: dict[str, Any]) -> None:
    """Set ``NAME = value`` lines in the project's settings.py, nothing else."""
    path = project / "src" / module / "settings.py"
    text = path.read_text(encoding="utf-8")
    for name, value in values.items():
        line = f"{name} = {json.dumps(value)}"
        text, count = re.subn(rf"^{name}(: [^=]+)? = .*$", line, text, flags=re.M)
        assert count == 1, f"settings.py has no single {name} line"
    path.write_text(text, encoding="utf-8")


def bake_with_environment(bake: Any, slug: str) -> tuple[Path, str, Path]:
    """A default bake named ``slug``, its environment and its Node tools.

    The default module name: its requirement files, and so its environment,
    are the default bake's (project_env caches environments by them).
    Returns the project, its module name and its environment's folder.
    """
    result = bake({"project_slug": slug, "module_name": "my_mlops_project"}, to_run=True)
    project = result.project_path
    env_dir = project_environment(project, result.context["python_version"])
    npm_ci(project)
    return project, result.context["module_name"], env_dir


def commit_all(project: Path) -> None:
    """Commit the team's change, as it would before pushing (data/ is git-ignored)."""
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    run([*git, "add", "-A"], project)
    run([*git, "commit", "-q", "--no-verify", "-m", "Train on our data"], project)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_project_runs_on_a_foreign_dataset_by_its_settings_alone(bake: Any, dataset: str) -> None:
    relative, write, expected_metrics = DATASETS[dataset]
    project, module, env_dir = bake_with_environment(bake, f"own-data-{dataset}")
    env = clean_environment(env_dir)
    python = str(env_dir / "bin" / "python")

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


# Run with the project's Python: the ticket table of issue 20, seeded.
TICKETS_SCRIPT = """
import sys

import numpy as np
import pandas as pd

rows = 6000
rng = np.random.default_rng(20)
topics = np.array(["login", "invoice", "outage", "slow", "refund", "password", "export", "crash"])
topic = rng.integers(0, len(topics), rows)
product = rng.integers(0, 500, rows)
escalated = rng.random(rows) < 0.2
wait = rng.exponential(6.0, rows).round(1)
risk = (
    np.isin(topic, [2, 7]) * 2.2 + escalated * 1.2 + (product < 25) * 0.8 + wait / 12
    + rng.normal(0, 0.6, rows)
)
priority = np.select([risk > 3.7, risk > 2.4, risk > 1.5], ["critical", "high", "medium"], "low")
wait_with_gaps = pd.Series(wait)
wait_with_gaps[rng.random(rows) < 0.08] = None
when = ["today", "again", "urgent", "since update"]
pd.DataFrame(
    {
        "Ticket ID": np.arange(100_000, 100_000 + rows),
        "Opened At": pd.Timestamp("2025-01-01")
        + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, rows), unit="min"),
        "Escalated": escalated,
        "Product Code": [f"P-{code:03d}" for code in product],
        "Customer Tier": rng.integers(1, 4, rows),
        "Subject": [f"{topics[t]} problem {rng.choice(when)}" for t in topic],
        "Wait Hours": wait_with_gaps,
        "Priority": priority,
    }
).to_parquet(sys.argv[1], index=False)
"""
TICKET_SETTINGS = {
    "TRAINING_DATA": "blob:tickets.parquet",
    "TARGET_COLUMN": "Priority",
    "TASK": "classification",
    "ID_COLUMNS": ["Ticket ID"],
    "TEXT_COLUMNS": ["Subject"],
}
# What settings cannot say, in the one preparation place: a code that is a category.
PREPARATION = (
    "    return DataPreprocessor(df).get_df()\n",
    '    return DataPreprocessor(df).cast_types({"Customer Tier": "string"}).get_df()\n',
)
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published development key, the same for everyone
# (learn.microsoft.com/azure/storage/common/storage-use-azurite).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def start_azurite(project: Path, port: int) -> subprocess.Popen[bytes]:
    """The project's Azurite (npm ci) on 127.0.0.1:``port``, in memory, listening."""
    process = subprocess.Popen(
        [
            str(project / "node_modules" / ".bin" / "azurite-blob"),
            *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
            *("--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry"),
        ],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"Azurite did not listen on 127.0.0.1:{port}")


def test_project_runs_on_a_ticket_table_from_azurite_by_settings_and_its_preparation(
    bake: Any,
) -> None:
    """Issue 20's table, as a blob on Azurite with the root secrets.json: the
    whole suite (notebooks in experiment_nbs/ included), training on the raw
    file (quietly), serving raw records with the id present and the smoke test
    pass; metrics.json tells the truth about 4 imbalanced classes."""
    project, module, env_dir = bake_with_environment(bake, "own-data-tickets")
    env = clean_environment(env_dir)
    python = str(env_dir / "bin" / "python")
    port = free_port()
    azurite = start_azurite(project, port)
    try:
        (project / "secrets.json").write_text(
            json.dumps(
                {
                    "connection_string": "DefaultEndpointsProtocol=http;"
                    f"AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                    f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};",
                    "container_name": "tickets",
                }
            )
        )
        (project / "data").mkdir(exist_ok=True)
        run([python, "-c", TICKETS_SCRIPT, "data/tickets.parquet"], project, env)
        upload = [python, "-m", f"{module}.devtools.upload_data", "data/tickets.parquet"]
        run(upload, project, env)
        switch_settings(project, module, TICKET_SETTINGS)
        preparation = project / "src" / module / "data_preprocessing" / "preparation.py"
        text = preparation.read_text(encoding="utf-8")
        assert text.count(PREPARATION[0]) == 1
        preparation.write_text(text.replace(*PREPARATION), encoding="utf-8")
        run([python, "-m", f"{module}.devtools.sample_payload", "--write"], project, env)
        row = json.loads((project / ".azureml" / "test.json").read_text())["data"][0]
        assert "Ticket ID" in row and "Priority" not in row
        assert re.match(r"\d{4}-\d\d-\d\dT", row["Opened At"])  # ISO 8601
        commit_all(project)

        run_project_checks(project, env_dir)

        trained = run([python, "-m", f"{module}.model_building.train"], project, env)
        assert "WARNING" not in trained.stderr and "Traceback" not in trained.stderr
        assert "macro F1" in trained.stdout and "baseline" in trained.stdout
        metrics = json.loads((project / "outputs" / "metrics.json").read_text())
        labels = ["critical", "high", "low", "medium"]
        assert metrics["confusion_matrix"]["labels"] == labels
        assert sorted(metrics["per_class"]) == labels
        assert {"balanced_accuracy", "f1_macro", "baseline"} <= set(metrics)
        assert metrics["baseline"]["class"] == "low"
        assert metrics["balanced_classes"] is True
        assert metrics["ignored_columns"] == ["Ticket ID"]
        assert "Ticket ID" not in metrics["features"]
        assert metrics["f1_macro"] > metrics["baseline"]["f1_macro"]
        run_readme_serve_and_smoke_test(project, env)
    finally:
        azurite.terminate()
        azurite.wait(timeout=30)
