"""LISTA: equals ISTA at initialisation, and beats FISTA with as many iterations after training (its recipe)."""

from __future__ import annotations

import signal

import pytest
import torch

from ebmlab.kernels.proximal import sparse_encode
from ebmlab.models.lista import LISTA, code_error, lista_code_loss, lista_energy_loss
from ebmlab.recipes.lista import LISTAConfig, LISTARecipe
from ebmlab.training import Diverged, Interrupted, RunDirectory, train


def _dictionary(features=16, atoms=32, seed=0):
    w = torch.randn(features, atoms, generator=torch.Generator().manual_seed(seed))
    return w / w.norm(dim=0)


@pytest.mark.parametrize("tied", [True, False])
def test_untrained_lista_is_ista(tied):
    w = _dictionary()
    y = torch.randn(20, 16, generator=torch.Generator().manual_seed(1))
    net = LISTA(w, alpha=0.2, n_layers=7, tied=tied)
    path = net.trajectory(y)
    assert path.shape == (7, 20, 32)
    for t in (1, 4, 7):
        ista = sparse_encode(y, w, 0.2, method="ista", max_iter=t, tol=1e-14, lipschitz=net.lipschitz)
        torch.testing.assert_close(path[t - 1], ista.codes, atol=1e-5, rtol=0)
    expected = 1 if tied else 7
    assert net.encoder.shape[0] == expected and net.propagation.shape[0] == expected


def _config(**settings):
    base = {"n_samples": 1500, "n_components": 32, "alpha": 0.2, "layers": 4, "epochs": 6, "lr": 3e-3}
    return LISTAConfig(**{**base, "batch_size": 100, **settings})


def test_trained_lista_beats_fista_with_as_many_iterations():
    recipe = LISTARecipe(_config())
    train(recipe, progress=False)
    metrics = recipe.evaluate()
    assert metrics["lista_code_error"] < 0.5 * metrics["fista_code_error"] < metrics["ista_code_error"]
    assert len(recipe.losses) == 6 and recipe.losses[-1] < recipe.losses[0]
    assert recipe.held_out[-1] == pytest.approx(metrics["lista_code_error"])
    # the targets are FISTA's converged codes on the run's dictionary
    exact = sparse_encode(recipe.test_data, recipe.dictionary, 0.2, max_iter=5000, tol=1e-8).codes
    assert torch.equal(exact, recipe.exact)


def test_energy_objective_lowers_the_energy():
    recipe = LISTARecipe(_config(objective="energy", epochs=4))
    train(recipe, progress=False)
    assert recipe.target is None
    untrained = LISTA(recipe.dictionary, 0.2, n_layers=4)
    with torch.no_grad():
        before = lista_energy_loss(untrained, recipe.test_data)
        after = lista_energy_loss(recipe.model(), recipe.test_data)
    assert after < before


class _StopAfterFirstEpoch(LISTARecipe):
    def step(self, index):
        metrics = super().step(index)
        signal.raise_signal(signal.SIGINT)
        return metrics


def test_resume_continues_from_the_stored_targets_bit_identically(tmp_path, monkeypatch):
    config = _config(n_samples=600, n_components=16, epochs=3)
    straight = LISTARecipe(config)
    train(straight, progress=False)
    run = RunDirectory.create(tmp_path / "run", model="lista", config=config)
    with pytest.raises(Interrupted):  # stopped by a signal after its first epoch, which is checkpointed
        train(_StopAfterFirstEpoch(config), run=run, progress=False)

    def no_set_up(self):
        raise AssertionError("a resumed run must not recompute the dictionary and the targets")

    monkeypatch.setattr(LISTARecipe, "_set_up", no_set_up)
    resumed = LISTARecipe(config)
    train(resumed, run=run, resume_from=run.load_checkpoint(), progress=False)
    for name, tensor in straight.net.state_dict().items():
        assert torch.equal(tensor, resumed.net.state_dict()[name]), name
    assert straight.losses == resumed.losses and straight.held_out == resumed.held_out
    expected, found = straight.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    for key in expected:
        assert torch.equal(expected[key]["exp_avg_sq"], found[key]["exp_avg_sq"])


def test_divergence_in_the_first_epoch_names_the_learning_rate():
    with pytest.raises(Diverged, match="diverged at epoch 1.*lower --lr"):
        train(LISTARecipe(_config(n_samples=600, n_components=16, epochs=2, lr=1e6)), progress=False)


def test_code_loss_is_the_normalised_error_of_every_layer():
    w = _dictionary()
    y = torch.randn(10, 16, generator=torch.Generator().manual_seed(2))
    net = LISTA(w, 0.2, n_layers=3)
    target = sparse_encode(y, w, 0.2, tol=1e-8).codes
    with torch.no_grad():
        path = net.trajectory(y)
        layers = [float((z - target).pow(2).sum(dim=1).mean()) / 2.0 for z in path]
        assert float(lista_code_loss(net, y, target, scale=2.0)) == pytest.approx(sum(layers) / 3, rel=1e-5)
        last = lista_code_loss(net, y, target, scale=2.0, deep_supervision=False)
        assert float(last) == pytest.approx(layers[-1], rel=1e-5)
        assert code_error(path[-1], target) == pytest.approx(layers[-1] * 2.0 * 10 / float(target.pow(2).sum()))


def test_bad_input():
    w = _dictionary()
    with pytest.raises(ValueError, match="n_layers must be >= 1"):
        LISTA(w, 0.1, n_layers=0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        LISTA(w, -0.1)
    net = LISTA(w, 0.1, n_layers=2)
    with pytest.raises(ValueError, match="must have 16 features"):
        net(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="target must have shape"):
        lista_code_loss(net, torch.zeros(3, 16), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="objective must be one of"):
        LISTAConfig(objective="kl").validated()
    with pytest.raises(ValueError, match="lr must be > 0"):
        LISTAConfig(lr=0.0).validated()
