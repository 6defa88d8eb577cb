"""score.py's own cost: in-process against model.predict(), and in the server.

Bakes the default project, builds its environment, trains the model on the
bundled sample, then, in that environment:

(a) in one process, ``score.run(json)`` against ``model.predict(frame)`` on
    the same rows: 1 row (overhead = median run - median predict, target
    <= 1 ms) and 10,000 rows (ratio of medians, target <= 1.3);
(b) Microsoft's inference server under gunicorn on 127.0.0.1: p50 and p99
    latency of 500 one-row requests to score.py, beside the same server with
    a score.py whose run() returns a constant (ratio, target <= 1.5) and one
    whose run() only calls model.predict() (the model's own cost).

    .venv/bin/python benchmarks/score.py
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from baked import baked_project

WORKER = Path(__file__).resolve().with_name("score_worker.py")


def main() -> None:
    project, env_dir = baked_project()
    subprocess.run(
        [str(env_dir / "bin" / "python"), str(WORKER), "--project", str(project)],
        check=True,
    )


if __name__ == "__main__":
    main()
