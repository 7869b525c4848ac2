"""Fixtures and markers the tests share: a test that needs Fashion-MNIST says so and is skipped without it."""

from __future__ import annotations

import functools
import os

import pytest

# `make test` installs the data and sets this, so there a missing data set fails the tests instead of skipping them.
REQUIRE_DATA_ENV = "VICINAL_TEST_REQUIRE_DATA"


@functools.cache
def fashion_mnist_missing() -> str | None:
    """None when Fashion-MNIST is installed, else why not (looked for once a session, never downloaded)."""
    from vicinal.data import DataNotFoundError, load_dataset

    try:
        load_dataset("fashion-mnist", download=False)
    except DataNotFoundError:
        return ("needs Fashion-MNIST, which is not installed: run `make data` (Debian's dataset-fashion-mnist) or "
                "set VICINAL_DATA=DIR")
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fashion_mnist: the test reads the real Fashion-MNIST (skipped without it)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("fashion_mnist") is None or (missing := fashion_mnist_missing()) is None:
        return
    if os.environ.get(REQUIRE_DATA_ENV) == "1":
        pytest.fail(missing, pytrace=False)
    pytest.skip(missing)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No test sees the user's cache (~/.cache/vicinal) or $VICINAL_DATA: data sets come only from its own files."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VICINAL_DATA", raising=False)
