"""The lecture's first example: the ellipse ("trained model manifold").

Unconditional energy, z on the grid [0 : π/24 : 2π) (48 values) or continuous:

.. math:: E(y, z) = [y_1 - w_1 \\cos z]^2 + [y_2 - w_2 \\sin z]^2

Conditional energy, with f a small MLP 1 → 8 → 8 → 2 (ReLU):

.. math:: E(x, y, z) = [y_1 - f_1(x) \\cos z]^2 + [y_2 - f_2(x) \\sin z]^2

Both are trained by minimising the energy loss :math:`\\mathcal{L} = \\mathrm{mean}_y F_\\beta(y)`,
at zero temperature (β = ∞, :math:`F_\\infty = \\min_z E`) or at a finite β.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from .._validation import check_int, check_positive, resolve_device
from ..datasets import make_ellipse
from ..energy import Energy, GridLatent, RealLatent
from ..losses import energy_loss
from ..runs import RunDirectory, progress

__all__ = [
    "ConditionalEllipseEnergy",
    "EllipseConfig",
    "EllipseEnergy",
    "EllipseFit",
    "ellipse_energy",
    "train_ellipse",
]

LECTURE_GRID = (0.0, 2 * math.pi, math.pi / 24)


def ellipse_energy(y: Tensor, radius: Tensor, z: Tensor) -> Tensor:
    """[y₁ − r₁ cos z]² + [y₂ − r₂ sin z]², broadcasting over leading dimensions.

    Shape:
        y ``(*, 2)``, radius ``(*, 2)``, z ``(*, 1)`` → ``(*)``.

    Example:
        >>> import torch
        >>> ellipse_energy(torch.tensor([[2.0, 0.0]]), torch.tensor([[2.0, 1.5]]), torch.zeros(1, 1))
        tensor([0.])
    """
    curve = radius * torch.cat([torch.cos(z), torch.sin(z)], dim=-1)  # (*, 2)
    return (y - curve).pow(2).sum(dim=-1)


def _make_latent(latent: str) -> GridLatent | RealLatent:
    if latent == "grid":
        return GridLatent(*LECTURE_GRID)
    if latent == "real":
        return RealLatent(1)
    raise ValueError(f"latent must be 'grid' or 'real', got {latent!r}")


class EllipseEnergy(Energy):
    """E(y, z) = [y₁ − w₁ cos z]² + [y₂ − w₂ sin z]² with learnable w.

    Args:
        w: initial (w₁, w₂); the lecture starts from (1, 1).
        latent: ``"grid"`` (the lecture's 48 angles) or ``"real"`` (z ∈ ℝ, for gradient inference).

    Shape:
        y ``(B, 2)``, z ``(B, 1)`` → ``(B,)``.

    Example:
        >>> import math, torch
        >>> energy = EllipseEnergy(w=(2.0, 1.5))
        >>> energy(torch.tensor([[0.0, 1.5]]), torch.tensor([[math.pi / 2]])).detach().round(decimals=6)
        tensor([0.])
        >>> float(energy.free_energy(torch.tensor([[0.0, 1.5]])).detach()) < 1e-9  # F_inf: π/2 is on the grid
        True
    """

    def __init__(self, w: tuple[float, float] = (1.0, 1.0), latent: str = "grid") -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([float(w[0]), float(w[1])]))
        self.latent = _make_latent(latent)

    def radius(self, x: Tensor | None = None) -> Tensor:
        """(w₁, w₂), shape ``(2,)``."""
        return self.w

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        return ellipse_energy(y, self.w.to(y.dtype), z)

    def pairwise(self, y: Tensor, z_values: Tensor, x: Tensor | None = None) -> Tensor:
        return ellipse_energy(y.unsqueeze(1), self.w.to(y.dtype), z_values.unsqueeze(0))  # (B, K)

    def decode(self, z: Tensor, x: Tensor | None = None) -> Tensor:
        """ỹ = Dec(z) = (w₁ cos z, w₂ sin z). Shape: z ``(B, 1)`` → ``(B, 2)``."""
        return self.w.to(z.dtype) * torch.cat([torch.cos(z), torch.sin(z)], dim=-1)


class ConditionalEllipseEnergy(Energy):
    """E(x, y, z) = [y₁ − f₁(x) cos z]² + [y₂ − f₂(x) sin z]², f: MLP 1 → 8 → 8 → 2 (ReLU).

    The energy is unchanged by f_i → −f_i (z → π − z or −z on the symmetric grid), so the manifold
    is set by |f(x)|.

    Shape:
        y ``(B, 2)``, z ``(B, 1)``, x ``(B, 1)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> energy = ConditionalEllipseEnergy(seed=0)
        >>> energy(torch.zeros(3, 2), torch.zeros(3, 1), torch.zeros(3, 1)).shape
        torch.Size([3])
    """

    def __init__(self, hidden: int = 8, latent: str = "grid", seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # explicit initialisation; global RNG untouched
            torch.manual_seed(seed)
            self.f = nn.Sequential(
                nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2)
            )
        with torch.no_grad():
            # hinge basis ReLU(x - k/hidden) over x in [0, 1]: no unit starts dead on the data's range,
            # and a positive output bias starts f(x) on the positive branch of the sign symmetry
            self.f[0].weight.fill_(1.0)
            self.f[0].bias.copy_(-torch.arange(hidden, dtype=torch.float32) / hidden)
            self.f[-1].bias.fill_(2.0)
        self.latent = _make_latent(latent)

    def radius(self, x: Tensor) -> Tensor:
        """f(x), shape ``(B, 2)`` for x ``(B, 1)``."""
        return self.f(x)

    def _need_x(self, x: Tensor | None) -> Tensor:
        if x is None:
            raise ValueError("ConditionalEllipseEnergy needs the input x, shape (B, 1); got x=None")
        return x

    def forward(self, y: Tensor, z: Tensor, x: Tensor | None = None) -> Tensor:
        return ellipse_energy(y, self.f(self._need_x(x)), z)

    def pairwise(self, y: Tensor, z_values: Tensor, x: Tensor | None = None) -> Tensor:
        radius = self.f(self._need_x(x)).unsqueeze(1)  # (B, 1, 2)
        return ellipse_energy(y.unsqueeze(1), radius, z_values.unsqueeze(0))  # (B, K)

    def decode(self, z: Tensor, x: Tensor | None = None) -> Tensor:
        """ỹ = f(x) ⊙ (cos z, sin z). Shape: z ``(B, 1)``, x ``(B, 1)`` → ``(B, 2)``."""
        return self.f(self._need_x(x)) * torch.cat([torch.cos(z), torch.sin(z)], dim=-1)


@dataclass
class EllipseConfig:
    """Settings of :func:`train_ellipse`. ``beta = math.inf`` trains on F_∞ (zero temperature).

    Fields left at ``None`` take the model's default, shown as (unconditional / conditional).
    Training is Adam with a cosine learning-rate decay for ``epochs``, then ``lbfgs_iterations``
    of full-batch L-BFGS on the same loss; ``n_init`` restarts keep the lowest final loss.
    """

    conditional: bool = False
    beta: float = math.inf
    epochs: int | None = None  # 100 / 150
    lr: float | None = None  # 0.05 / 0.02
    batch_size: int | None = None  # 256 / 512
    n_samples: int | None = None  # 1000 / 5100 (100 per x on the grid)
    lbfgs_iterations: int | None = None  # 0 / 300
    n_init: int | None = None  # 1 / 3
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 50

    def resolved(self) -> EllipseConfig:
        """A copy with the model-dependent defaults filled in, validated."""
        defaults = {
            "epochs": (100, 150),
            "lr": (0.05, 0.02),
            "batch_size": (256, 512),
            "n_samples": (1000, 5100),
            "lbfgs_iterations": (0, 300),
            "n_init": (1, 3),
        }
        values = asdict(self)
        for name, pair in defaults.items():
            if values[name] is None:
                values[name] = pair[int(self.conditional)]
        config = EllipseConfig(**values)
        check_positive(config.beta, "beta")
        check_positive(config.lr, "lr")
        for name in ("epochs", "batch_size", "n_samples", "n_init", "checkpoint_every"):
            check_int(getattr(config, name), name)
        check_int(config.lbfgs_iterations, "lbfgs_iterations", minimum=0)
        return config


@dataclass(frozen=True)
class EllipseFit:
    """A trained ellipse: the energy, the data it saw, the per-epoch losses of the kept restart."""

    model: Energy
    y: Tensor
    x: Tensor
    losses: list[float]
    final_loss: float


def _new_model(config: EllipseConfig, restart: int) -> Energy:
    if config.conditional:
        return ConditionalEllipseEnergy(seed=config.seed + 1000 * restart)
    return EllipseEnergy()


def _full_loss(model: Energy, y: Tensor, x: Tensor | None, beta: float) -> Tensor:
    """The energy loss functional L = mean_y F_β(y[, x])."""
    return energy_loss(model.free_energy(y, beta, x))


def train_ellipse(
    config: EllipseConfig, *, run: RunDirectory | None = None, resume: bool = False, show_progress: bool = True
) -> EllipseFit:
    """Fit the ellipse energy by minimising the energy loss :math:`\\mathrm{mean}_y F_\\beta(y[, x])`.

    With ``run``, writes ``config.json``, per-epoch ``metrics.jsonl`` and a checkpoint every
    ``checkpoint_every`` epochs and at the end of each restart; ``resume=True`` continues from it.

    Example:
        >>> fit = train_ellipse(EllipseConfig(epochs=60), show_progress=False)
        >>> [round(v, 1) for v in fit.model.w.tolist()]
        [2.0, 1.5]
    """
    config = config.resolved()
    device = resolve_device(config.device)
    data = make_ellipse(config.n_samples, conditional=config.conditional, seed=config.seed)
    y = data.y.to(device)
    x = data.x.to(device) if config.conditional else None
    steps_per_epoch = math.ceil(len(y) / config.batch_size)

    best_state: dict[str, Tensor] | None = None
    best_loss, best_losses = math.inf, []
    first_restart, first_epoch, resumed_losses = 0, 0, []
    resumed_state: dict[str, Tensor] | None = None
    if run is not None:
        if resume and run.has_checkpoint():
            checkpoint = run.load_checkpoint()
            extra = checkpoint.extra
            first_restart, first_epoch = int(extra["restart"]), checkpoint.step
            resumed_losses = list(extra["losses"])
            best_loss, best_losses = float(extra["best_loss"]), list(extra["best_losses"])
            tensors = {k: v.to(device) for k, v in checkpoint.tensors.items()}
            resumed_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")} or None
            best = {k[len("best.") :]: v for k, v in tensors.items() if k.startswith("best.")}
            best_state = best or None
            run.truncate_metrics("step", first_restart * config.epochs + first_epoch)
        else:
            run.file("metrics.jsonl").unlink(missing_ok=True)
        run.write_config(config)

    total = config.n_init * config.epochs
    bar = progress(range(total), total=total, desc="ellipse", enabled=show_progress)
    bar_iter = iter(bar)
    for _ in range(first_restart * config.epochs + first_epoch):
        next(bar_iter, None)
    for restart in range(first_restart, config.n_init):
        model = _new_model(config, restart).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        start, losses = 0, []
        if restart == first_restart and resumed_state is not None:
            model.load_state_dict(resumed_state)
            if run is not None:
                run.load_checkpoint(optimizer)
            start, losses = first_epoch, resumed_losses
        generator = torch.Generator().manual_seed(config.seed + 1 + 1000 * restart)
        for _ in range(start):  # replay the shuffles so a resumed run sees the same batches
            torch.randperm(len(y), generator=generator)
        for epoch in range(start, config.epochs):
            next(bar_iter, None)
            order = torch.randperm(len(y), generator=generator).to(device)
            epoch_sum = 0.0
            step = epoch * steps_per_epoch
            for begin in range(0, len(y), config.batch_size):
                batch = order[begin : begin + config.batch_size]
                loss = _full_loss(model, y[batch], None if x is None else x[batch], config.beta)  # energy loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                _cosine_lr(optimizer, config.lr, step, config.epochs * steps_per_epoch)
                optimizer.step()
                step += 1
                epoch_sum += loss.item() * len(batch)
            losses.append(epoch_sum / len(y))
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"ellipse training diverged at epoch {epoch + 1} with lr={config.lr}")
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(restart=restart + 1, loss=f"{losses[-1]:.4f}")
            if run is not None:
                metrics: dict[str, object] = {
                    "step": restart * config.epochs + epoch + 1,
                    "restart": restart + 1,
                    "epoch": epoch + 1,
                    "loss": losses[-1],
                }
                if isinstance(model, EllipseEnergy):
                    metrics["w1"], metrics["w2"] = model.w.tolist()
                run.log_metrics(metrics)
                if (epoch + 1) % config.checkpoint_every == 0 and epoch + 1 < config.epochs:
                    _save(run, model, best_state, optimizer, config, restart, epoch + 1, losses, best_loss, best_losses)
        if config.lbfgs_iterations:
            _refine(model, y, x, config)
        final = float(_full_loss(model, y, x, config.beta).detach())
        if final < best_loss:
            best_loss, best_losses = final, losses
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if run is not None:
            run.log_metrics({"step": (restart + 1) * config.epochs, "restart": restart + 1, "final_loss": final})
            # a finished restart resumes as the start of the next one
            _save(run, None, best_state, None, config, restart + 1, 0, [], best_loss, best_losses)
    if hasattr(bar, "close"):
        bar.close()
    model = _new_model(config, 0).to(device)
    assert best_state is not None  # n_init >= 1 restarts ran, or a checkpoint held one
    model.load_state_dict(best_state)
    return EllipseFit(model, data.y, data.x, best_losses, best_loss)


def _cosine_lr(optimizer: torch.optim.Optimizer, base: float, step: int, total: int) -> None:
    """Closed-form cosine decay from ``base`` to 0, so a resumed run continues the same schedule."""
    for group in optimizer.param_groups:
        group["lr"] = base * 0.5 * (1.0 + math.cos(math.pi * step / total))


def _refine(model: Energy, y: Tensor, x: Tensor | None, config: EllipseConfig) -> None:
    """Full-batch L-BFGS on the same energy loss, from where Adam stopped."""
    optimizer = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=config.lbfgs_iterations,
        history_size=50,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-10,
        tolerance_change=1e-12,
    )

    def closure() -> Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = _full_loss(model, y, x, config.beta)
        loss.backward()
        return loss

    optimizer.step(closure)


def _save(
    run: RunDirectory,
    model: Energy | None,
    best_state: dict[str, Tensor] | None,
    optimizer: torch.optim.Optimizer | None,
    config: EllipseConfig,
    restart: int,
    epoch: int,
    losses: list[float],
    best_loss: float,
    best_losses: list[float],
) -> None:
    tensors = {} if model is None else {f"model.{k}": v for k, v in model.state_dict().items()}
    if best_state is not None:
        tensors.update({f"best.{k}": v for k, v in best_state.items()})
    extra = {"restart": restart, "losses": losses, "best_loss": best_loss, "best_losses": best_losses}
    run.save_checkpoint(tensors, step=epoch, config=config, extra=extra, optimizer=optimizer)
