"""Denoising autoencoder: a contrastive method that learns to map corrupted points back to the data.

A corruption :math:`\\tilde y \\sim c(\\tilde y \\mid y)` moves a data point off the manifold; the
autoencoder is trained to minimise the energy

.. math:: E(y, \\tilde y) = \\|y - \\mathrm{Dec}(\\mathrm{Enc}(\\tilde y))\\|^2,

so the reconstruction :math:`\\mathrm{Dec}(\\mathrm{Enc}(y))` of a point off the manifold lands
back on it: the field :math:`\\mathrm{Dec}(\\mathrm{Enc}(y)) - y` points to the data, and the
reconstruction energy :math:`\\|y - \\mathrm{Dec}(\\mathrm{Enc}(y))\\|^2` is low on the manifold and grows
away from it. Corruptions: :class:`GaussianCorruption`, :class:`MaskingCorruption`,
:class:`SaltAndPepperCorruption`. As an :class:`~ebmlab.energy.Energy`, the trained model is
:class:`AutoencoderEnergy` (:meth:`DenoisingAutoencoder.as_energy`): a deterministic energy, no latent.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_int, check_positive
from ..energy import EmptyLatent, Energy

__all__ = [
    "CORRUPTIONS",
    "AutoencoderEnergy",
    "Corruption",
    "DenoisingAutoencoder",
    "GaussianCorruption",
    "MaskingCorruption",
    "SaltAndPepperCorruption",
    "make_corruption",
]


def _check_probability(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {name}={value!r}")
    return float(value)


class Corruption:
    """A corruption :math:`c(\\tilde y \\mid y)`: ``corruption(y, generator)`` returns ỹ, shaped like y ``(B, D)``.

    ``str(corruption)`` is :meth:`describe`, a readable line for titles and logs.

    Example:
        >>> import torch
        >>> corruption = make_corruption("masking", 0.5)
        >>> noisy = corruption(torch.ones(4, 6), torch.Generator().manual_seed(0))
        >>> tuple(noisy.shape), set(noisy.flatten().tolist()) <= {0.0, 1.0}, isinstance(corruption, Corruption)
        ((4, 6), True, True)
    """

    def __call__(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        """What the corruption does and its level, for people (``"Gaussian noise, σ = 0.5"``)."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.describe()


class GaussianCorruption(Corruption):
    """:math:`\\tilde y = y + \\sigma \\epsilon`, :math:`\\epsilon \\sim \\mathcal N(0, I)`.

    Example:
        >>> import torch
        >>> GaussianCorruption(0.0)(torch.ones(2, 3)).sum().item()
        6.0
        >>> str(GaussianCorruption(0.5))
        'Gaussian noise, σ = 0.5'
    """

    def __init__(self, sigma: float = 0.5) -> None:
        self.sigma = check_positive(sigma, "sigma", strict=False)

    def __call__(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return y + self.sigma * torch.randn(y.shape, generator=generator, device=y.device, dtype=y.dtype)

    def describe(self) -> str:
        return f"Gaussian noise, σ = {self.sigma:g}"

    def __repr__(self) -> str:
        return f"GaussianCorruption(sigma={self.sigma})"


class MaskingCorruption(Corruption):
    """Each entry is set to 0 with probability ``p`` (dropout noise without rescaling).

    Example:
        >>> import torch
        >>> MaskingCorruption(1.0)(torch.ones(2, 3)).sum().item()
        0.0
        >>> str(MaskingCorruption(0.3))
        'masking noise, p = 0.3'
    """

    def __init__(self, p: float = 0.3) -> None:
        self.p = _check_probability(p, "p")

    def __call__(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        keep = torch.rand(y.shape, generator=generator, device=y.device) >= self.p
        return y * keep.to(y.dtype)

    def describe(self) -> str:
        return f"masking noise, p = {self.p:g}"

    def __repr__(self) -> str:
        return f"MaskingCorruption(p={self.p})"


class SaltAndPepperCorruption(Corruption):
    """Each entry, with probability ``p``, is replaced by ``low`` or ``high`` (each with chance 1/2).

    Example:
        >>> import torch
        >>> noisy = SaltAndPepperCorruption(1.0)(torch.full((100, 4), 0.5), torch.Generator().manual_seed(0))
        >>> sorted(set(noisy.flatten().tolist()))
        [0.0, 1.0]
        >>> str(SaltAndPepperCorruption(0.2))
        'salt-and-pepper noise, p = 0.2 (values 0 and 1)'
    """

    def __init__(self, p: float = 0.2, low: float = 0.0, high: float = 1.0) -> None:
        self.p = _check_probability(p, "p")
        if not low < high:
            raise ValueError(f"need low < high, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    def __call__(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        hit = torch.rand(y.shape, generator=generator, device=y.device) < self.p
        salt = torch.rand(y.shape, generator=generator, device=y.device) < 0.5
        value = torch.where(salt, self.high, self.low).to(y.dtype)
        return torch.where(hit, value, y)

    def describe(self) -> str:
        return f"salt-and-pepper noise, p = {self.p:g} (values {self.low:g} and {self.high:g})"

    def __repr__(self) -> str:
        return f"SaltAndPepperCorruption(p={self.p}, low={self.low}, high={self.high})"


CORRUPTIONS = {"gaussian": GaussianCorruption, "masking": MaskingCorruption, "salt-pepper": SaltAndPepperCorruption}


def make_corruption(name: str, level: float) -> Corruption:
    """The corruption ``name`` (``gaussian``: σ = level; ``masking``, ``salt-pepper``: p = level).

    Example:
        >>> str(make_corruption("gaussian", 0.5))
        'Gaussian noise, σ = 0.5'
    """
    if name not in CORRUPTIONS:
        raise ValueError(f"corruption must be one of {tuple(CORRUPTIONS)}, got corruption={name!r}")
    return CORRUPTIONS[name](level)


class DenoisingAutoencoder(nn.Module):
    """MLP encoder D → H → K and decoder K → H → D (SiLU), with a sigmoid output for [0, 1] images.

    Shape:
        :meth:`forward`: ỹ ``(B, D)`` → Dec(Enc(ỹ)) ``(B, D)``; :meth:`energy`: y, ỹ ``(B, D)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> dae = DenoisingAutoencoder(2, hidden=16, latent=2, seed=0)
        >>> y = torch.zeros(3, 2)
        >>> dae.energy(y, y).shape, dae.reconstruction_energy(y).shape
        (torch.Size([3]), torch.Size([3]))
    """

    def __init__(self, dim: int, hidden: int = 128, latent: int = 32, sigmoid_output: bool = False, seed: int = 0):
        super().__init__()
        for name, value in (("dim", dim), ("hidden", hidden), ("latent", latent)):
            check_int(value, name)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.encoder = nn.Sequential(
                nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, latent)
            )
            decoder = [
                nn.Linear(latent, hidden),
                nn.SiLU(),
                nn.Linear(hidden, hidden),
                nn.SiLU(),
                nn.Linear(hidden, dim),
            ]
            if sigmoid_output:
                decoder.append(nn.Sigmoid())
            self.decoder = nn.Sequential(*decoder)
        self.dim = dim

    def forward(self, corrupted: Tensor) -> Tensor:
        return self.decoder(self.encoder(corrupted))  # (B, D)

    def energy(self, y: Tensor, corrupted: Tensor) -> Tensor:
        """:math:`\\|y - \\mathrm{Dec}(\\mathrm{Enc}(\\tilde y))\\|^2`, shape ``(B,)``."""
        return (y - self(corrupted)).pow(2).sum(1)

    def reconstruction_energy(self, y: Tensor) -> Tensor:
        """:math:`\\|y - \\mathrm{Dec}(\\mathrm{Enc}(y))\\|^2`, shape ``(B,)``: low on the learned manifold."""
        return self.energy(y, y)

    def as_energy(self) -> AutoencoderEnergy:
        """This autoencoder's reconstruction energy as an :class:`~ebmlab.energy.Energy` (shares the weights)."""
        return AutoencoderEnergy(self, self.dim)


class AutoencoderEnergy(Energy):
    """The reconstruction energy of an autoencoder A = Dec ∘ Enc, a deterministic energy without latent.

    .. math:: E(y) = \\|y - \\mathrm{Dec}(\\mathrm{Enc}(y))\\|_2^2, \\qquad z \\in \\{()\\} \\ (\\text{EmptyLatent})

    The code Enc(y) is a function of y, not a latent to infer, so the latent space is
    :class:`~ebmlab.energy.EmptyLatent`: z is ``(B, 0)``, F_β(y) = E(y) for every β and exhaustive
    search is one evaluation.

    Args:
        autoencoder: a module y ``(B, D)`` → reconstruction ``(B, D)`` (shared, not copied), e.g.
            :class:`DenoisingAutoencoder`.
        dim: D.

    Shape:
        y ``(B, D)``, z ``(B, 0)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> dae = DenoisingAutoencoder(2, hidden=16, latent=2, seed=0)
        >>> energy, y = dae.as_energy(), torch.rand(3, 2)
        >>> torch.equal(energy(y, torch.zeros(3, 0)), dae.reconstruction_energy(y)), energy.latent
        (True, EmptyLatent())
    """

    def __init__(self, autoencoder: nn.Module, dim: int) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.data_dim = check_int(dim, "dim")
        self.latent = EmptyLatent()

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        if z.ndim != 2 or z.shape[1] != 0:
            raise ValueError(f"AutoencoderEnergy has no latent: z must have shape (B, 0), got {tuple(z.shape)}")
        return (y - self.autoencoder(y)).pow(2).sum(1)  # (B,)
