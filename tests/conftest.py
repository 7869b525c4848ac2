"""Test-session set-up: the suite reads the real Fashion-MNIST, so it stops at once, in one line, without it."""

from __future__ import annotations

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    from vicinal.data import DataNotFoundError, load_dataset

    try:
        load_dataset("fashion-mnist", download=False)
    except DataNotFoundError:
        pytest.exit("fashion-mnist not found: run `make data` (installs Debian's dataset-fashion-mnist), or put its "
                    "four IDX files in a folder and set VICINAL_DATA=DIR", returncode=4)
