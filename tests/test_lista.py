"""LISTA: equals ISTA at initialisation, and beats FISTA with as many iterations after training."""

from __future__ import annotations

import pytest
import torch

from ebmlab.data import image_patches
from ebmlab.models.lista import LISTA, code_error, train_lista
from ebmlab.sparse import sparse_encode, sparse_energy


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


def test_trained_lista_beats_fista_with_as_many_iterations():
    data = torch.from_numpy(image_patches(2500, 6, seed=3))
    train, test = data[:2000], data[2000:]
    w = _dictionary(36, 48, seed=2)
    alpha, layers = 0.2, 4
    target = sparse_encode(train, w, alpha, tol=1e-8, max_iter=5000).codes
    exact = sparse_encode(test, w, alpha, tol=1e-8, max_iter=5000).codes
    net = LISTA(w, alpha, n_layers=layers)
    train_lista(net, train, target, epochs=8, lr=3e-3, batch_size=100)
    with torch.no_grad():
        lista_error = code_error(net(test), exact)
    fista_error = code_error(sparse_encode(test, w, alpha, max_iter=layers, tol=1e-14).codes, exact)
    assert lista_error < 0.5 * fista_error


def test_energy_objective_lowers_the_energy():
    w = _dictionary()
    y = torch.randn(300, 16, generator=torch.Generator().manual_seed(4))
    net = LISTA(w, 0.3, n_layers=3)
    with torch.no_grad():
        before = sparse_energy(y, w, net(y), 0.3).mean()
    train_lista(net, y, objective="energy", epochs=10, lr=3e-3, batch_size=50)
    with torch.no_grad():
        after = sparse_energy(y, w, net(y), 0.3).mean()
    assert after < before


def test_bad_input():
    w = _dictionary()
    with pytest.raises(ValueError, match="n_layers must be >= 1"):
        LISTA(w, 0.1, n_layers=0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        LISTA(w, -0.1)
    net = LISTA(w, 0.1, n_layers=2)
    with pytest.raises(ValueError, match="must have 16 features"):
        net(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="needs target codes"):
        train_lista(net, torch.zeros(3, 16))
    with pytest.raises(ValueError, match="objective must be one of"):
        train_lista(net, torch.zeros(3, 16), objective="kl")
