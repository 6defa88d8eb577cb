"""Provisioning against the Azure DevOps double with 100 ms latency per request.

    .venv/bin/python benchmarks/provision.py

Bakes the default project (no organization, so the hook does not provision),
then runs `mlops-template provision` in it twice: a fresh
provisioning, and a re-run that must find everything in place. Prints the
requests (REST and git smart HTTP), the writes among them, and the wall time,
next to the time the same requests would take one after another.

Targets: fresh <= 30 requests; re-run <= 15 requests and 0 writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from cookiecutter.main import cookiecutter  # noqa: E402
from fakes.azure_devops import FakeAzureDevOps  # noqa: E402

LATENCY = 0.1
PAT = "benchmark-token-0123456789abcdefghijklmnopqrstuvwxyz"
PROJECT = "ML Platform"


def provision(project: Path, fake: FakeAzureDevOps) -> tuple[float, int]:
    env = {
        **os.environ,
        "AZURE_DEVOPS_EXT_PAT": PAT,
        "AZURE_DEVOPS_IDENTITY_URL": fake.identity_url,
        "XDG_CACHE_HOME": str(project.parent / "cache"),  # the run's lock file
    }
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("mlops-template")),
            "provision",
            "--organization",
            fake.url,
            "--project",
            PROJECT,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, result.returncode


def report(label: str, fake: FakeAzureDevOps, seconds: float, code: int) -> None:
    requests = len(fake.requests)
    writes = len(fake.writes)
    git = sum("/_git/" in r.path for r in fake.requests)
    serial = requests * LATENCY
    print(
        f"{label}: exit {code}, {requests} requests ({git} of them git, {writes} writes), "
        f"{seconds:.2f} s wall; "
        f"the same requests one after another: >= {serial:.2f} s "
        f"(wall / serial {seconds / serial:.2f})"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = Path(
            cookiecutter(
                str(REPO_ROOT),
                no_input=True,
                output_dir=str(root / "out"),
                extra_context={
                    "azure_subscription_id": "11111111-2222-3333-4444-555555555555",
                    "azure_tenant_id": "66666666-7777-8888-9999-000000000000",
                    "azure_client_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                },
            )
        )
        with FakeAzureDevOps(root / "fake", pat=PAT) as fake:
            fake.add_project(PROJECT)
            fake.latency = LATENCY
            seconds, code = provision(project, fake)
            report("fresh  (target <= 30 requests)", fake, seconds, code)
            fresh_writes = [f"{r.method} {r.path}" for r in fake.writes]
            fake.clear_requests()
            seconds, code = provision(project, fake)
            report("re-run (target <= 15 requests, 0 writes)", fake, seconds, code)
            if fake.writes:
                print("re-run writes:", [f"{r.method} {r.path}" for r in fake.writes])
            if "-v" in sys.argv:
                print("fresh writes:", *fresh_writes, sep="\n  ")


if __name__ == "__main__":
    main()
