"""Training: the pipeline, its metrics, the files it writes and the command line."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import joblib
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.model_building import (
    train,
)

# These tests check the training code on the bundled iris sample, whatever
# settings.py says; test_project_model.py trains on the project's own data.
pytestmark = pytest.mark.usefixtures("iris_settings")

IRIS_CLASSES = ["setosa", "versicolor", "virginica"]
METRIC_KEYS = {
    "task",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "average",
    "classes",
    "f1_macro",
    "balanced_accuracy",
    "per_class",
    "confusion_matrix",
    "baseline",
    "balanced_classes",
    "ignored_columns",
    "features",
    "n_test",
    "n_train",
    "seed",
    "sklearn_version",
}


def run_cli(output: Path, *args: str) -> dict:
    assert train.main(["--output", str(output), *args]) == 0
    return json.loads(output.with_name("metrics.json").read_text(encoding="utf-8"))


def features_of(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=settings.TARGET_COLUMN)


def test_cli_trains_on_the_sample_and_writes_model_and_metrics(
    tmp_path: Path, iris: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out" / "model.pkl"
    metrics = run_cli(output)

    model = joblib.load(output)
    assert isinstance(model, Pipeline)
    assert list(model.feature_names_in_) == list(features_of(iris).columns)
    assert sorted(model.classes_) == IRIS_CLASSES
    assert set(model.predict(features_of(iris))) <= set(IRIS_CLASSES)

    assert set(metrics) >= METRIC_KEYS
    assert metrics["accuracy"] > 0.8
    assert metrics["classes"] == IRIS_CLASSES
    assert metrics["features"] == list(features_of(iris).columns)
    assert metrics["n_train"] + metrics["n_test"] == len(iris.drop_duplicates())
    assert metrics["seed"] == 0
    summary = capsys.readouterr().out
    assert "accuracy" in summary and str(output) in summary


def test_metrics_file_has_sorted_keys(tmp_path: Path) -> None:
    output = tmp_path / "model.pkl"
    run_cli(output)
    text = output.with_name("metrics.json").read_text(encoding="utf-8")
    content = json.loads(text)
    assert text == json.dumps(content, indent=2, sort_keys=True) + "\n"


def test_default_output_is_outputs_model_pkl(tmp_path: Path) -> None:
    # The autouse fixture runs each test in tmp_path.
    assert train.main([]) == 0
    assert (tmp_path / "outputs" / "model.pkl").is_file()
    assert (tmp_path / "outputs" / "metrics.json").is_file()


def test_same_seed_gives_same_model_and_metrics(
    tmp_path: Path, iris: pd.DataFrame
) -> None:
    first = run_cli(tmp_path / "a" / "model.pkl", "--seed", "7")
    second = run_cli(tmp_path / "b" / "model.pkl", "--seed", "7")
    assert first == second
    assert first["seed"] == 7
    predictions = [
        joblib.load(tmp_path / name / "model.pkl").predict_proba(features_of(iris))
        for name in ("a", "b")
    ]
    assert (predictions[0] == predictions[1]).all()


def test_train_model_is_reproducible_in_memory(iris: pd.DataFrame) -> None:
    model_a, metrics_a = train.train_model(iris, seed=3)
    model_b, metrics_b = train.train_model(iris, seed=3)
    assert metrics_a == metrics_b
    assert (
        model_a.predict(features_of(iris)) == model_b.predict(features_of(iris))
    ).all()


def test_missing_target_column_names_it_and_the_available_columns(
    iris: pd.DataFrame,
) -> None:
    df = iris.rename(columns={"species": "label"})
    with pytest.raises(train.TrainingError) as info:
        train.train_model(df)
    message = str(info.value)
    assert "'species'" in message
    assert "'label'" in message and "'sepal_length_cm'" in message
    assert "TARGET_COLUMN" in message


def test_cli_reports_a_data_error_in_one_line_and_exits_1(
    tmp_path: Path, iris: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """A TrainingError is one message on stderr and exit code 1, no traceback."""
    path = tmp_path / "no_target.csv"
    iris.drop(columns="species").to_csv(path, index=False)
    argv = ["--data", str(path), "--output", str(tmp_path / "model.pkl")]
    assert train.main(argv) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: the target column 'species'")
    assert "Traceback" not in error and "--debug" in error
    assert not (tmp_path / "model.pkl").exists()


def test_cli_reports_data_it_cannot_read_in_one_line_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A blob without credentials (a DataIngestionError) is one line, no traceback."""
    assert train.main(["--data", "blob:missing.csv", "--output", "model.pkl"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: no Azure Storage credentials found")
    assert "Traceback" not in error


def test_cli_with_debug_raises_the_error(tmp_path: Path, iris: pd.DataFrame) -> None:
    """--debug lets the TrainingError through, with its traceback."""
    path = tmp_path / "no_target.csv"
    iris.drop(columns="species").to_csv(path, index=False)
    argv = ["--data", str(path), "--output", str(tmp_path / "model.pkl"), "--debug"]
    with pytest.raises(train.TrainingError, match="target column 'species'"):
        train.main(argv)


def test_prepare_drops_duplicates_and_rows_without_target(
    iris: pd.DataFrame,
) -> None:
    df = pd.concat([iris.head(3), iris.head(1)], ignore_index=True)
    df.loc[1, "species"] = None
    features, target = train.prepare(df)
    assert target.tolist() == ["setosa", "setosa"]
    assert list(features.columns) == list(features_of(iris).columns)


def test_class_with_one_row_is_a_clear_error(iris: pd.DataFrame) -> None:
    df = pd.concat([iris, iris.head(1).assign(species="rare")], ignore_index=True)
    with pytest.raises(train.TrainingError, match=r"\['rare'\] have fewer than 2"):
        train.train_model(df)


def test_pipeline_encodes_text_columns_and_ignores_unknown_values(
    iris: pd.DataFrame,
) -> None:
    df = iris.assign(site=["north", "south", "east"] * (len(iris) // 3))
    model, metrics = train.train_model(df)
    assert "site" in metrics["features"]
    unseen = features_of(df).head(2).assign(site="west")
    assert len(model.predict(unseen)) == 2


def test_unusable_columns_are_rejected_with_what_to_do(iris: pd.DataFrame) -> None:
    """A column of durations (no role) names itself and where to convert it."""
    df = iris.assign(wait=pd.Timedelta("1h"))
    with pytest.raises(train.TrainingError, match=r"wait.*preparation\.py"):
        train.train_model(df)


def test_classification_metrics_tell_the_truth(iris: pd.DataFrame) -> None:
    """Balanced accuracy, per-class scores, the confusion matrix in label
    order and the majority-class baseline are in the metrics."""
    _, metrics = train.train_model(iris)
    assert 0 < metrics["balanced_accuracy"] <= 1
    assert sorted(metrics["per_class"]) == IRIS_CLASSES
    assert set(metrics["per_class"]["setosa"]) == {
        "precision",
        "recall",
        "f1",
        "support",
    }
    matrix = metrics["confusion_matrix"]
    assert matrix["labels"] == IRIS_CLASSES
    assert sum(map(sum, matrix["matrix"])) == metrics["n_test"]
    assert metrics["baseline"]["accuracy"] == pytest.approx(1 / 3)
    assert metrics["baseline"]["f1_macro"] < metrics["f1_macro"]


def test_the_confusion_matrix_rows_and_columns_follow_its_labels() -> None:
    """Row i is the true class labels[i], column j the predicted labels[j], and
    per_class and the baseline are computed for those same labels."""
    target = pd.Series(["b", "b", "a", "a", "a", "c"])
    predicted = ["b", "a", "a", "a", "c", "a"]
    report = train._class_report(target, predicted, ["a", "b", "c"])
    assert report["confusion_matrix"] == {
        "labels": ["a", "b", "c"],
        "matrix": [[2, 0, 1], [1, 1, 0], [1, 0, 0]],
    }
    assert report["per_class"]["a"]["recall"] == pytest.approx(2 / 3)
    assert report["per_class"]["b"]["precision"] == 1.0
    assert report["per_class"]["c"]["support"] == 1
    assert report["baseline"]["class"] == "a"
    assert report["baseline"]["accuracy"] == pytest.approx(0.5)


def test_the_summary_line_shows_macro_f1_and_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The line train prints names the macro F1 and the majority baseline."""
    run_cli(tmp_path / "model.pkl")
    line = capsys.readouterr().out
    assert "macro F1 " in line and "majority-class baseline" in line


@pytest.mark.parametrize(
    ("setting", "smallest", "balanced"),
    [("auto", 9, True), ("auto", 10, False), (False, 9, False), (True, 50, True)],
    ids=["auto-under-a-fifth", "auto-a-fifth", "off", "on"],
)
def test_class_weighting_follows_balance_classes(
    monkeypatch: pytest.MonkeyPatch, setting: object, smallest: int, balanced: bool
) -> None:
    """With "auto", classes are weighed when the smallest is under a fifth of the largest."""
    monkeypatch.setattr(settings, "BALANCE_CLASSES", setting)
    target = pd.Series(["a"] * 50 + ["b"] * smallest)
    assert train.balance_classes(target) is balanced


def test_an_unknown_balance_classes_value_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A BALANCE_CLASSES that is neither "auto", True nor False is a
    TrainingError naming the setting and its choices, not a silent default."""
    monkeypatch.setattr(settings, "BALANCE_CLASSES", "yes")
    with pytest.raises(train.TrainingError, match=r"BALANCE_CLASSES is 'yes'.*auto"):
        train.balance_classes(pd.Series(["a"] * 50 + ["b"] * 9))


def test_an_imbalanced_model_is_trained_with_class_weights(
    iris: pd.DataFrame,
) -> None:
    """The metrics say so, and the estimator has class_weight="balanced"."""
    rare = iris[iris["species"] == "virginica"].head(9)
    df = pd.concat([iris[iris["species"] != "virginica"], rare])
    model, metrics = train.train_model(df)
    assert metrics["balanced_classes"] is True
    assert model.named_steps["model"].class_weight == "balanced"


def test_cli_reads_a_local_csv_path(tmp_path: Path, iris: pd.DataFrame) -> None:
    path = tmp_path / "iris_copy.csv"
    iris.to_csv(path, index=False)
    metrics = run_cli(tmp_path / "model.pkl", "--data", str(path))
    assert metrics["accuracy"] > 0.8


def test_cli_reads_a_file_url(tmp_path: Path, iris: pd.DataFrame) -> None:
    path = tmp_path / "iris_copy.csv"
    iris.to_csv(path, index=False)
    metrics = run_cli(tmp_path / "model.pkl", "--data", path.as_uri())
    assert metrics["n_test"] > 0


def test_trained_model_dir_fixture_holds_model_and_metrics(
    trained_model_dir: Path, iris: pd.DataFrame
) -> None:
    model = joblib.load(trained_model_dir / "model.pkl")
    metrics = json.loads((trained_model_dir / "metrics.json").read_text("utf-8"))
    assert set(metrics) >= METRIC_KEYS
    assert set(model.predict(features_of(iris))) == set(IRIS_CLASSES)


# -- --compute: submission to Azure ML, with the job module replaced -----------------


class FakeJobError(RuntimeError):
    """Stands in for the job module's TrainingJobError."""


class FakeJobModule:
    """What the fake job module records, and how its job ends."""

    def __init__(self) -> None:
        self.submitted: list[tuple] = []
        self.ran: list[tuple] = []
        self.failure: str | None = None


@pytest.fixture
def fake_job_module(monkeypatch: pytest.MonkeyPatch) -> FakeJobModule:
    fake = FakeJobModule()

    def submit_training_job(compute: str, data: str, *, seed: int = 0) -> str:
        fake.submitted.append((compute, data, seed))
        return "https://ml.azure.com/runs/fake-job"

    def run_training_job(
        compute: str, data: str, *, seed: int = 0, output: Path
    ) -> str:
        """Like the job on the cluster: writes model.pkl and metrics.json."""
        fake.ran.append((compute, data, seed, output))
        if fake.failure:
            raise FakeJobError(fake.failure)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(b"model from the cluster")
        metrics = {"accuracy": 0.9667, "n_test": 30, "n_train": 120}
        output.with_name("metrics.json").write_text(json.dumps(metrics))
        return "https://ml.azure.com/runs/fake-job"

    module = types.ModuleType(f"{train.__package__}.azureml_job")
    module.TrainingJobError = FakeJobError
    module.submit_training_job = submit_training_job
    module.run_training_job = run_training_job
    monkeypatch.setitem(sys.modules, module.__name__, module)

    def no_local_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("--compute must not train locally")

    monkeypatch.setattr(train, "train_and_save", no_local_training)
    return fake


def test_compute_submits_the_job_instead_of_training(
    fake_job_module: FakeJobModule,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "model.pkl"
    code = train.main(
        [
            "--compute",
            "gpu-cluster",
            "--data",
            "raw/iris.csv",
            "--seed",
            "5",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    assert fake_job_module.submitted == [("gpu-cluster", "raw/iris.csv", 5)]
    assert fake_job_module.ran == []
    assert not output.exists()
    assert "https://ml.azure.com/runs/fake-job" in capsys.readouterr().out


def test_compute_defaults_to_the_sample_data(fake_job_module: FakeJobModule) -> None:
    assert train.main(["--compute", "cpu-cluster"]) == 0
    [(compute, data, seed)] = fake_job_module.submitted
    assert (compute, seed) == ("cpu-cluster", 0)
    assert Path(data).name == "iris.csv"


def test_compute_wait_downloads_the_model_like_local_training(
    fake_job_module: FakeJobModule,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--compute", "cpu-cluster", "--wait", "--data", "raw/iris.csv"]

    assert train.main([*argv, "--seed", "3"]) == 0

    output = Path("outputs") / "model.pkl"  # the default, in the current folder
    assert fake_job_module.submitted == []
    assert fake_job_module.ran == [("cpu-cluster", "raw/iris.csv", 3, output)]
    assert (tmp_path / output).read_bytes() == b"model from the cluster"
    assert (tmp_path / "outputs" / "metrics.json").is_file()
    out = capsys.readouterr().out
    assert "https://ml.azure.com/runs/fake-job" in out
    assert out.splitlines()[-1] == (
        f"accuracy 0.967 on 30 held-out rows; model: {output}, "
        f"metrics: {output.with_name('metrics.json')}"
    )


def test_compute_wait_writes_to_the_given_output(
    fake_job_module: FakeJobModule, tmp_path: Path
) -> None:
    output = tmp_path / "build" / "iris.pkl"

    assert train.main(["--compute", "c", "--wait", "--output", str(output)]) == 0

    assert fake_job_module.ran[0][3] == output
    assert output.is_file()
    assert (tmp_path / "build" / "metrics.json").is_file()


def test_compute_wait_reports_a_failed_job_and_exits_1(
    fake_job_module: FakeJobModule, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_job_module.failure = (
        "the training job job-1 is Failed, not Completed. See its logs in Azure "
        "ML studio: https://ml.azure.com/runs/job-1"
    )

    assert train.main(["--compute", "cpu-cluster", "--wait"]) == 1

    captured = capsys.readouterr()
    assert captured.err == f"error: {fake_job_module.failure}\n"
    assert "accuracy" not in captured.out
    assert not Path("outputs").exists()


def test_wait_without_compute_is_refused(
    fake_job_module: FakeJobModule, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        train.main(["--wait"])

    assert caught.value.code == 2
    assert "--compute" in capsys.readouterr().err
    assert fake_job_module.ran == fake_job_module.submitted == []


class MissingSdkFinder:
    """Makes importing the job module fail as it does without the SDK."""

    def __init__(self, module: str) -> None:
        self.module = module

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == self.module:
            raise ModuleNotFoundError("No module named 'azure.ai'", name="azure.ai")


def test_compute_without_the_sdk_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = f"{train.__package__}.azureml_job"
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(sys, "meta_path", [MissingSdkFinder(module), *sys.meta_path])
    assert train.main(["--compute", "cpu-cluster"]) == 2
    err = capsys.readouterr().err
    assert "azure.ai" in err
    assert "pip install -r requirements/lock/dev.txt" in err


def test_compute_with_a_module_of_the_package_missing_is_not_blamed_on_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules: the job module itself cannot be imported.
    monkeypatch.setitem(sys.modules, f"{train.__package__}.azureml_job", None)
    with pytest.raises(ModuleNotFoundError):
        train.main(["--compute", "cpu-cluster"])


# -- tasks, metrics and where the training data is read from -------------------------


def churn_frame(rows: int = 80) -> pd.DataFrame:
    """A small binary table with text, numbers and missing values."""
    frame = pd.DataFrame(
        {
            "plan": ["basic", "pro", None, "basic"] * (rows // 4),
            "monthly_fee": [10.0, 30.0, 12.5, None] * (rows // 4),
            "tenure": list(range(rows)),
        }
    )
    frame["churned"] = ["yes" if tenure % 3 else "no" for tenure in frame["tenure"]]
    return frame


def test_binary_metrics_are_for_the_positive_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "TARGET_COLUMN", "churned")
    _model, metrics = train.train_model(churn_frame())
    assert metrics["task"] == "classification"
    assert metrics["average"] == "binary"
    assert metrics["classes"] == ["no", "yes"]
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert 0.0 <= metrics[name] <= 1.0, name


def test_multiclass_metrics_are_macro_averaged(iris: pd.DataFrame) -> None:
    _, metrics = train.train_model(iris)
    assert metrics["average"] == "macro"
    assert metrics["roc_auc"] > 0.9
    assert metrics["f1"] == metrics["f1_macro"]


def test_regression_reports_rmse_mae_and_r2(
    monkeypatch: pytest.MonkeyPatch, iris: pd.DataFrame
) -> None:
    monkeypatch.setattr(settings, "TARGET_COLUMN", "petal_length_cm")
    monkeypatch.setattr(settings, "TASK", "regression")
    model, metrics = train.train_model(iris)
    assert set(metrics) >= {"task", "rmse", "mae", "r2", "n_train", "n_test"}
    assert "accuracy" not in metrics
    assert metrics["r2"] > 0.8
    assert model.named_steps["model"].__class__.__name__ == "Ridge"
    assert "R²" in train._summary(metrics, Path("m.pkl"))


def test_regression_on_a_text_target_says_to_change_the_task(
    monkeypatch: pytest.MonkeyPatch, iris: pd.DataFrame
) -> None:
    monkeypatch.setattr(settings, "TASK", "regression")
    with pytest.raises(train.TrainingError, match='TASK = "classification"'):
        train.train_model(iris)


def test_unknown_task_names_the_choices(
    monkeypatch: pytest.MonkeyPatch, iris: pd.DataFrame
) -> None:
    monkeypatch.setattr(settings, "TASK", "clustering")
    with pytest.raises(train.TrainingError, match="'classification', 'regression'"):
        train.train_model(iris)


def test_the_model_is_chosen_in_make_model(
    monkeypatch: pytest.MonkeyPatch, iris: pd.DataFrame
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    monkeypatch.setattr(
        train,
        "make_model",
        lambda task, seed=0, **options: DecisionTreeClassifier(random_state=seed),
    )
    model, _ = train.train_model(iris)
    assert isinstance(model.named_steps["model"], DecisionTreeClassifier)


def test_training_data_relative_to_the_project_is_found_from_any_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from {{ cookiecutter.module_name }}.azureml_config import (
        PROJECT_DIR,
    )
    from {{ cookiecutter.module_name }}.data_ingestion import (
        sample_data_path,
    )

    relative = sample_data_path().relative_to(PROJECT_DIR)
    monkeypatch.setattr(settings, "TRAINING_DATA", str(relative))
    assert train.training_source() == str(PROJECT_DIR / relative)


@pytest.mark.parametrize("value", ["raw/churn.csv", "blob:data/x.csv", "azureml:d:1"])
def test_training_data_that_is_no_project_file_is_passed_on(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setattr(settings, "TRAINING_DATA", value)
    assert train.training_source() == value


def test_cli_reads_a_relative_path_without_dot_slash(
    tmp_path: Path, iris: pd.DataFrame
) -> None:
    (tmp_path / "data").mkdir()
    iris.to_csv(tmp_path / "data" / "mine.csv", index=False)
    metrics = run_cli(tmp_path / "model.pkl", "--data", "data/mine.csv")
    assert metrics["n_train"] + metrics["n_test"] == len(iris.drop_duplicates())
