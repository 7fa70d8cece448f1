"""The report's interactive free energy: a trained 2-D model's parameters, for the page's JavaScript.

For a trained ellipse (grid latent) or a 2-D K-means, :func:`widget_data` gives what the page needs
to recompute, in the browser, at any inverse temperature β and any point y of the plane:

    E(y, z) for every z of the finite latent set Z,
    F_β(y) = −(1/β) · log( (1/|Z|) · Σ_z exp(−β E(y, z)) ),   F_∞(y) = min_z E(y, z),
    ž = argmin_z E(y, z).

The page (``static/widget.js``) evaluates these in double precision from the parameters below;
:func:`reference_free_energy` is the same quantity through :func:`ebmlab.free_energy` in float64,
which the browser test compares with what the page displays.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["reference_free_energy", "widget_data"]

_MAX_POINTS = 400


def _extent(points: torch.Tensor, centres: torch.Tensor) -> list[float]:
    both = torch.cat([points, centres]).double()
    low, high = both.min(0).values, both.max(0).values
    middle, half = (low + high) / 2, float((high - low).max()) / 2 * 1.25 + 0.1
    return [float(middle[0] - half), float(middle[0] + half), float(middle[1] - half), float(middle[1] + half)]


def _subsample(points: torch.Tensor, seed: int = 0) -> list[list[float]]:
    if len(points) > _MAX_POINTS:
        generator = torch.Generator().manual_seed(seed)
        points = points[torch.randperm(len(points), generator=generator)[:_MAX_POINTS]]
    return [[round(float(a), 4), round(float(b), 4)] for a, b in points.double().tolist()]


def widget_data(loaded: Any) -> dict[str, Any] | None:
    """The interactive section's data for a loaded run (:func:`ebmlab.recipes.load_run`), or None
    when the run is not a 2-D model with a finite latent set (ellipse with the grid latent, K-means on 2-D data).

    Returns a JSON-ready dict: ``kind`` ("ellipse" or "kmeans"), the trained parameters (``w`` and the
    latent grid ``z``; or ``centroids``), up to 400 training ``points``, the plane's ``extent``
    (x_min, x_max, y_min, y_max) and a starting point ``y0``.

    Example:
        >>> import tempfile
        >>> from ebmlab.cli import main
        >>> out = tempfile.mkdtemp() + "/run"
        >>> flags = ["--epochs", "2", "--out", out, "--no-progress", "--no-plots"]
        >>> main(["train", "ellipse", *flags])  # doctest: +ELLIPSIS
        ellipse: ...
        0
        >>> from ebmlab.recipes import load_run
        >>> data = widget_data(load_run(out))
        >>> data["kind"], len(data["z"]), len(data["w"])
        ('ellipse', 48, 2)
    """
    from ..models.ellipse import EllipseEnergy
    from ..models.kmeans import KMeansEnergy

    model = loaded.model
    if isinstance(model, EllipseEnergy) and hasattr(model.latent, "values"):
        w = model.w.detach().double().cpu()
        points = loaded.recipe.data.y.detach().cpu()
        curve = torch.stack([w.abs(), -w.abs()])
        return {
            "kind": "ellipse",
            "w": [float(v) for v in w],
            "z": model.latent.values(dtype=torch.float64).flatten().tolist(),
            "points": _subsample(points),
            "extent": _extent(points, curve),
            "y0": [float(w[0]) * 0.45, float(w[1]) * 0.35],
        }
    if isinstance(model, KMeansEnergy) and model.centroids.shape[1] == 2:
        centroids = model.centroids.detach().double().cpu()
        points = loaded.recipe.data.detach().cpu()
        middle = centroids.mean(0)
        return {
            "kind": "kmeans",
            "centroids": [[float(a), float(b)] for a, b in centroids.tolist()],
            "points": _subsample(points),
            "extent": _extent(points, centroids),
            "y0": [float(middle[0]), float(middle[1])],
        }
    return None


def reference_free_energy(data: dict[str, Any], y: tuple[float, float], beta: float) -> float:
    """F_β(y) for the widget's model through :func:`ebmlab.free_energy`, in float64.

    Example:
        >>> import math
        >>> data = {"kind": "kmeans", "centroids": [[0.0, 0.0], [4.0, 0.0]]}
        >>> round(reference_free_energy(data, (1.0, 0.0), 1.0), 4)  # −log((e^−1 + e^−9) / 2)
        1.6928
        >>> reference_free_energy(data, (1.0, 0.0), math.inf)
        1.0
    """
    from ..kernels.free_energy import free_energy
    from ..models.ellipse import ellipse_energy

    point = torch.tensor([list(y)], dtype=torch.float64)  # (1, 2)
    if data["kind"] == "ellipse":
        radius = torch.tensor(data["w"], dtype=torch.float64)
        z = torch.tensor(data["z"], dtype=torch.float64).unsqueeze(-1)  # (K, 1)
        energies = ellipse_energy(point.unsqueeze(1), radius, z.unsqueeze(0))  # (1, K)
    elif data["kind"] == "kmeans":
        centroids = torch.tensor(data["centroids"], dtype=torch.float64)  # (K, 2)
        energies = (point.unsqueeze(1) - centroids.unsqueeze(0)).pow(2).sum(-1)  # (1, K)
    else:
        raise ValueError(f"data['kind'] must be 'ellipse' or 'kmeans', got {data['kind']!r}")
    return float(free_energy(energies, beta))
