"""Issue 20's defaults and local-blob instructions, as a default bake writes them.

The quality gate's default metric follows ``TASK`` in the baked ``settings.py``,
and the README's "Try the blob path on your machine (Azurite)" section agrees
with the files it names: ``npm run azurite`` is the project's script, the
``secrets.json`` it shows points at that script's address, and its upload
command is a module of the project. (The upload itself, read back as a blob,
is the baked project's own test: ``tests/test_upload_data.py``.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

AZURITE_SECTION = "### Try the blob path on your machine (Azurite)"


def baked_settings(bake: Any, task: str) -> dict[str, Any]:
    """The default bake's settings.py, run as Python with ``TASK = task``."""
    result = bake()
    path = result.project_path / "src" / result.context["module_name"] / "settings.py"
    text, count = re.subn(
        r"^TASK = .*$", f"TASK = {task!r}", path.read_text(encoding="utf-8"), flags=re.M
    )
    assert count == 1, "settings.py has no single TASK line"
    namespace: dict[str, Any] = {}
    exec(compile(text, str(path), "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("task", "metric"), [("classification", "f1_macro"), ("regression", "rmse")]
)
def test_the_default_gate_metric_follows_the_task(bake: Any, task: str, metric: str) -> None:
    """Switching TASK alone switches the gate: macro F1 for a classification
    (every class counts alike), RMSE for a regression."""
    assert baked_settings(bake, task)["GATE_METRIC"] == metric


def azurite_section(project: Path) -> str:
    readme = (project / "README.md").read_text(encoding="utf-8")
    start = readme.index(AZURITE_SECTION)
    end = readme.find("\n## ", start)
    return readme[start : end if end != -1 else None]


def test_readme_azurite_section_matches_the_project(bake: Any) -> None:
    """`npm run azurite` starts Azurite on 127.0.0.1 without telemetry, the
    README's secrets.json reaches that port with the answered container, and
    the upload command names a module of the project."""
    result = bake()
    project = result.project_path
    section = azurite_section(project)
    assert "```bash\nnpm run azurite\n```" in section

    script = json.loads((project / "package.json").read_text())["scripts"]["azurite"]
    assert "--blobHost 127.0.0.1" in script and "--disableTelemetry" in script
    port = re.search(r"--blobPort (\d+)", script).group(1)

    (block,) = re.findall(r"```json\n(.+?)\n```", section, re.S)
    secrets = json.loads(block)
    endpoint = f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    assert endpoint in secrets["connection_string"]
    assert secrets["container_name"] == result.context["storage_container"]

    module = result.context["module_name"]
    (command,) = re.findall(rf"^python -m ({module}\.devtools\.\w+) \S+$", section, re.M)
    assert (project / "src" / Path(*command.split("."))).with_suffix(".py").is_file()
