"""The figures make their point: what each one shows, checked on the matplotlib objects before saving."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("matplotlib")

from ebmlab import plotting  # noqa: E402


@pytest.fixture
def figures(monkeypatch):
    """Every figure the plotting modules save, kept open for inspection (and still written)."""
    kept = []
    save = plotting.save_figure

    def keep(fig, path, dpi=110):
        kept.append(fig)
        fig.canvas.draw()  # layout done, as when saved
        return save(fig, path, dpi)

    from ebmlab.plotting import contrastive, conv_sparse_coding, dae, ellipse, kmeans, rbm, sparse, vae, words

    for module in (plotting, contrastive, conv_sparse_coding, dae, ellipse, kmeans, rbm, sparse, vae, words):
        if hasattr(module, "save_figure"):
            monkeypatch.setattr(module, "save_figure", keep)
    return kept


def test_a_one_epoch_training_curve_shows_its_point_and_says_why_there_is_no_curve(tmp_path, figures):
    plotting.training_curve({"training": [0.7], "held-out": [0.8]}, tmp_path / "curve.png", ylabel="F")
    ax = figures[-1].axes[0]
    assert all(line.get_marker() == "o" and line.get_markersize() >= 6 for line in ax.get_lines())
    assert any("one epoch only" in text.get_text() for text in ax.texts)
    assert list(ax.get_xticks()) == [1] and ax.get_title() == "F per epoch"
    assert (tmp_path / "curve.png").stat().st_size > 0


def test_training_curve_log_axis_only_over_a_decade_and_flat_curves_look_flat(tmp_path, figures):
    plotting.training_curve([4.3, 4.25, 4.2], tmp_path / "narrow.png", log=True)
    assert figures[-1].axes[0].get_yscale() == "linear"  # 4.2 to 4.3 on a log axis: unreadable ticks
    plotting.training_curve([100.0, 10.0, 1.0], tmp_path / "wide.png", log=True)
    assert figures[-1].axes[0].get_yscale() == "log"
    plotting.training_curve([0.128945, 0.128949, 0.128947], tmp_path / "flat.png")
    ax = figures[-1].axes[0]
    low, high = ax.get_ylim()
    assert high - low > 1e-3 and any("nearly constant" in text.get_text() for text in ax.texts)


def test_image_grid_shares_one_scale_when_asked_and_labels_rows(tmp_path, figures):
    images = np.stack([np.full((4, 4), 0.2), np.full((4, 4), 0.9)])
    plotting.image_grid(images, tmp_path / "grid.png", columns=1, vmin=0.0, vmax=1.0, row_labels=("a", "b"))
    shown = [ax.images[0] for ax in figures[-1].axes if ax.images]
    assert [image.get_clim() for image in shown] == [(0.0, 1.0), (0.0, 1.0)]
    assert [text.get_text() for ax in figures[-1].axes for text in ax.texts] == ["a", "b"]
    assert plotting.unit_scale(images) == {"vmin": 0.0, "vmax": 1.0} and plotting.unit_scale(images * 2) == {}


def test_kmeans_beta_panels_have_their_own_colour_scale_near_the_data(tmp_path, figures):
    from ebmlab.models.kmeans import KMeansEnergy
    from ebmlab.plotting.kmeans import plot_energy_surfaces

    generator = torch.Generator().manual_seed(0)
    centers = torch.tensor([[-10.0, -10.0], [0.0, 0.0], [3.0, 0.0]])
    data = torch.cat([c + torch.randn(200, 2, generator=generator) for c in centers])
    plot_energy_surfaces(KMeansEnergy(centers), data, tmp_path / "f.png", betas=(math.inf, 2.0))
    fig = figures[-1]
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "y₁"]
    assert len(panels) == 2 and all(ax.get_ylabel() == "y₂" for ax in panels)
    meshes = [next(c for c in ax.collections if hasattr(c, "levels") and c.filled) for ax in panels]
    (low_hard, top_hard), (low_soft, top_soft) = [(m.levels[0], m.levels[-1]) for m in meshes]
    # the corners of the window reach ~200: a shared 0-200 scale would hide F_β - F∞ <= log 3 / 2 = 0.55
    assert top_hard < 50 and top_soft < 50 and low_soft > low_hard
    bar_labels = [ax.get_ylabel() for ax in fig.axes if ax not in panels]
    assert "F∞(y)" in bar_labels and "F_β(y), β = 2" in bar_labels


def test_dae_field_title_says_the_corruption_in_words_and_arrows_stay_short(tmp_path, figures):
    from ebmlab.models.dae import DenoisingAutoencoder, make_corruption
    from ebmlab.plotting.dae import plot_dae_field
    from ebmlab.recipes.dae import DAEFit

    data = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    fit = DAEFit(DenoisingAutoencoder(2, hidden=8, latent=2, seed=0), data, None, make_corruption("gaussian", 0.5), [1])
    plot_dae_field(fit, tmp_path / "field.png", resolution=11)
    ax = figures[-1].axes[0]
    assert "Gaussian noise, σ = 0.5" in ax.get_title() and "Corruption(" not in ax.get_title()
    arrows = ax.collections[-1]
    step = min(np.diff(ax.get_xlim())[0], np.diff(ax.get_ylim())[0]) / 10  # 11 arrows across the window
    assert np.hypot(arrows.U, arrows.V).max() <= 0.5 * step * 1.01
    title = ax.title.get_window_extent()
    bar = figures[-1].axes[1].get_window_extent()
    assert title.x1 <= bar.x0 or title.y0 >= bar.y1  # the title does not run into the colour bar
