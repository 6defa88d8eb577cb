"""The project's package: data ingestion, preprocessing, training and deployment."""

__version__ = "0.1.0"
