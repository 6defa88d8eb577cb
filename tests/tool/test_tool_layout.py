"""The tool's layout as docs/developing.md shows it: every module named, none over 300 lines."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "src" / "mlops_template"
DEVELOPING = REPO_ROOT / "docs" / "developing.md"
MOST_LINES = 300  # docs/azure-devops.md: "none is over 300 lines"


def test_every_module_of_the_tool_has_its_line_in_the_layout() -> None:
    """docs/developing.md's table of the tool lists exactly the modules of src/mlops_template."""
    text = DEVELOPING.read_text(encoding="utf-8")
    table = text.split("### The tool: `src/mlops_template/`", 1)[1].split("\n### ", 1)[0]
    listed = re.findall(r"^\| `([\w.]+\.py)` \|", table, re.MULTILINE)
    assert sorted(listed) == sorted(path.name for path in TOOL.glob("*.py"))


def test_no_module_of_the_tool_is_over_300_lines() -> None:
    """Each module stays small (style: one job each); a longer one is split where it has a seam."""
    lengths = {path.name: len(path.read_text().splitlines()) for path in TOOL.glob("*.py")}
    assert {name: n for name, n in lengths.items() if n > MOST_LINES} == {}
