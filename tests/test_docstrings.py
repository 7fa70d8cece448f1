"""Every public class and function has a docstring with a runnable example (``>>>``).

Public means: listed in ``ebmlab.__all__`` (the lazy ``_LAZY`` map) or in the ``__all__`` of a module
under ``ebmlab`` whose dotted path has no ``_``-prefixed part. A module without ``__all__`` exports
nothing (``ebmlab.models``, ``ebmlab.kernels``, the ``ebmlab.cli.train`` plug-ins). Each object is
checked once, under the module that defines it. The examples themselves run as doctests
(``--doctest-modules`` in pyproject.toml).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import ebmlab


def _public_modules() -> list[str]:
    names = ["ebmlab"]
    for info in pkgutil.walk_packages(ebmlab.__path__, "ebmlab."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


def _public_objects() -> dict[str, object]:
    """``module.qualname`` of the defining module → object, for every public class and function."""
    found: dict[str, object] = {}
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


PUBLIC = _public_objects()


def test_the_walk_finds_the_package_surface():
    assert len(PUBLIC) > 100
    assert "ebmlab.kernels.free_energy.free_energy" in PUBLIC and "ebmlab.models.kmeans.estimator.KMeans" in PUBLIC
    assert set(ebmlab.__all__) <= {name.rsplit(".", 1)[1] for name in PUBLIC}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_name_has_a_docstring_with_an_example(name):
    doc = inspect.getdoc(PUBLIC[name]) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert ">>>" in doc, f"{name}'s docstring has no runnable example (>>>)"
