"""scikit-learn's own estimator test suite, run on ebmlab.KMeans."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from ebmlab.models.kmeans import KMeans


@parametrize_with_checks([KMeans(n_clusters=3, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
