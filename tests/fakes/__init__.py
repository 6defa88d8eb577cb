"""Loopback test doubles for the services the template talks to."""

from .azure_devops import FakeAzureDevOps
from .records import Recorded

__all__ = ["FakeAzureDevOps", "Recorded"]
