"""Runs inside the baked project's environment; see score.py."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ONE_ROW_REPEATS = 2000
MANY_ROWS = 10_000
MANY_ROWS_REPEATS = 30
SERVER_REQUESTS = 500
SERVER_WARMUP = 50

TRIVIAL_SCORE = """
def init():
    pass


def run(raw):
    return {"predictions": ["setosa"]}
"""

PREDICT_ONLY_SCORE = """
import os
from pathlib import Path

import joblib
import pandas as pd


def init():
    global model, frame
    model = joblib.load(next(Path(os.environ["AZUREML_MODEL_DIR"]).rglob("*.pkl")))
    frame = pd.DataFrame([[5.1, 3.5, 1.4, 0.2]], columns=model.feature_names_in_)


def run(raw):
    return {"predictions": model.predict(frame).tolist()}
"""


def sample_run(model: object, features: list[str]) -> Callable[[str], list]:
    """Microsoft's sample scoring run(), reimplemented in its four lines.

    Azure/azureml-examples cli/endpoints/online/model-1/onlinescoring/score.py:
    json.loads, numpy.array, model.predict, tolist (its two logging.info calls
    left out). It checks nothing: a bad request is an exception, a 500. One
    change: the array becomes a DataFrame with the model's feature names, since
    this project's model starts with its preparation, which selects columns by
    name (the sample's model is a bare estimator).
    """
    import numpy
    import pandas

    def run(raw: str) -> list:
        data = json.loads(raw)["data"]
        data = pandas.DataFrame(numpy.array(data), columns=features)
        result = model.predict(data)
        return result.tolist()

    return run


def against_the_sample(score: ModuleType, rows: list[list[float]]) -> None:
    """score.run() beside Microsoft's sample run() on the same model and payloads."""
    sample = sample_run(score.model, list(score._features))
    for count, repeats, target in ((1, ONE_ROW_REPEATS, 1.3), (len(rows), MANY_ROWS_REPEATS, 1.0)):
        raw = json.dumps({"data": rows[:count]})
        assert score.run(raw)["predictions"] == sample(raw)
        for _ in range(20):  # warm-up
            score.run(raw)
            sample(raw)
        run_s, sample_s = interleaved_medians(
            lambda raw=raw: score.run(raw), lambda raw=raw: sample(raw), repeats
        )
        print(
            f"{count} row(s), median of {repeats}: score.run() {run_s * 1000:.3f} ms, "
            f"sample run() {sample_s * 1000:.3f} ms; ratio {run_s / sample_s:.2f} "
            f"(target <= {target})"
        )
    refused = [name for name, body in BAD_BODIES.items() if score.run(body).status_code >= 400]
    assert refused == list(BAD_BODIES), set(BAD_BODIES) - set(refused)
    print(
        f"score.run() still refuses all {len(refused)} bad requests with a 4xx "
        f"({', '.join(refused)}); the sample answers them with an exception (500) "
        "or a wrong answer"
    )


# Requests the sample does not refuse with a 400 (a 500 or a wrong answer).
BAD_BODIES = {
    "malformed JSON": '{"data": [[5.1, 3.5,',
    "no data key": '{"rows": [[5.1, 3.5, 1.4, 0.2]]}',
    "empty data": '{"data": []}',
    "too few values": '{"data": [[5.1, 3.5, 1.4]]}',
    "all null": '{"data": [[null, null, null, null]]}',
    "infinity": '{"data": [[Infinity, 3.5, 1.4, 0.2]]}',
    "unknown column": '{"data": [{"colour": 1}]}',
}


def load_by_path(path: Path) -> ModuleType:
    """Import a scoring script from its path, as the inference server does."""
    spec = importlib.util.spec_from_file_location("entry_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def interleaved_medians(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median seconds of each callable, run alternately so drift hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for function, bucket in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            function()
            bucket.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def in_process(score: ModuleType, rows: list[list[float]]) -> None:
    """(a) score.run() on JSON against model.predict() on a ready DataFrame."""
    import pandas as pd

    features = score._features
    model = score.model

    one = [rows[0]]
    one_raw, one_frame = json.dumps({"data": one}), pd.DataFrame(one, columns=features)
    assert score.run(one_raw)["predictions"] == model.predict(one_frame).tolist()
    for _ in range(50):  # warm-up
        score.run(one_raw)
        model.predict(one_frame)
    run_s, predict_s = interleaved_medians(
        lambda: score.run(one_raw), lambda: model.predict(one_frame), ONE_ROW_REPEATS
    )
    overhead_ms = (run_s - predict_s) * 1000
    print(
        f"1 row, median of {ONE_ROW_REPEATS}: run() {run_s * 1000:.3f} ms, "
        f"predict() {predict_s * 1000:.3f} ms; overhead {overhead_ms:.3f} ms "
        "(target <= 1 ms)"
    )

    many_raw = json.dumps({"data": rows})
    many_frame = pd.DataFrame(rows, columns=features)
    assert score.run(many_raw)["predictions"] == model.predict(many_frame).tolist()
    run_s, predict_s = interleaved_medians(
        lambda: score.run(many_raw), lambda: model.predict(many_frame), MANY_ROWS_REPEATS
    )
    print(
        f"{len(rows)} rows, median of {MANY_ROWS_REPEATS}: run() {run_s * 1000:.1f} ms, "
        f"predict() {predict_s * 1000:.1f} ms; ratio {run_s / predict_s:.3f} "
        "(target <= 1.3)"
    )

    records_raw = json.dumps({"data": [dict(zip(features, row, strict=True)) for row in rows]})
    run_s, predict_s = interleaved_medians(
        lambda: score.run(records_raw), lambda: model.predict(many_frame), MANY_ROWS_REPEATS
    )
    print(
        f"{len(rows)} rows as objects (for information): run() {run_s * 1000:.1f} ms, "
        f"ratio {run_s / predict_s:.3f}"
    )


class NullCollector:
    """A Collector that accepts everything and keeps nothing: collection's own cost."""

    def __init__(self, *, name: str, on_error: Callable[[Exception], object]) -> None:
        self.name = name

    def collect(self, data: object, correlation_context: object = None) -> object:
        return correlation_context


def data_collection(score_path: Path, model_dir: Path, rows: list[list[float]]) -> None:
    """(c) score.run() with data collection on against off, 1 row and 10,000 rows.

    On: azureml-ai-monitoring installed but its collections not enabled, as
    everywhere but a deployment (the no-op path). Off: no package
    (``Collector`` None, as in an SDK v1 project). For information, enabled with
    a collector that keeps nothing: what building the collected frames costs.
    """
    variants = {}
    for name, collector in (("on", "real"), ("off", None), ("enabled", NullCollector)):
        module = load_by_path(score_path)
        if collector != "real":
            module.Collector = collector
        module.init(model_dir)
        variants[name] = module
    if variants["on"].Collector is None:
        print("data collection: azureml-ai-monitoring is not installed; 'on' is 'off'")
    assert variants["on"]._collectors is None and variants["enabled"]._collectors
    for count, repeats in ((1, ONE_ROW_REPEATS), (len(rows), MANY_ROWS_REPEATS)):
        raw = json.dumps({"data": rows[:count]})
        runs = {name: (lambda m=module, raw=raw: m.run(raw)) for name, module in variants.items()}
        for _ in range(20):  # warm-up
            for function in runs.values():
                function()
        on_s, off_s = interleaved_medians(runs["on"], runs["off"], repeats)
        enabled_s, _ = interleaved_medians(runs["enabled"], runs["off"], repeats)
        print(
            f"{count} row(s), median of {repeats}: collection on (no-op) "
            f"{on_s * 1000:.3f} ms, off {off_s * 1000:.3f} ms; ratio {on_s / off_s:.3f} "
            f"(target <= 1.1); enabled, keeping nothing (for information) "
            f"{enabled_s * 1000:.3f} ms"
        )


def latencies(uris: dict[str, str], body: str) -> dict[str, list[float]]:
    """Seconds per POST for each URI, the requests interleaved."""
    import requests

    headers = {"Content-Type": "application/json"}
    times: dict[str, list[float]] = {name: [] for name in uris}
    with requests.Session() as session:
        for index in range(SERVER_WARMUP + SERVER_REQUESTS):
            for name, uri in uris.items():
                started = time.perf_counter()
                response = session.post(uri, data=body, headers=headers, timeout=30)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if index >= SERVER_WARMUP:
                    times[name].append(elapsed)
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def through_server(
    score_path: Path, model_dir: Path, work: Path, row: list[float], predict_s: float
) -> None:
    """(b) p50/p99 of 1-row requests: our score.py against a constant run().

    A third server, whose run() only calls model.predict() on a ready frame,
    separates what score.py adds from what the model itself costs.
    """
    scripts = {"score.py": score_path}
    for name, text in (("constant", TRIVIAL_SCORE), ("predict-only", PREDICT_ONLY_SCORE)):
        scripts[name] = work / name / "score.py"
        scripts[name].parent.mkdir()
        scripts[name].write_text(text)
    body = json.dumps({"data": [row]})
    from inference_server import run_inference_server  # the baked project's tests/

    with contextlib.ExitStack() as stack:
        uris = {
            name: stack.enter_context(run_inference_server(script, model_dir, work / f"{name}.log"))
            for name, script in scripts.items()
        }
        times = latencies(uris, body)
    p50 = {name: percentile(values, 0.5) * 1000 for name, values in times.items()}
    p99 = {name: percentile(values, 0.99) * 1000 for name, values in times.items()}
    print(f"server, 1 row, {SERVER_REQUESTS} requests each (interleaved):")
    for name in scripts:
        print(f"  {name:<13} p50 {p50[name]:6.2f} ms, p99 {p99[name]:6.2f} ms")
    print(
        f"score.py / constant run(): p50 ratio {p50['score.py'] / p50['constant']:.2f}, "
        f"p99 ratio {p99['score.py'] / p99['constant']:.2f} (target <= 1.5)"
    )
    print(
        f"score.py / predict-only run(): p50 ratio "
        f"{p50['score.py'] / p50['predict-only']:.2f}, p99 ratio "
        f"{p99['score.py'] / p99['predict-only']:.2f}; model.predict() in-process "
        f"{predict_s * 1000:.2f} ms (the model's own cost, not score.py's)"
    )


def run(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd

    project = Path(args.project)
    sys.path.insert(0, str(project / "tests"))
    module = next(
        path.name for path in (project / "src").iterdir() if (path / "__init__.py").exists()
    )
    train = importlib.import_module(f"{module}.model_building.train")
    ingestion = importlib.import_module(f"{module}.data_ingestion")
    score_path = project / "src" / module / "deployment" / "score.py"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        model_dir = work / "model"
        train.train_and_save(ingestion.sample_data_path(), model_dir / "model.pkl")
        score = load_by_path(score_path)
        score.init(model_dir)
        iris = pd.read_csv(ingestion.sample_data_path())[score._features]
        rng = np.random.default_rng(0)
        picked = iris.to_numpy()[rng.integers(0, len(iris), MANY_ROWS)]
        rows = np.round(picked + rng.normal(0, 0.1, picked.shape), 2).tolist()
        print(
            f"model: {type(score.model[-1]).__name__} in a Pipeline; "
            f"python {sys.version.split()[0]}"
        )
        data_collection(score_path, model_dir, rows)
        against_the_sample(score, rows)
        in_process(score, rows)
        frame = pd.DataFrame([rows[0]], columns=score._features)
        predict_s, _ = interleaved_medians(lambda: score.model.predict(frame), lambda: None, 200)
        through_server(score_path, model_dir, work, rows[0], predict_s)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
