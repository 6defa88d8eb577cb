"""Provisioning against the Azure DevOps and Resource Manager doubles, 100 ms per request.

    .venv/bin/python benchmarks/provision.py

Bakes the default project (no organization, so the hook does not provision), then runs
`mlops-template provision` in it twice, signed in only through a stub `az` (no PAT): a
fresh provisioning including the pipelines' Azure identity, and a re-run that must find
everything in place. Prints the REST requests to Azure DevOps and to Resource Manager (git
smart HTTP apart), the writes among them, and the wall time, next to the time the same
requests would take one after another (the baseline: serial sum of 100 ms each).

Targets: fresh <= 56 REST requests (40 before issue 21: holding the project's lock in Azure
DevOps adds its push and its release, and the lookup and what-if under the lock again); re-run
<= 30 REST requests (24 before the Azure side's what-if; a re-run that changes nothing takes
no lock) and 0 writes; wall time below the serial sum.

The empty-subscription case (issue 18): no resource group, no workspace; the ARM double takes
2 s for each resource of a deployment. Fresh (the whole Azure side as one deployment, the
training data uploaded), re-run (what-if says NoChange: zero writes) and teardown. Targets:
fresh <= 60 requests in all (Azure DevOps and ARM); re-run <= 30 and 0 writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

import json  # noqa: E402

from cookiecutter.main import cookiecutter  # noqa: E402
from fakes.arm import FakeResourceManager  # noqa: E402
from fakes.az_stub import (  # noqa: E402
    AZURE_DEVOPS_RESOURCE,
    RESOURCE_MANAGER,
    STORAGE,
    AzStub,
    install_az,
)
from fakes.azure_devops import FakeAzureDevOps  # noqa: E402
from fakes.blobs import FakeBlobStorage  # noqa: E402

LATENCY = 0.1
PAT = "benchmark-token-0123456789abcdefghijklmnopqrstuvwxyz"  # the double's; never sent
PROJECT = "ML Platform"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


def provision(
    project: Path,
    fake: FakeAzureDevOps,
    arm: FakeResourceManager,
    az: AzStub,
    blobs: FakeBlobStorage | None = None,
    command: tuple[str, ...] = ("provision", "--organization", "{org}", "--project", PROJECT),
) -> tuple[float, int]:
    env = az.env(
        {
            **os.environ,
            "AZURE_DEVOPS_IDENTITY_URL": fake.identity_url,
            "AZURE_RESOURCE_MANAGER_URL": arm.url,
            "XDG_CACHE_HOME": str(project.parent / "cache"),  # the run's lock file
        }
    )
    if blobs is not None:
        env["AZURE_STORAGE_BLOB_URL"] = blobs.base
    env.pop("AZURE_DEVOPS_EXT_PAT", None)
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("mlops-template")),
            *(part.format(org=fake.url) for part in command),
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
    serial = max((rest + len(git)) * LATENCY, LATENCY)
    print(
        f"{label}: exit {code}, {rest} REST requests ({len(devops)} Azure DevOps, "
        f"{len(arm.requests)} Resource Manager; {writes} writes), {len(git)} git requests; "
        f"{seconds:.2f} s wall; the same requests one after another: >= {serial:.2f} s "
        f"(wall / serial {seconds / serial:.2f})"
    )


@contextmanager
def doubles() -> Iterator[
    tuple[Path, AzStub, FakeAzureDevOps, FakeResourceManager, FakeBlobStorage]
]:
    """A baked default project (with a subscription id), the stub az, and the three doubles."""
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
        az = install_az(root / "az", "signed-in", subscription_id=SUBSCRIPTION)
        with (
            FakeAzureDevOps(root / "fake", pat=PAT) as fake,
            FakeResourceManager(
                token=az.tokens[RESOURCE_MANAGER], subscription_id=SUBSCRIPTION,
                tenant_id=az.tenant_id, caller_id=az.object_id,
            ) as arm,
            FakeBlobStorage(arm, token=az.tokens[STORAGE], caller_id=az.object_id) as blobs,
        ):  # fmt: skip
            fake.add_project(PROJECT)
            fake.accept_bearer(az.tokens[AZURE_DEVOPS_RESOURCE])
            fake.latency = arm.latency = blobs.latency = LATENCY
            yield project, az, fake, arm, blobs


def main() -> None:
    with doubles() as (project, az, fake, arm, blobs):
        variables = json.loads((project / "azure-devops.json").read_text())["variables"]
        arm.add_resource_group(variables["AZUREML_RESOURCE_GROUP"])
        arm.add_workspace(variables["AZUREML_RESOURCE_GROUP"], variables["AZUREML_WORKSPACE"])
        seconds, code = provision(project, fake, arm, az, blobs)
        report("fresh  (target <= 56 REST requests)", fake, arm, seconds, code)
        fresh_writes = [f"{r.method} {r.path}" for r in fake.writes + arm.writes]
        fake.clear_requests()
        arm.clear_requests()
        seconds, code = provision(project, fake, arm, az, blobs)
        label = "re-run (target <= 30 REST requests since the what-if, 0 writes)"
        report(label, fake, arm, seconds, code)
        writes = [f"{r.method} {r.path}" for r in fake.writes + arm.writes]
        if writes:
            print("re-run writes:", writes)
        if "-v" in sys.argv:
            print("fresh writes:", *fresh_writes, sep="\n  ")
    empty_subscription()


def empty_subscription() -> None:
    """Issue 18: from no resource group to everything, again, and teardown."""
    print("empty subscription (the ARM double takes 2 s per deployed resource):")
    with doubles() as (project, az, fake, arm, blobs):
        arm.resource_seconds = 2.0
        runs = [
            ("fresh    (target <= 60 requests in all)", ()),
            ("re-run   (target <= 30 requests, 0 writes)", ()),
            ("teardown (--yes; the storage account kept)", ("teardown", "--yes")),
        ]
        for label, command in runs:
            fake.clear_requests()
            arm.clear_requests()
            blobs.clear_requests()
            if command:
                seconds, code = provision(project, fake, arm, az, blobs, command)
            else:
                seconds, code = provision(project, fake, arm, az, blobs)
            report(label, fake, arm, seconds, code)
            print(f"  + {len(blobs.requests)} Blob service requests ({len(blobs.writes)} writes)")
            if label.startswith("re-run") and (fake.writes or arm.writes):
                print(
                    "  re-run writes:", [f"{r.method} {r.path}" for r in fake.writes + arm.writes]
                )


if __name__ == "__main__":
    main()
