"""Data preprocessing: chainable, tested pandas steps.

Example::

    from {{ cookiecutter.module_name }}.data_preprocessing import DataPreprocessor

    clean = DataPreprocessor(raw).drop_columns("id").drop_missing().get_df()
"""

from .preprocessor import DataPreprocessor, PreprocessingError, UnknownColumnError

__all__ = ["DataPreprocessor", "PreprocessingError", "UnknownColumnError"]
