"""Provisioning against the Azure DevOps and Resource Manager doubles, 100 ms per request.

    .venv/bin/python benchmarks/provision.py

Bakes the default project (no organization, so the hook does not provision), then runs
`mlops-template provision` in it twice, signed in only through a stub `az` (no PAT): a
fresh provisioning including the pipelines' Azure identity, and a re-run that must find
everything in place. Prints the REST requests to Azure DevOps and to Resource Manager (git
smart HTTP apart), the writes among them, and the wall time, next to the time the same
requests would take one after another (the baseline: serial sum of 100 ms each).

Targets: fresh <= 44 REST requests; re-run <= 24 REST requests and 0 writes; wall time
below the serial sum. (A fresh run was 32 requests before issue 21: holding the project's
lock in Azure DevOps adds its push and its release, and the lookup under the lock about ten
reads; a re-run that changes nothing takes no lock.)
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

import json  # noqa: E402

from cookiecutter.main import cookiecutter  # noqa: E402
from fakes.arm import FakeResourceManager  # noqa: E402
from fakes.az_stub import AZURE_DEVOPS_RESOURCE, RESOURCE_MANAGER, AzStub, install_az  # noqa: E402
from fakes.azure_devops import FakeAzureDevOps  # noqa: E402

LATENCY = 0.1
PAT = "benchmark-token-0123456789abcdefghijklmnopqrstuvwxyz"  # the double's; never sent
PROJECT = "ML Platform"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


def provision(
    project: Path, fake: FakeAzureDevOps, arm: FakeResourceManager, az: AzStub
) -> tuple[float, int]:
    env = az.env(
        {
            **os.environ,
            "AZURE_DEVOPS_IDENTITY_URL": fake.identity_url,
            "AZURE_RESOURCE_MANAGER_URL": arm.url,
            "XDG_CACHE_HOME": str(project.parent / "cache"),  # the run's lock file
        }
    )
    env.pop("AZURE_DEVOPS_EXT_PAT", None)
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


def report(
    label: str, fake: FakeAzureDevOps, arm: FakeResourceManager, seconds: float, code: int
) -> None:
    git = [r for r in fake.requests if "/_git/" in r.path]
    devops = [r for r in fake.requests if "/_git/" not in r.path]
    rest = len(devops) + len(arm.requests)
    writes = sum(r.is_write for r in devops) + len(arm.writes)
    serial = (rest + len(git)) * LATENCY
    print(
        f"{label}: exit {code}, {rest} REST requests ({len(devops)} Azure DevOps, "
        f"{len(arm.requests)} Resource Manager; {writes} writes), {len(git)} git requests; "
        f"{seconds:.2f} s wall; the same requests one after another: >= {serial:.2f} s "
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
                extra_context={"azure_subscription_id": SUBSCRIPTION},
            )
        )
        variables = json.loads((project / "azure-devops.json").read_text())["variables"]
        az = install_az(root / "az", "signed-in", subscription_id=SUBSCRIPTION)
        with (
            FakeAzureDevOps(root / "fake", pat=PAT) as fake,
            FakeResourceManager(
                token=az.tokens[RESOURCE_MANAGER], subscription_id=SUBSCRIPTION,
                tenant_id=az.tenant_id,
            ) as arm,
        ):  # fmt: skip
            fake.add_project(PROJECT)
            fake.accept_bearer(az.tokens[AZURE_DEVOPS_RESOURCE])
            arm.add_resource_group(variables["AZUREML_RESOURCE_GROUP"])
            arm.add_workspace(variables["AZUREML_RESOURCE_GROUP"], variables["AZUREML_WORKSPACE"])
            fake.latency = arm.latency = LATENCY
            seconds, code = provision(project, fake, arm, az)
            report("fresh  (target <= 44 REST requests)", fake, arm, seconds, code)
            fresh_writes = [f"{r.method} {r.path}" for r in fake.writes + arm.writes]
            fake.clear_requests()
            arm.clear_requests()
            seconds, code = provision(project, fake, arm, az)
            report("re-run (target <= 24 REST requests, 0 writes)", fake, arm, seconds, code)
            writes = [f"{r.method} {r.path}" for r in fake.writes + arm.writes]
            if writes:
                print("re-run writes:", writes)
            if "-v" in sys.argv:
                print("fresh writes:", *fresh_writes, sep="\n  ")


if __name__ == "__main__":
    main()
