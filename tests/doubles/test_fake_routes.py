"""The double serves exactly the routes the tool calls.

Every provisioning test's double fails the test when the tool calls a route the double
lacks (``provisioning_env.started_fake``); this test fails when the double keeps a route
that no run of the tool calls: a fresh setup that creates the project, a re-run that
adds a secret (taking over the project's lock a run that died left), and a second bake whose
history is not the repository's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import PROJECT, SLUG, Baker, started_fake

LOCK_REF = "refs/mlops-template/provision-lock"


def test_every_route_of_the_double_is_one_the_tool_calls(tmp_path: Path) -> None:
    for fake in started_fake(tmp_path, project=False):
        baker = Baker(tmp_path, fake)
        run, project = baker.bake(azure_devops_create_project="yes")
        assert "Azure DevOps is set up" in run.output, run.output
        (project / "secrets.json").write_text(json.dumps({"connection_string": "Account=x"}))
        left = {"state": "held", "holder": "Ana", "host": "gone", "since": time.time() - 86400}
        fake.add_commit(PROJECT, SLUG, LOCK_REF, json.dumps(left), "/provision-lock.json")
        rerun = baker.provision(project)
        assert rerun.returncode == 0, rerun.output
        assert "Taking over the provision lock Ana left on gone" in rerun.output
        baker.bake(folder="again", azure_devops_create_project="yes")  # another history
        assert fake.served == FakeAzureDevOps.route_keys()
