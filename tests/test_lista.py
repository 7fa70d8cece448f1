"""LISTA: equals ISTA at initialisation, and beats FISTA with as many iterations after training (its recipe)."""

from __future__ import annotations

import signal

import pytest
import torch

from ebmlab.kernels.proximal import ista_step, soft_threshold, sparse_encode
from ebmlab.models.lista import (
    LISTA,
    code_error,
    coupled_layer,
    lista_code_loss,
    lista_energy_loss,
    support_threshold,
)
from ebmlab.recipes.lista import LISTAConfig, LISTARecipe
from ebmlab.training import Diverged, Interrupted, RunDirectory, train
from ebmlab.training.schedules import cosine_decay


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
    with pytest.raises(ValueError, match="variant must be one of"):
        LISTA(w, 0.1, variant="alista")
    with pytest.raises(ValueError, match="support_max must be a percentage"):
        LISTA(w, 0.1, variant="cpss", support_max=120.0)
    with pytest.raises(ValueError, match="layers must be <= n_layers=2"):
        net.trajectory(torch.zeros(3, 16), layers=3)
    with pytest.raises(ValueError, match="schedule must be one of"):
        LISTAConfig(schedule="greedy").validated()
    with pytest.raises(ValueError, match="variant must be one of"):
        LISTAConfig(variant="ista").validated()
    with pytest.raises(ValueError, match="supervision must be one of"):
        LISTAConfig(supervision="first").validated()


# ---------------------------------------------------------------- variants (Chen et al., 2018)


@pytest.mark.parametrize("tied", [True, False])
def test_coupled_layers_with_the_analytic_weights_are_ista(tied):
    """LISTA-CP at W_t = (2/L) W, θ = α/L: every layer is one ISTA step (the kernel's and sparse_encode's)."""
    w = _dictionary()
    y = torch.randn(20, 16, generator=torch.Generator().manual_seed(1))
    net = LISTA(w, alpha=0.2, n_layers=6, tied=tied, variant="cp")
    assert not hasattr(net, "propagation") and net.encoder.shape == (1 if tied else 6, 32, 16)
    torch.testing.assert_close(net.encoder[0], 2.0 / net.lipschitz * w.T)
    path = net.trajectory(y)
    gram, correlation = w.T @ w, y @ w
    z = torch.zeros(20, 32)
    for t in range(6):
        z = ista_step(z, gram, correlation, 0.2, net.lipschitz)
        torch.testing.assert_close(path[t], z, atol=1e-5, rtol=0)
    ista = sparse_encode(y, w, 0.2, method="ista", max_iter=6, tol=1e-14, lipschitz=net.lipschitz)
    torch.testing.assert_close(path[-1], ista.codes, atol=1e-5, rtol=0)


def test_momentum_layers_at_initialisation_are_fista_without_restart():
    w = _dictionary()
    y = torch.randn(20, 16, generator=torch.Generator().manual_seed(1))
    net = LISTA(w, alpha=0.2, n_layers=6, variant="cpm")
    assert net.momentum.shape == (5,) and float(net.momentum[0].detach()) == 0.0
    path = net.trajectory(y)
    for t in (1, 2, 3, 6):
        fista = sparse_encode(y, w, 0.2, max_iter=t, tol=1e-14, lipschitz=net.lipschitz, restart=False)
        torch.testing.assert_close(path[t - 1], fista.codes, atol=1e-5, rtol=0)
    with torch.no_grad():  # without momentum it is LISTA-CP, i.e. ISTA
        net.momentum.zero_()
    ista = sparse_encode(y, w, 0.2, method="ista", max_iter=6, tol=1e-14, lipschitz=net.lipschitz)
    torch.testing.assert_close(net(y), ista.codes, atol=1e-5, rtol=0)


def test_support_selection_matches_a_naive_reference_and_zero_is_plain_cp():
    pre = torch.randn(30, 32, generator=torch.Generator().manual_seed(3))
    threshold = torch.rand(32, generator=torch.Generator().manual_seed(4))
    for n in (0, 1, 5, 32):
        found = support_threshold(pre, threshold, n)
        expected = soft_threshold(pre, threshold).clone()
        for b in range(30):
            for i in pre[b].abs().argsort(descending=True)[:n]:
                if pre[b, i].abs() > threshold[i]:
                    expected[b, i] = pre[b, i]
        torch.testing.assert_close(found, expected, atol=0, rtol=0)
    w = _dictionary()
    y = torch.randn(20, 16, generator=torch.Generator().manual_seed(1))
    cp = LISTA(w, alpha=0.2, n_layers=5, variant="cp")
    with torch.no_grad():  # make the layers differ from ISTA so that the comparison means something
        cp.encoder.add_(0.02 * torch.randn(cp.encoder.shape, generator=torch.Generator().manual_seed(5)))
    plain = LISTA(w, alpha=0.2, n_layers=5, variant="cpss", support_step=0.0)
    plain.load_state_dict(cp.state_dict())
    assert plain.support_sizes() == [0] * 5
    torch.testing.assert_close(plain(y), cp(y), atol=0, rtol=0)
    selected = LISTA(w, alpha=0.2, n_layers=5, variant="cpss", support_step=5.0, support_max=13.0)
    selected.load_state_dict(cp.state_dict())
    assert selected.support_sizes() == [1, 3, 4, 4, 4]  # ⌊32·min(5t, 13)/100⌋
    z = None
    for t, n in enumerate(selected.support_sizes()):
        z = coupled_layer(z, y, w, cp.encoder[t], cp.threshold[t], n)
    torch.testing.assert_close(selected(y), z)
    assert not torch.allclose(selected(y), cp(y))


def test_layerwise_stages_train_only_the_layers_so_far():
    recipe = LISTARecipe(_config(n_samples=300, n_components=16, layers=3, schedule="layerwise", epochs=1))
    assert recipe.total == 4 and [recipe.stage(i)[0] for i in range(4)] == [1, 2, 3, None]
    before = {name: value.detach().clone() for name, value in recipe.model().named_parameters()}
    recipe.step(0)  # stage 1: layer 1 on its own output
    after = dict(recipe.net.named_parameters())
    for name in ("encoder", "threshold"):
        assert not torch.equal(before[name][0], after[name][0]), name
    for name in ("encoder", "propagation", "threshold"):  # (layer 1 starts from z = 0: S⁽¹⁾ is unused)
        assert torch.equal(before[name][1:], after[name][1:]), name
    recipe.step(1)  # stage 2: layers 1 and 2 on layer 2's output
    assert not torch.equal(before["encoder"][1], after["encoder"][1])
    assert torch.equal(before["encoder"][2], after["encoder"][2])
    with torch.no_grad():
        expected = lista_code_loss(
            recipe.net, recipe.train_data, recipe.target, scale=recipe.scale, layers=2, deep_supervision=False
        )
        path = recipe.net.trajectory(recipe.train_data)
    assert float(expected) == pytest.approx(
        float((path[1] - recipe.target).pow(2).sum(dim=1).mean()) / recipe.scale, rel=1e-5
    )
    steps = -(-len(recipe.train_data) // recipe.config.batch_size)  # per epoch
    recipe.step(2)  # stage 3: cosine-decayed from the full rate; the rate of its last step is left
    assert recipe.optimizer.param_groups[0]["lr"] == pytest.approx(cosine_decay(3e-3, steps - 1, steps))
    recipe.step(3)  # the joint fine-tuning: from a tenth of the rate
    assert recipe.optimizer.param_groups[0]["lr"] == pytest.approx(cosine_decay(3e-4, steps - 1, steps))


def test_layerwise_cpss_resumes_bit_identically(tmp_path):
    config = _config(
        n_samples=300, n_components=10, layers=3, epochs=1, variant="cpss", support_step=10.0, schedule="layerwise"
    )
    straight = LISTARecipe(config)
    train(straight, progress=False)
    run = RunDirectory.create(tmp_path / "run", model="lista", config=config)
    with pytest.raises(Interrupted):  # stopped inside the first stage
        train(_StopAfterFirstEpoch(config), run=run, progress=False)
    resumed = LISTARecipe(config)
    train(resumed, run=run, resume_from=run.load_checkpoint(), progress=False)
    assert len(resumed.losses) == 4
    for name, tensor in straight.net.state_dict().items():
        assert torch.equal(tensor, resumed.net.state_dict()[name]), name
    assert straight.losses == resumed.losses and straight.held_out == resumed.held_out


def test_flips_add_mirror_images_with_their_own_targets_on_the_same_dictionary():
    flipped = LISTARecipe(_config(n_samples=300, n_components=8, layers=2, epochs=1, flips=True))
    plain = LISTARecipe(_config(n_samples=300, n_components=8, layers=2, epochs=1))
    flipped.model(), plain.model()
    drawn = plain.train_data.reshape(-1, 8, 8)  # (n, 8, 8)
    n = len(drawn)
    assert flipped.n_drawn == n and flipped.target.shape == (4 * n, 8)
    torch.testing.assert_close(flipped.train_data[:n], plain.train_data, atol=0, rtol=0)
    torch.testing.assert_close(flipped.train_data[n : 2 * n].reshape(-1, 8, 8), drawn.flip(2), atol=0, rtol=0)
    torch.testing.assert_close(flipped.train_data[3 * n :].reshape(-1, 8, 8), drawn.flip(1).flip(2), atol=0, rtol=0)
    assert torch.equal(flipped.dictionary, plain.dictionary) and torch.equal(flipped.exact, plain.exact)
    torch.testing.assert_close(flipped.target[:n], plain.target)


def test_transposes_with_flips_give_the_eight_symmetries_of_the_square():
    config = _config(n_samples=300, n_components=8, layers=2, epochs=1, flips=True, transposes=True)
    both = LISTARecipe(config)
    plain = LISTARecipe(_config(n_samples=300, n_components=8, layers=2, epochs=1))
    drawn = plain.train_data.reshape(-1, 8, 8)  # (n, 8, 8)
    n = len(drawn)
    images = both.train_data.reshape(8, n, 8, 8)
    transposed = drawn.transpose(1, 2)
    group = [drawn, drawn.flip(1), drawn.flip(2), drawn.flip(1).flip(2)]
    group += [transposed, transposed.flip(1), transposed.flip(2), transposed.flip(1).flip(2)]
    for image in group:  # each symmetry of the square appears exactly once, as one block of n patches
        assert sum(bool(torch.equal(block, image)) for block in images) == 1
    alone = LISTARecipe(_config(n_samples=300, n_components=8, layers=2, epochs=1, transposes=True))
    assert torch.equal(alone.train_data.reshape(2, n, 8, 8)[1], transposed)
