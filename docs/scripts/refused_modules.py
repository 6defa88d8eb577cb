"""Regenerate hooks/refused_module_names.txt: the names a project's package may not take.

A package named like a module the project's environment installs would shadow it once
the project is installed (``pip install -e .`` puts ``src/`` first on the path). The
refused set is every top-level module of every distribution in the project's
environments (both Azure ML SDKs), the standard library, and the names Python itself
gives meaning to. Build the environments, then run::

    python docs/scripts/refused_modules.py <venv> [<venv> ...]

tests/test_refused_modules.py (slow) builds a v1 and a v2 project's environment and
fails when one of their modules is missing from the file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMES_FILE = REPO_ROOT / "hooks" / "refused_module_names.txt"

# Names Python or pytest give a meaning of their own, outside any distribution.
PYTHON_NAMES = ("__main__", "__pycache__", "__init__", "test", "tests", "conftest")

# Run inside an environment's own interpreter: the top-level modules of every
# distribution installed in its site-packages but editable ones (the baked project
# itself), from top_level.txt where the distribution has one, else from the files it
# installed (RECORD).
_LIST_MODULES = r"""
import json, site
from importlib.metadata import distributions
from pathlib import Path

site_packages = {Path(folder).resolve() for folder in site.getsitepackages()}
names = set()
for dist in distributions():
    if Path(dist.locate_file("")).resolve() not in site_packages:
        continue  # an egg-info in a source folder on the path, say
    direct = dist.read_text("direct_url.json")
    if direct and json.loads(direct).get("dir_info", {}).get("editable"):
        continue
    top_level = dist.read_text("top_level.txt")
    if top_level:
        names.update(line.strip().split("/")[0] for line in top_level.splitlines())
    for file in dist.files or ():
        parts = file.parts
        if not parts or parts[0] in ("..", "__pycache__"):
            continue
        if parts[0].endswith((".dist-info", ".data", ".egg-info")):
            continue
        first = parts[0]
        if len(parts) == 1:
            if not first.endswith((".py", ".pyc", ".so", ".pyd")):
                continue
            first = first.split(".")[0]
        names.add(first)
print(json.dumps(sorted(name for name in names if name.isidentifier())))
"""


def environment_modules(venv: Path) -> set[str]:
    """The lower-cased top-level module names installed in the virtual environment ``venv``."""
    python = venv / "bin" / "python"
    if not python.exists():
        python = venv / "Scripts" / "python.exe"
    listing = subprocess.run(
        [str(python), "-c", _LIST_MODULES], capture_output=True, text=True, check=True
    ).stdout
    return {name.lower() for name in json.loads(listing)}


def refused_names(venvs: list[Path]) -> set[str]:
    """Every name a project's package may not take, given its environments."""
    names = {name.lower() for name in sys.stdlib_module_names}
    names |= {name.lower() for name in sys.builtin_module_names}
    names |= set(PYTHON_NAMES)
    for venv in venvs:
        names |= environment_modules(venv)
    return names


def read_names(path: Path = NAMES_FILE) -> set[str]:
    """The names in the shipped file (comments and blank lines left out)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def write_names(names: set[str], path: Path = NAMES_FILE) -> None:
    header = (
        "# Module names a generated project's package may not take (lower case): the top-level\n"
        "# modules of its environments (both Azure ML SDKs), the standard library, and names\n"
        "# Python gives a meaning of its own. Generated: python docs/scripts/refused_modules.py\n"
    )
    path.write_text(header + "".join(f"{name}\n" for name in sorted(names)), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("venvs", nargs="+", type=Path, help="the projects' virtual environments")
    parser.add_argument("--keep", action="store_true", help="add to the names already in the file")
    args = parser.parse_args(argv)
    names = refused_names(args.venvs)
    if args.keep:
        names |= read_names()
    write_names(names)
    print(f"{len(names)} names in {NAMES_FILE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
