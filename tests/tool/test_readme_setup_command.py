"""The generated README's command for setting up Azure DevOps later works as printed.

It is ``pipx run --spec <this template> mlops-template provision``: pipx installs the
template's tool from the checkout the project was baked from (PyPI brings requests
and rich) and runs it in the project, against the loopback double.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import Baker, assert_fully_provisioned

from mlops_template.auth import PAT_VARIABLE


@pytest.mark.slow
def test_the_readme_command_sets_up_azure_devops_as_printed(
    baker: Baker, fake: FakeAzureDevOps, tmp_path: Path
) -> None:
    run, project = baker.bake(pat=None)  # no token: the bake skips the setup
    assert "Azure DevOps setup skipped: no token" in run.output, run.output
    readme = (project / "README.md").read_text(encoding="utf-8")
    (command,) = re.findall(
        r"^(pipx run --spec \S+ mlops-template provision) +# create", readme, re.M
    )
    tools = Path(sys.executable).parent  # pipx, from requirements-dev.txt
    env_prefix = (
        f"PATH={tools}:$PATH PIPX_HOME={tmp_path / 'pipx'} "
        f"PIP_CACHE_DIR={os.path.expanduser('~/.cache/pip')} XDG_CACHE_HOME={tmp_path / 'cache'}"
    )
    result = baker.shell(f"{env_prefix} {command}", cwd=project)
    assert result.returncode == 0, result.output
    assert PAT_VARIABLE not in result.output
    assert_fully_provisioned(fake, project)
