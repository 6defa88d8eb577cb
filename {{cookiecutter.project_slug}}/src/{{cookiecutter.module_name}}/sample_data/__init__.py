"""Small data sets shipped with the package, for offline work and tests."""

from pathlib import Path

IRIS_CSV = "iris.csv"


def sample_data_path(name: str = IRIS_CSV) -> Path:
    """Path of a bundled sample file; ``DataIngestor`` reads it like any local file.

    The iris data set (150 rows) is the copy bundled in scikit-learn, with
    snake_case column names and the species as text.
    """
    path = Path(__file__).with_name(name)
    if not path.is_file():
        raise FileNotFoundError(f"no sample data file {name!r} in {path.parent}")
    return path
