"""Missing prerequisites fail under CI and skip elsewhere, saying how to install them."""

from __future__ import annotations

import pytest
from azurite_service import unavailable


def test_missing_azurite_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="npm ci"):
        unavailable("azurite-blob was not found")


def test_missing_azurite_skips_locally_with_instructions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm ci"):
        unavailable("azurite-blob was not found")
