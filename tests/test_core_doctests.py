"""The numbers pinned in vicinal.core's docstrings (doctests) still hold."""

import doctest
import importlib

import pytest

# import_module returns the modules themselves (vicinal.core.mix the attribute is the function).
MODULES = [importlib.import_module(f"vicinal.core.{name}") for name in ("mix", "sampling")]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0, f"{module.__name__} has no doctest"
    assert result.failed == 0
