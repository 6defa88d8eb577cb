"""score.py's own cost: in-process against model.predict(), and in the server.

Bakes the default project, builds its environment, trains the model on the
bundled sample, then, in that environment:

(0) in one process, ``score.run(json)`` beside Microsoft's sample scoring
    script (Azure/azureml-examples
    ``cli/endpoints/online/model-1/onlinescoring/score.py``, reimplemented in
    its four lines: json.loads, numpy.array, model.predict, tolist) on the same
    model and payloads: 1 row (ratio, target <= 1.3) and 10,000 rows (ratio,
    target <= 1.0); and a check that score.run() still refuses with a 4xx the
    bad requests the sample does not;
(a) in one process, ``score.run(json)`` against ``model.predict(frame)`` on
    the same rows: 1 row (overhead = median run - median predict, target
    <= 1 ms) and 10,000 rows (ratio of medians, target <= 1.3);
(b) Microsoft's inference server under gunicorn on 127.0.0.1: p50 and p99
    latency of 500 one-row requests to score.py, beside the same server with
    a score.py whose run() returns a constant (ratio, target <= 1.5) and one
    whose run() only calls model.predict() (the model's own cost);
(c) in one process, ``score.run(json)`` with data collection on (the no-op
    path: azureml-ai-monitoring installed, its collections not enabled, as
    everywhere but a deployment) against off (no package): 1 row and 10,000
    rows (ratios, target <= 1.1).

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
