"""scikit-learn's own test files, run against ebmlab's estimators.

:func:`load_suite` reads a test file of the installed scikit-learn, swaps its import lines for ebmlab's
classes, and executes it as a fresh module (asserts rewritten as pytest would, so failures show the
values); :func:`expose` copies its test functions into the calling test module, with the marks that
skip the cases out of scope and that expect the listed intentional differences to fail.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import sklearn

__all__ = ["INTENTIONAL_DIFFERENCES", "expose", "load_suite", "suite_path"]

#: Every intentional difference from scikit-learn, per test file: test name → why (run as strict xfails). Only tests
#: of scikit-learn's private helpers, and of exact message wording where ebmlab's message says more, may be here.
INTENTIONAL_DIFFERENCES: dict[str, dict[str, str]] = {
    "cluster/tests/test_k_means.py": {
        "test_sample_weight_init": (
            "private helper: calls scikit-learn's KMeans._init_centroids(X, x_squared_norms, init, random_state, "
            "sample_weight, n_centroids); ebmlab's weighted seeding is public, kmeans_plusplus(..., sample_weight=) "
            "and KMeans(init='random').fit(X, sample_weight=), tested the same way in tests/test_kmeans.py"
        ),
        "test_sample_weight_zero": (
            "private helper: calls scikit-learn's KMeans._init_centroids; that a point of weight 0 is never drawn "
            "as an initial centroid is tested through the public API in tests/test_kmeans.py"
        ),
    },
    "neural_network/tests/test_rbm.py": {
        "test_transform": (
            "private helper: compares transform with scikit-learn's BernoulliRBM._mean_hiddens; transform is "
            "checked against scikit-learn's own transform in tests/test_rbm.py"
        ),
        "test_sample_hiddens": (
            "private helpers: calls BernoulliRBM._mean_hiddens and _sample_hiddens; ebmlab's conditional draws are "
            "checked against scikit-learn's through gibbs and fit (the same RandomState, the same states) in "
            "tests/test_rbm.py"
        ),
    },
}


def suite_path(relative: str) -> Path:
    """The installed scikit-learn's file ``relative`` (e.g. ``"cluster/tests/test_k_means.py"``)."""
    return Path(sklearn.__file__).resolve().parent / relative


def load_suite(relative: str, swaps: Mapping[str, str], name: str) -> types.ModuleType:
    """scikit-learn's test file ``relative`` with each ``old`` line of ``swaps`` replaced by ``new``, as a module.

    Each line to swap must occur exactly once (a scikit-learn upgrade that moves it fails loudly here).
    """
    path = suite_path(relative)
    source = path.read_text(encoding="utf-8")
    for old, new in swaps.items():
        count = source.count(old)
        if count != 1:
            raise RuntimeError(f"{path}: expected the line {old!r} once, found it {count} times")
        source = source.replace(old, new)
    tree = ast.parse(source, filename=str(path))
    try:  # pytest's assertion rewriting, so that a failing assert shows its values
        from _pytest.assertion.rewrite import rewrite_asserts

        rewrite_asserts(tree, source.encode(), str(path))
    except ImportError:  # pragma: no cover - another pytest layout: plain asserts still work
        pass
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(tree, str(path), "exec"), module.__dict__)  # noqa: S102 - scikit-learn's own test file
    return module


def _mentions(value: Any, targets: tuple[Any, ...]) -> bool:
    """Whether a parametrize value (possibly a tuple, or a pytest.param) is or holds one of ``targets``."""
    if isinstance(value, type(pytest.param(None))):
        return any(_mentions(item, targets) for item in value.values)
    if isinstance(value, tuple):
        return any(_mentions(item, targets) for item in value)
    return any(value is target for target in targets)


def _skip_values(function: Callable, targets: tuple[Any, ...], reason: str) -> bool:
    """Wrap every parametrize value of ``function`` that holds one of ``targets`` in a skip; True if any did."""
    marks, found = [], False
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize" and any(_mentions(value, targets) for value in mark.args[1]):
            found = True
            values = [
                pytest.param(*(value if isinstance(value, tuple) else (value,)), marks=pytest.mark.skip(reason=reason))
                if _mentions(value, targets) and not isinstance(value, type(pytest.param(None)))
                else value
                for value in mark.args[1]
            ]
            mark = pytest.mark.parametrize(mark.args[0], values, **mark.kwargs).mark
        marks.append(mark)
    function.pytestmark = marks
    return found


def expose(
    suite: types.ModuleType,
    namespace: dict[str, Any],
    *,
    out_of_scope: Iterable[Any] = (),
    out_of_scope_names: Iterable[str] = (),
    out_of_scope_reason: str = "",
    expected_failures: Mapping[str, str] | None = None,
    marks: Mapping[str, Iterable[pytest.MarkDecorator]] | None = None,
) -> list[str]:
    """Put the ``test_*`` functions of ``suite`` into ``namespace`` (a test module's globals).

    Args:
        out_of_scope: objects (e.g. another estimator class) whose parametrized cases are skipped.
        out_of_scope_names: tests skipped whole; both skips carry ``out_of_scope_reason``.
        expected_failures: test name → reason: a strict xfail (it must fail; once it passes, remove it).
        marks: test name → extra marks (e.g. ``slow``).

    Returns:
        The names exposed, in the file's order.
    """
    targets = tuple(out_of_scope)
    skipped = set(out_of_scope_names)
    expected_failures = expected_failures or {}
    marks = marks or {}
    names = [name for name, value in vars(suite).items() if name.startswith("test_") and callable(value)]
    unknown = (set(expected_failures) | skipped | set(marks)) - set(names)
    if unknown:
        raise RuntimeError(f"names listed for {suite.__name__} that it does not define: {sorted(unknown)}")
    for name in names:
        function = getattr(suite, name)
        if targets:
            _skip_values(function, targets, out_of_scope_reason)
        extra = list(marks.get(name, ()))
        if name in skipped:
            extra.append(pytest.mark.skip(reason=out_of_scope_reason))
        if name in expected_failures:
            extra.append(pytest.mark.xfail(reason=expected_failures[name], strict=True))
        for mark in extra:
            function = mark(function)
        namespace[name] = function
    return names
