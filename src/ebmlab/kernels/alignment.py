"""Free energies over latent alignments: structured prediction of sequences of unknown alignment.

An observation ``x`` (a word image) is cut into ``T`` windows; a network gives every window ``t``
an energy ``E_t[c]`` for every class ``c`` (``energies``, shape ``(T, B, C)``, time-major like
:func:`torch.nn.functional.ctc_loss`). An answer ``y`` (a word) is aligned with the windows by a
latent alignment ``z``: one class per window. The energy of an answer and an alignment is

.. math::

    E(x, y, z) = C_y(z) + \\sum_{t=1}^{T} E_t[z_t],
    \\qquad C_y(z) = 0 \\text{ if } z \\text{ is a path of the graph of } y, \\ +\\infty \\text{ otherwise},

and the free energy of the answer marginalises the alignment:

.. math::

    F_\\infty(x, y) = \\min_z E(x, y, z) \\quad \\text{(Viterbi)}, \\qquad
    F_\\beta(x, y) = -\\frac{1}{\\beta} \\log \\sum_{z} e^{-\\beta E(x, y, z)} \\quad \\text{(forward algorithm)}.

**Not normalised by the number of paths.** :func:`ebmlab.free_energy` averages over its latent set,
:math:`-\\frac1\\beta \\log \\frac{1}{|Z|} \\sum_z e^{-\\beta E}`, so that :math:`F_\\beta` lies between
the minimum and the mean energy. Here the sum is not divided by the number of alignments
:math:`|Z_y|`: with it, answers with more alignments (shorter words in the same image) would be
penalised by :math:`\\frac1\\beta \\log |Z_y|`, and :math:`F_\\beta(x, y)` at β = 1 would no longer be the
negative log-likelihood ``ctc_loss`` computes. The two differ by exactly
:math:`\\frac1\\beta \\log |Z_y|`; both tend to the Viterbi energy as β → ∞.

Graphs (``graph=``), for the target ``"cat"`` and ``_`` the between-characters class ``blank``:

* ``"homework"`` — the symbols ``c _ a _ t _`` (every character followed by ``_``): each window is
  aligned to one symbol, the alignment starts at the first symbol, ends at the last, and never
  skips or goes back (``c c _ a _ _ t _``). Needs ``T >= 2 L`` windows.
* ``"ctc"`` — connectionist temporal classification: optional blanks between characters, repeats
  collapse (``c c a _ t``, ``_ c a t t``), a blank is compulsory only between two equal characters.
  Needs ``T >= L + (number of repeated neighbours)`` windows.

A target the windows cannot hold has no alignment: its free energy is ``+inf`` (0 with
``zero_infinity=True``, like ``ctc_loss``), and its gradient is zero.

Every function is batched over ``B`` (a loop over time only), runs on any device, and is
differentiable with respect to ``energies``: :func:`alignment_free_energy` has a hand-written
backward (forward-backward posteriors at finite β, the best path at β = ∞).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "GRAPHS",
    "ViterbiResult",
    "alignment_free_energy",
    "decode",
    "most_offending_free_energy",
    "unconstrained_free_energy",
    "viterbi",
]

#: the alignment graphs: ``"ctc"`` and the homework's ``"homework"``
GRAPHS = ("ctc", "homework")

_NEG = -math.inf


class ViterbiResult(NamedTuple):
    """The best alignment of each target (see :func:`viterbi`).

    Attributes:
        energy: :math:`F_\\infty(x, y) = \\min_z E(x, y, z)`, shape ``(B,)`` (``+inf`` when no alignment exists).
        path: the class of each window on the best alignment, shape ``(T, B)`` int64; ``-1`` where
            ``valid`` is False.
        valid: ``(T, B)`` bool: the window lies within ``input_lengths`` and the target has an alignment.

    Example:
        >>> import torch
        >>> E = torch.tensor([[[0.0, 1.0]], [[2.0, 0.5]], [[0.1, 3.0]]])  # T = 3, B = 1, blank and "a"
        >>> best = viterbi(E, torch.tensor([[1]]), [3], [1])
        >>> best.path[:, 0].tolist(), best.valid[:, 0].tolist(), round(float(best.energy), 2)
        ([0, 1, 0], [True, True, True], 0.6)
    """

    energy: Tensor
    path: Tensor
    valid: Tensor


class _Graph(NamedTuple):
    """A batch of target graphs, states padded to a common count S. Private: assumes valid input.

    State ``s`` of sample ``b`` emits class ``symbols[b, s]``; the recursions keep two leading padding
    slots (index ``s + 2``): slot 1 is the start, before the first window; slot 0 is never reached.
    """

    symbols: Tensor  # (B, S) int64: the class each state emits
    skip: Tensor | None  # (B, S) 0 / -inf: may state s be entered from s - 2 (None: never)
    ends: Tensor  # (B, 2) int64: padded indices of the final states (0 when there is only one)
    size: Tensor  # (B,) int64: states of each sample's graph


# ----------------------------------------------------------------------------------------------- checks


def _check_energies(energies: Tensor) -> None:
    if not isinstance(energies, Tensor):
        raise TypeError(f"energies must be a torch.Tensor of shape (T, B, C), got {type(energies).__name__}")
    if not energies.is_floating_point():
        raise TypeError(f"energies must be a floating-point tensor, got dtype={energies.dtype}")
    if energies.ndim != 3 or energies.shape[2] < 1:
        raise ValueError(f"energies must have shape (T, B, C) with C >= 1, got shape {tuple(energies.shape)}")


def _check_lengths(lengths: Tensor | Sequence[int], name: str, batch: int, device: torch.device) -> Tensor:
    """``(B,)`` int64 lengths on ``device``, all >= 0."""
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"{name} must hold integers, got dtype={lengths.dtype}")
        tensor = lengths
    else:
        try:
            tensor = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a tensor or a sequence of integers, got {type(lengths).__name__}") from exc
        if tensor.is_floating_point() or tensor.dtype == torch.bool:
            raise TypeError(f"{name} must hold integers, got {lengths!r}")
    if tensor.shape != (batch,):
        raise ValueError(f"{name} must have shape (B,) = ({batch},) to match energies, got shape {tuple(tensor.shape)}")
    tensor = tensor.to(device=device, dtype=torch.int64)
    if batch and int(tensor.min()) < 0:
        index = int(tensor.argmin())
        raise ValueError(f"{name} must be >= 0, found {int(tensor[index])} at index {index}")
    return tensor


def _check_beta(beta: float) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise TypeError(f"beta must be a positive float or math.inf, got {type(beta).__name__} {beta!r}")
    beta = float(beta)
    if not beta > 0.0:
        raise ValueError(f"beta must be > 0 (math.inf for the Viterbi energy), got beta={beta}")
    return beta


def _check_graph(graph: str) -> None:
    if graph not in GRAPHS:
        raise ValueError(f"graph must be one of {GRAPHS}, got graph={graph!r}")


def _check_blank(blank: int, classes: int) -> int:
    if isinstance(blank, bool) or not isinstance(blank, int) or not 0 <= blank < classes:
        raise ValueError(f"blank must be a class index in [0, C) = [0, {classes}), got blank={blank!r}")
    return blank


def _check_input_lengths(input_lengths: Tensor | Sequence[int], energies: Tensor) -> Tensor:
    steps, batch = energies.shape[:2]
    lengths = _check_lengths(input_lengths, "input_lengths", batch, energies.device)
    if batch and int(lengths.max()) > steps:
        index = int(lengths.argmax())
        raise ValueError(
            f"input_lengths must be <= T = {steps} (energies.shape[0]), found {int(lengths[index])} at index {index}"
        )
    return lengths


def _check_targets(
    targets: Tensor, target_lengths: Tensor | Sequence[int], energies: Tensor, blank: int
) -> tuple[Tensor, Tensor]:
    """Targets as a padded ``(B, L)`` int64 tensor on the energies' device, and their lengths ``(B,)``."""
    batch, classes = energies.shape[1], energies.shape[2]
    if not isinstance(targets, Tensor):
        raise TypeError(
            f"targets must be a torch.Tensor of shape (B, L) or (sum(target_lengths),), got {type(targets)}"
        )
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise TypeError(f"targets must hold integer class indices, got dtype={targets.dtype}")
    lengths = _check_lengths(target_lengths, "target_lengths", batch, energies.device)
    targets = targets.to(device=energies.device, dtype=torch.int64)
    if targets.ndim == 2:
        if targets.shape[0] != batch:
            raise ValueError(
                f"targets must have shape (B, L) = ({batch}, L) to match energies, got shape {tuple(targets.shape)}"
            )
        if batch and int(lengths.max()) > targets.shape[1]:
            index = int(lengths.argmax())
            raise ValueError(
                f"target_lengths must be <= L = {targets.shape[1]} (targets.shape[1]), "
                f"found {int(lengths[index])} at index {index}"
            )
        width = targets.shape[1]
        padded = targets
    elif targets.ndim == 1:
        total = int(lengths.sum()) if batch else 0
        if total != targets.numel():
            raise ValueError(
                f"target_lengths must sum to the {targets.numel()} entries of the concatenated targets, "
                f"found sum {total}"
            )
        width = int(lengths.max()) if batch else 0
        starts = torch.cumsum(lengths, 0) - lengths  # (B,)
        positions = starts[:, None] + torch.arange(width, device=energies.device)  # (B, L)
        inside = torch.arange(width, device=energies.device) < lengths[:, None]  # (B, L)
        padded = targets[positions.clamp(max=max(targets.numel() - 1, 0))] if targets.numel() else positions * 0
        padded = torch.where(inside, padded, blank)
    else:
        raise ValueError(f"targets must have shape (B, L) or (sum(target_lengths),), got shape {tuple(targets.shape)}")
    inside = torch.arange(width, device=energies.device) < lengths[:, None]  # (B, L)
    bad = inside & ((padded < 0) | (padded >= classes) | (padded == blank))
    if bool(bad.any()):
        row, column = (int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"targets must hold class indices in [0, C) = [0, {classes}) other than blank = {blank}, "
            f"found {int(padded[row, column])} at sample {row}, position {column}"
        )
    return torch.where(inside, padded, blank), lengths


# ----------------------------------------------------------------------------------------------- graphs


def _build_graph(targets: Tensor, target_lengths: Tensor, graph: str, blank: int, dtype: torch.dtype) -> _Graph:
    """The states of each target's graph (targets padded ``(B, L)``, valid)."""
    batch, width = targets.shape
    device = targets.device
    if graph == "ctc":
        states = 2 * width + 1
        symbols = torch.full((batch, states), blank, dtype=torch.int64, device=device)  # (B, S)
        symbols[:, 1::2] = targets
        allowed = torch.zeros(batch, states, dtype=torch.bool, device=device)  # (B, S)
        if width:
            allowed[:, 1] = True  # the first character may be entered from the start
            allowed[:, 3::2] = targets[:, 1:] != targets[:, :-1]  # skip a blank between different characters
        skip = torch.zeros(batch, states, dtype=dtype, device=device).masked_fill_(~allowed, _NEG)
        size = 2 * target_lengths + 1
        ends = torch.stack([size + 1, size], dim=1)  # padded indices of states S_b - 1 and S_b - 2
    else:
        states = 2 * width
        symbols = torch.full((batch, states), blank, dtype=torch.int64, device=device)  # (B, S)
        symbols[:, 0::2] = targets
        skip = None
        size = 2 * target_lengths
        ends = torch.stack([size + 1, torch.zeros_like(size)], dim=1)  # state S_b - 1, and the dead slot 0
    return _Graph(symbols, skip, ends, size)


# ----------------------------------------------------------------------------------------------- recursions


def _forward_table(emit: Tensor, graph: _Graph, steps: int, tropical: bool) -> Tensor:
    """The forward (or Viterbi) table in log-weights, ``(steps + 1, S + 2, B)``.

    Row ``t + 1`` holds :math:`\\alpha_t(s)`, the log-weight (β-scaled negative energy) of the paths
    that end in state ``s`` at window ``t`` (emission included); row 0 is the start. The batch is
    the innermost dimension, so every step works on contiguous ``(S, B)`` blocks.
    """
    _, states, batch = emit.shape
    table = emit.new_full((steps + 1, states + 2, batch), _NEG)
    table[0, 1] = 0.0
    combine = torch.maximum if tropical else torch.logaddexp
    # row views made once (per-step indexing would cost more than the arithmetic)
    stay, advance, jump = table[:, 2:].unbind(0), table[:, 1:-1].unbind(0), table[:, :-2].unbind(0)
    emissions = emit.unbind(0)
    if graph.skip is None:
        for t in range(steps):
            combine(stay[t], advance[t], out=stay[t + 1])
            stay[t + 1].add_(emissions[t])
        return table
    skip = graph.skip.T.contiguous()  # (S, B)
    stay_or_advance = emit.new_empty(states, batch)
    skipped = emit.new_empty(states, batch)
    for t in range(steps):
        combine(stay[t], advance[t], out=stay_or_advance)
        torch.add(jump[t], skip, out=skipped)
        combine(stay_or_advance, skipped, out=stay[t + 1])
        stay[t + 1].add_(emissions[t])
    return table


def _last_rows(table: Tensor, input_lengths: Tensor) -> Tensor:
    """Each sample's column of the table after its last window, ``(B, S + 2)``."""
    columns = torch.arange(table.shape[2], device=table.device)
    return table[input_lengths, :, columns]


def _final_log_weight(table: Tensor, graph: _Graph, input_lengths: Tensor, tropical: bool) -> Tensor:
    """log Z (or the best path's log-weight) of each sample, ``(B,)``."""
    ends = _last_rows(table, input_lengths).gather(1, graph.ends)  # (B, 2)
    combine = torch.maximum if tropical else torch.logaddexp
    return combine(ends[:, 0], ends[:, 1])


def _posteriors(
    table: Tensor, emit: Tensor, graph: _Graph, input_lengths: Tensor, lengths: list[int], log_z: Tensor
) -> Tensor:
    """Occupation probabilities :math:`\\gamma_t(s) = e^{\\alpha_t(s) + b_t(s) - \\log Z}`, ``(steps, S, B)``.

    ``b_t(s)`` is the log-weight of the completions from state ``s`` after window ``t`` (emission of
    ``t`` excluded); samples whose ``log Z`` is ``-inf`` get zero.
    """
    steps = table.shape[0] - 1
    _, states, batch = emit.shape
    after = emit.new_empty(steps, states, batch)  # b_t
    ahead = emit.new_full((steps + 1, states + 2, batch), _NEG)  # emit_t + b_t, two trailing dead slots
    final = emit.new_full((batch, states + 2), _NEG)
    final.scatter_(1, graph.ends, 0.0)  # in padded indices
    final = final[:, 2:].T.contiguous()  # (S, B): 0 at the final states
    ending: dict[int, Tensor] = {}
    for length in sorted(set(lengths)):
        if length > 0:
            ending[length - 1] = torch.nonzero(input_lengths == length).squeeze(1)
    skip = None
    if graph.skip is not None:
        skip = emit.new_full((states, batch), _NEG)  # may s + 2 be entered from s
        skip[:-2] = graph.skip[:, 2:].T
        stay_or_advance = emit.new_empty(states, batch)
        skipped = emit.new_empty(states, batch)
    same, following, skipping = ahead[:, :-2].unbind(0), ahead[:, 1:-1].unbind(0), ahead[:, 2:].unbind(0)
    completions, emissions = after.unbind(0), emit.unbind(0)
    for t in range(steps - 1, -1, -1):
        current = completions[t]
        if skip is None:
            torch.logaddexp(same[t + 1], following[t + 1], out=current)
        else:
            torch.logaddexp(same[t + 1], following[t + 1], out=stay_or_advance)
            torch.add(skipping[t + 1], skip, out=skipped)
            torch.logaddexp(stay_or_advance, skipped, out=current)
        columns = ending.get(t)
        if columns is not None:
            current.index_copy_(1, columns, final.index_select(1, columns))
        torch.add(current, emissions[t], out=same[t])
    possible = torch.isfinite(log_z)
    shift = torch.where(possible, log_z, 0.0)  # impossible samples: every α + b is -inf, γ = 0
    return after.add_(table[1:, 2:]).sub_(shift).exp_()


def _backtrack(table: Tensor, graph: _Graph, input_lengths: Tensor) -> tuple[Tensor, Tensor]:
    """The best path through a Viterbi table: the state of every window ``(steps, B)`` (-1 outside
    the input or where no path exists) and whether each sample has a path ``(B,)``. Ties go to the
    latest move."""
    steps, states, batch = table.shape[0] - 1, table.shape[1] - 2, table.shape[2]
    device = table.device
    ends = _last_rows(table, input_lengths).gather(1, graph.ends)  # (B, 2)
    possible = torch.isfinite(ends.amax(dim=1))  # (B,)
    state = (graph.ends.gather(1, ends.argmax(dim=1, keepdim=True)).T - 2).clamp_(min=0)  # (1, B)
    path = torch.full((steps, batch), -1, dtype=torch.int64, device=device)
    active = torch.arange(steps, device=device)[:, None] < input_lengths[None, :]  # (steps, B)
    if steps == 0 or states == 0:
        return path, possible
    # the predecessors' log-weights of every state, one block per move: stay, advance, skip
    predecessors = table.new_empty(steps, 3, states, batch)
    predecessors[:, 0] = table[:steps, 2:]
    predecessors[:, 1] = table[:steps, 1:-1]
    torch.add(table[:steps, :-2], 0.0 if graph.skip is None else graph.skip.T, out=predecessors[:, 2])
    if graph.skip is None:
        predecessors[:, 2] = _NEG
    predecessors[:, 0].masked_fill_(~active[:, None, :], math.inf)  # past its end a sample stays put
    blocks, rows = predecessors.unbind(0), path.unbind(0)
    candidates = table.new_empty(3, 1, batch)
    for t in range(steps - 1, 0, -1):
        rows[t].copy_(state[0])
        torch.gather(blocks[t], 1, state.expand(3, 1, batch), out=candidates)  # (3, 1, B)
        state = (state - candidates.argmax(dim=0)).clamp_(min=0)  # (1, B)
    rows[0].copy_(state[0])
    return path.masked_fill_(~(active & possible[None, :]), -1), possible


def _emissions(energies: Tensor, graph: _Graph, steps: int, scale: float) -> Tensor:
    """``-scale * E_t[symbol(s)]`` for the first ``steps`` windows, ``(steps, S, B)``."""
    batch, states = graph.symbols.shape
    index = graph.symbols.unsqueeze(0).expand(steps, batch, states)
    return energies[:steps].gather(2, index).mul_(-scale).transpose(1, 2).contiguous()


class _AlignmentFreeEnergy(torch.autograd.Function):
    """F_β(x, y) of every sample with its gradient: posteriors (finite β) or the best path (β = ∞)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx, energies: Tensor, graph: _Graph, input_lengths: Tensor, lengths: list[int], beta: float, zero: bool
    ) -> Tensor:
        tropical = math.isinf(beta)
        steps = max(lengths, default=0)
        with torch.no_grad():
            emit = _emissions(energies.detach(), graph, steps, 1.0 if tropical else beta)  # (steps, S, B)
            table = _forward_table(emit, graph, steps, tropical)
            log_z = _final_log_weight(table, graph, input_lengths, tropical)  # (B,)
            energy = -log_z if tropical else -log_z / beta
            possible = torch.isfinite(log_z)
            if zero:
                energy = torch.where(possible, energy, 0.0)
        ctx.graph, ctx.lengths, ctx.beta, ctx.shape = graph, lengths, beta, energies.shape
        ctx.save_for_backward(table, emit, input_lengths, log_z)
        return energy

    @staticmethod
    def backward(ctx, grad_energy: Tensor):  # type: ignore[override]
        table, emit, input_lengths, log_z = ctx.saved_tensors
        graph: _Graph = ctx.graph
        steps = table.shape[0] - 1
        scale = torch.where(torch.isfinite(log_z), grad_energy, 0.0)  # (B,)
        grad = emit.new_zeros(ctx.shape)  # (T, B, C)
        if steps == 0:
            return grad, None, None, None, None, None
        if math.isinf(ctx.beta):
            states, _ = _backtrack(table, graph, input_lengths)  # (steps, B)
            inside = states >= 0
            classes = graph.symbols.gather(1, states.clamp(min=0).T).T  # (steps, B)
            weight = torch.where(inside, scale[None, :], 0.0).to(grad.dtype)  # (steps, B)
            grad[:steps].scatter_(2, classes.unsqueeze(2), weight.unsqueeze(2))
            return grad, None, None, None, None, None
        gamma = _posteriors(table, emit, graph, input_lengths, ctx.lengths, log_z)  # (steps, S, B)
        gamma.mul_(scale)
        # γ summed over the states of each class: (B, steps, S) @ (B, S, C) one-hot
        one_hot = torch.nn.functional.one_hot(graph.symbols, ctx.shape[2]).to(gamma.dtype)  # (B, S, C)
        grad[:steps] = torch.bmm(gamma.permute(2, 0, 1), one_hot).transpose(0, 1)
        return grad, None, None, None, None, None


# ----------------------------------------------------------------------------------------------- public


def alignment_free_energy(
    energies: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    *,
    graph: str = "ctc",
    beta: float = math.inf,
    blank: int = 0,
    zero_infinity: bool = False,
) -> Tensor:
    """Free energy of each target over its alignments with the windows.

    .. math::

        F_\\beta(x, y) = -\\frac{1}{\\beta} \\log \\sum_{z \\in Z_y} e^{-\\beta \\sum_t E_t[z_t]}, \\qquad
        F_\\infty(x, y) = \\min_{z \\in Z_y} \\sum_t E_t[z_t],

    with :math:`Z_y` the paths of the target's graph (see the module). Not divided by
    :math:`|Z_y|`, unlike :func:`ebmlab.free_energy`: at β = 1 on the CTC graph,
    ``alignment_free_energy(E, ...) + Σ_t logsumexp_c(-E[t, b, c])`` is
    ``ctc_loss(log_softmax(-E, -1), ..., reduction="none")``.

    The gradient with respect to ``energies`` is the expected number of visits of each
    (window, class) under the Gibbs distribution over alignments (finite β; the forward-backward
    posteriors), or the indicator of the best path (β = ∞). Cost: O(T · B · L) in a loop over T.

    Args:
        energies: window energies :math:`E_t[c]`, any real values (not ``-inf``), float32 or float64.
        targets: class indices, padded ``(B, L)`` or concatenated ``(sum(target_lengths),)`` as for
            ``ctc_loss``; every symbol in ``[0, C)`` and not ``blank``.
        input_lengths: windows of each sample, ``(B,)``, in ``[0, T]``.
        target_lengths: symbols of each target, ``(B,)``, ``>= 0``.
        graph: ``"ctc"`` or ``"homework"``.
        beta: inverse temperature β > 0; ``math.inf`` gives the Viterbi (best-path) energy.
        blank: the blank / between-characters class.
        zero_infinity: give 0 (instead of ``+inf``) for targets with no alignment.

    Returns:
        ``(B,)`` free energies in the dtype of ``energies``.

    Raises:
        ValueError: a length that is negative or disagrees with the tensors, a target symbol
            outside ``[0, C)`` or equal to ``blank``, an unknown graph, β <= 0.

    Shape:
        energies ``(T, B, C)``, targets ``(B, L)`` or ``(sum(target_lengths),)``, lengths ``(B,)``
        → ``(B,)``.

    Example:
        >>> import math, torch
        >>> E = torch.tensor([[[0.0, 1.0]], [[2.0, 0.5]]])  # T = 2 windows, B = 1, C = 2 (blank 0, "a" 1)
        >>> target, lengths = torch.tensor([[1]]), torch.tensor([2])
        >>> alignment_free_energy(E, target, lengths, [1])  # best of "aa" 1.5, "a_" 3.0, "_a" 0.5
        tensor([0.5000])
        >>> alignment_free_energy(E, target, lengths, [1], graph="homework")  # only "a_"
        tensor([3.])
        >>> F1 = alignment_free_energy(E, target, lengths, [1], beta=1.0)
        >>> torch.allclose(F1, -torch.logsumexp(-torch.tensor([1.5, 3.0, 0.5]), 0))
        True
    """
    _check_energies(energies)
    _check_graph(graph)
    beta = _check_beta(beta)
    blank = _check_blank(blank, energies.shape[2])
    input_lengths = _check_input_lengths(input_lengths, energies)
    padded, target_lengths = _check_targets(targets, target_lengths, energies, blank)
    structure = _build_graph(padded, target_lengths, graph, blank, energies.dtype)
    lengths = input_lengths.tolist()
    return _AlignmentFreeEnergy.apply(energies, structure, input_lengths, lengths, beta, bool(zero_infinity))


def viterbi(
    energies: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    *,
    graph: str = "ctc",
    blank: int = 0,
) -> ViterbiResult:
    """The best alignment of each target (forced alignment).

    .. math:: \\check z = \\arg\\min_{z \\in Z_y} \\sum_t E_t[z_t]

    Ties go to the path that moves latest. Arguments as :func:`alignment_free_energy`.

    Returns:
        :class:`ViterbiResult`: ``energy`` ``(B,)`` (detached; ``+inf`` when no alignment exists),
        ``path`` ``(T, B)`` the class of each window (``-1`` outside ``valid``), ``valid`` ``(T, B)``.

    Example:
        >>> import torch
        >>> E = torch.tensor([[[0.0, 1.0]], [[2.0, 0.5]], [[0.1, 3.0]]])  # T = 3, "a" is class 1
        >>> best = viterbi(E, torch.tensor([[1]]), [3], [1])
        >>> best.path[:, 0].tolist(), round(float(best.energy), 2)
        ([0, 1, 0], 0.6)
        >>> viterbi(E, torch.tensor([[1, 1]]), [2], [2]).energy  # "aa" needs a blank between: 3 windows
        tensor([inf])
    """
    _check_energies(energies)
    _check_graph(graph)
    blank = _check_blank(blank, energies.shape[2])
    input_lengths = _check_input_lengths(input_lengths, energies)
    padded, target_lengths = _check_targets(targets, target_lengths, energies, blank)
    steps_total, batch = energies.shape[:2]
    structure = _build_graph(padded, target_lengths, graph, blank, energies.dtype)
    steps = int(input_lengths.max()) if batch else 0
    with torch.no_grad():
        emit = _emissions(energies.detach(), structure, steps, 1.0)
        table = _forward_table(emit, structure, steps, tropical=True)
        energy = -_final_log_weight(table, structure, input_lengths, tropical=True)
        states, _ = _backtrack(table, structure, input_lengths)  # (steps, B)
        valid = states >= 0  # (steps, B)
        classes = structure.symbols.gather(1, states.clamp(min=0).T).T if structure.symbols.shape[1] else states
        path = torch.full((steps_total, batch), -1, dtype=torch.int64, device=energies.device)
        path[:steps] = torch.where(valid, classes, -1)
        mask = torch.zeros(steps_total, batch, dtype=torch.bool, device=energies.device)
        mask[:steps] = valid
    return ViterbiResult(energy, path, mask)


def decode(
    energies: Tensor, input_lengths: Tensor | Sequence[int], *, graph: str = "ctc", blank: int = 0
) -> list[list[int]]:
    """Best transcription without a target: the lowest-energy alignment of any answer, collapsed.

    .. math:: \\check z = \\arg\\min_{z \\in \\cup_y Z_y} \\sum_t E_t[z_t], \\qquad
              \\check y = \\mathrm{collapse}(\\check z)

    On the CTC graph every class sequence is an alignment, so :math:`\\check z_t = \\arg\\min_c E_t[c]`
    window by window (then repeats collapse and blanks go). On the homework's graph the alignments
    are the sequences that start with a character, end with the blank and never move from one
    character to another without a blank: a Viterbi recursion over the C classes finds the best
    one (a sample with no such alignment, fewer than 2 windows, gets an empty transcription).
    Either way :math:`\\check y` is the answer of lowest :math:`F_\\infty(x, y)`.

    Returns:
        One list of class indices per sample.

    Shape:
        energies ``(T, B, C)``, input_lengths ``(B,)`` → B lists.

    Example:
        >>> import torch
        >>> E = -torch.eye(3)[[1, 1, 0, 1, 2, 2]].unsqueeze(1)  # best classes 1 1 0 1 2 2
        >>> decode(E, [6])
        [[1, 1, 2]]
        >>> decode(E, [6], graph="homework")  # a blank must follow every character
        [[1, 1]]
    """
    _check_energies(energies)
    _check_graph(graph)
    blank = _check_blank(blank, energies.shape[2])
    input_lengths = _check_input_lengths(input_lengths, energies)
    steps = energies.shape[0]
    with torch.no_grad():
        if graph == "ctc":
            best = energies.argmin(dim=2).T  # (B, T)
        else:
            best = _homework_best_path(energies, input_lengths, blank).T  # (B, T)
        previous = torch.nn.functional.pad(best, (1, 0), value=-1)[:, :-1]  # (B, T)
        inside = torch.arange(steps, device=energies.device)[None, :] < input_lengths[:, None]  # (B, T)
        keep = inside & (best != blank) & (best != previous) & (best >= 0)  # (B, T)
        counts = keep.sum(dim=1).tolist()
        flat = best[keep].tolist()
    out, begin = [], 0
    for count in counts:
        out.append(flat[begin : begin + count])
        begin += count
    return out


def _homework_best_path(energies: Tensor, input_lengths: Tensor, blank: int) -> Tensor:
    """The best alignment of any answer on the homework's graph, the class of each window ``(T, B)``
    (-1 for samples that have none). States: the class of the last window."""
    steps, batch, classes = energies.shape
    device = energies.device
    path = torch.full((steps, batch), -1, dtype=torch.int64, device=device)
    if steps == 0:
        return path
    is_blank = torch.arange(classes, device=device) == blank  # (C,)
    active = torch.arange(steps, device=device)[:, None] < input_lengths[None, :]  # (T, B)
    weight = torch.where(is_blank, _NEG, -energies[0])  # (B, C): a character comes first
    entered_from_blank = torch.zeros(steps, batch, classes, dtype=torch.bool, device=device)
    blank_source = torch.full((steps, batch), blank, dtype=torch.int64, device=device)
    for t in range(1, steps):
        from_blank = weight[:, blank : blank + 1]  # (B, 1)
        best_letter, letter = torch.where(is_blank, _NEG, weight).max(dim=1)  # (B,)
        switch = (from_blank > weight) & ~is_blank & active[t][:, None]  # (B, C): leave the blank for c
        leave = (best_letter > from_blank.squeeze(1)) & active[t]  # (B,): a character ends
        new = torch.where(switch, from_blank, weight)
        new[:, blank] = torch.where(leave, best_letter, from_blank.squeeze(1))
        weight = torch.where(active[t][:, None], new - energies[t], weight)
        entered_from_blank[t] = switch
        blank_source[t] = torch.where(leave, letter, blank)
    possible = torch.isfinite(weight[:, blank]) & (input_lengths > 0)  # (B,)
    state = torch.full((batch,), blank, dtype=torch.int64, device=device)
    rows = torch.arange(batch, device=device)
    for t in range(steps - 1, -1, -1):
        path[t] = state
        if t == 0:
            break
        came_from_blank = entered_from_blank[t, rows, state]  # (B,)
        state = torch.where(
            state == blank, blank_source[t], torch.where(came_from_blank, torch.full_like(state, blank), state)
        )
    return path.masked_fill_(~(active & possible[None, :]), -1)


def unconstrained_free_energy(
    energies: Tensor,
    input_lengths: Tensor | Sequence[int],
    *,
    graph: str = "ctc",
    beta: float = math.inf,
    blank: int = 0,
) -> Tensor:
    """Free energy of "any answer": every alignment of every transcription, :math:`F_\\beta(x, \\text{any } y)`.

    .. math::

        F_\\beta(x, \\text{any } y) = -\\frac{1}{\\beta} \\log \\sum_{y} \\sum_{z \\in Z_y} e^{-\\beta E(x, y, z)},

    the normaliser of the negative log-likelihood loss :math:`F_\\beta(x, y) - F_\\beta(x, \\text{any } y)`.
    On the CTC graph every class sequence is an alignment of exactly one answer, so this is
    :math:`\\sum_t -\\frac1\\beta \\log \\sum_c e^{-\\beta E_t[c]}` (:math:`\\sum_t \\min_c E_t[c]` at β = ∞).
    On the homework's graph the alignments are the sequences that start with a character, end with
    the blank and put a blank between two characters; a recursion over C states sums them.
    Differentiable (autograd).

    Shape:
        energies ``(T, B, C)``, input_lengths ``(B,)`` → ``(B,)``.

    Example:
        >>> import torch
        >>> E = torch.tensor([[[0.0, 1.0]], [[2.0, 0.5]]])
        >>> unconstrained_free_energy(E, [2])  # best classes 0, 1
        tensor([0.5000])
        >>> unconstrained_free_energy(E, [2], graph="homework")  # "a_" is the only alignment
        tensor([3.])
    """
    _check_energies(energies)
    _check_graph(graph)
    beta = _check_beta(beta)
    blank = _check_blank(blank, energies.shape[2])
    input_lengths = _check_input_lengths(input_lengths, energies)
    steps, batch, classes = energies.shape
    tropical = math.isinf(beta)
    inside = torch.arange(steps, device=energies.device)[:, None] < input_lengths[None, :]  # (T, B)
    if graph == "ctc":
        if tropical:
            per_window = energies.amin(dim=2)  # (T, B)
        else:
            per_window = -torch.logsumexp(-beta * energies, dim=2) / beta  # (T, B)
        return torch.where(inside, per_window, 0.0).sum(dim=0)
    scale = 1.0 if tropical else beta
    combine = torch.maximum if tropical else torch.logaddexp
    emit = -scale * energies  # (T, B, C)
    is_blank = torch.zeros(classes, dtype=torch.bool, device=energies.device)
    is_blank[blank] = True
    # state c: the last window's class was c; a character must come first, the blank last
    state = torch.where(is_blank, _NEG, emit[0]) if steps else energies.new_full((batch, classes), _NEG)
    for t in range(1, steps):
        from_blank = state[:, blank : blank + 1]  # (B, 1)
        letters = torch.where(is_blank, _NEG, state)  # (B, C)
        into_letter = combine(state, from_blank)  # stay on a character or leave the blank
        all_letters = letters.amax(dim=1) if tropical else torch.logsumexp(letters, dim=1)
        into_blank = combine(from_blank.squeeze(1), all_letters)  # (B,)
        new = torch.where(is_blank, into_blank[:, None], into_letter) + emit[t]  # (B, C)
        state = torch.where(inside[t][:, None], new, state)
    log_weight = state[:, blank]  # (B,)
    log_weight = torch.where(input_lengths > 0, log_weight, 0.0)
    return -log_weight / scale


def most_offending_free_energy(
    energies: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    *,
    graph: str = "ctc",
    blank: int = 0,
) -> Tensor:
    """Zero-temperature free energy of the most offending incorrect answer.

    .. math:: F_\\infty(x, \\bar y) = \\min_{\\bar y \\ne y} \\min_{z \\in Z_{\\bar y}} \\sum_t E_t[z_t]

    The minimum runs over the alignments of every transcription other than the target (on the CTC
    graph every class sequence; on the homework's graph the sequences described in
    :func:`unconstrained_free_energy`), found exactly by one Viterbi recursion over the target's
    graph and the states that have left it. It is the negative answer of the hinge and perceptron
    losses (:mod:`ebmlab.losses`). Differentiable (autograd: the gradient marks the offending path).

    Returns:
        ``(B,)``; ``+inf`` when every alignment spells the target.

    Shape:
        energies ``(T, B, C)``, targets ``(B, L)`` or ``(sum(target_lengths),)``, lengths ``(B,)``
        → ``(B,)``.

    Example:
        >>> import torch
        >>> E = torch.tensor([[[0.0, 1.0, 0.2]], [[2.0, 0.5, 0.1]]])  # classes _, a, b
        >>> most_offending_free_energy(E, torch.tensor([[1]]), [2], [1])  # "b": "_b" 0.1 ("a" would be 0.5)
        tensor([0.1000])
    """
    _check_energies(energies)
    _check_graph(graph)
    blank = _check_blank(blank, energies.shape[2])
    input_lengths = _check_input_lengths(input_lengths, energies)
    padded, target_lengths = _check_targets(targets, target_lengths, energies, blank)
    structure = _build_graph(padded, target_lengths, graph, blank, energies.dtype)
    if graph == "ctc":
        return _offending_ctc(energies, structure, input_lengths)
    return _offending_homework(energies, structure, input_lengths, blank)


def _padded_symbols(structure: _Graph, fill: int) -> Tensor:
    """Symbols in padded indices with two trailing states ``fill`` (never entered): ``(B, S + 4)``."""
    return torch.nn.functional.pad(structure.symbols, (2, 2), value=fill)


def _offending_ctc(energies: Tensor, structure: _Graph, input_lengths: Tensor) -> Tensor:
    steps, batch, classes = energies.shape
    states = structure.symbols.shape[1]
    device = energies.device
    slots = torch.arange(states + 2, device=device)  # padded indices
    real = (slots >= 2) & (slots[None, :] < structure.size[:, None] + 2)  # (B, S + 2)
    # classes each padded state may emit next without leaving the target's graph
    symbols = _padded_symbols(structure, fill=-1)  # (B, S + 4)
    skip = torch.full((batch, states + 4), _NEG, dtype=energies.dtype, device=device)
    if structure.skip is not None:
        skip[:, 2 : states + 2] = structure.skip
    class_ids = torch.arange(classes, device=device)
    stay = symbols[:, : states + 2, None] == class_ids  # (B, S + 2, C)
    stay &= slots[None, :, None] >= 2  # the start has no class to stay on
    following_real = slots[None, :] + 1 < structure.size[:, None] + 2  # state s + 1 exists
    advance = (symbols[:, 1 : states + 3, None] == class_ids) & following_real[:, :, None]
    skippable = torch.isfinite(skip[:, 2 : states + 4]) & (slots[None, :] + 2 < structure.size[:, None] + 2)
    jump = (symbols[:, 2 : states + 4, None] == class_ids) & skippable[:, :, None]
    allowed = stay | advance | jump  # (B, S + 2, C)
    source = real.clone()
    source[:, 1] = True  # the start can be left by a wrong first class
    emit = -energies  # (T, B, C)
    # best log-weight of leaving each state by a class outside its graph: (T, B, S + 2)
    leaving = torch.where(allowed[None], _NEG, emit[:, :, None, :]).amax(dim=3)
    leaving = torch.where(source[None], leaving, _NEG)
    best_class = emit.amax(dim=2)  # (T, B)
    inside = torch.arange(steps, device=device)[:, None] < input_lengths[None, :]  # (T, B)
    graph_weight = energies.new_full((batch, states + 2), _NEG)
    graph_weight[:, 1] = 0.0
    left = energies.new_full((batch,), _NEG)  # best path that has left the graph
    symbol_emit = emit.gather(2, structure.symbols.unsqueeze(0).expand(steps, batch, states))  # (T, B, S)
    for t in range(steps):
        out = torch.maximum(left + best_class[t], (graph_weight + leaving[t]).amax(dim=1))
        moved = torch.maximum(graph_weight[:, 2:], graph_weight[:, 1:-1])
        if structure.skip is not None:
            moved = torch.maximum(moved, graph_weight[:, :-2] + structure.skip)
        inner = torch.nn.functional.pad(moved + symbol_emit[t], (2, 0), value=_NEG)
        graph_weight = torch.where(inside[t][:, None], inner, graph_weight)
        left = torch.where(inside[t], out, left)
    prefix = real.clone()  # strict prefixes of the target: every graph state but the final ones
    prefix[:, 1] = True
    prefix.scatter_(1, structure.ends, False)
    stopped = torch.where(prefix, graph_weight, _NEG).amax(dim=1)
    return -torch.maximum(left, stopped)


def _offending_homework(energies: Tensor, structure: _Graph, input_lengths: Tensor, blank: int) -> Tensor:
    steps, batch, classes = energies.shape
    states = structure.symbols.shape[1]
    device = energies.device
    slots = torch.arange(states + 2, device=device)
    real = (slots >= 2) & (slots[None, :] < structure.size[:, None] + 2)  # (B, S + 2)
    class_ids = torch.arange(classes, device=device)
    is_blank = class_ids == blank
    # the graph can be left only after a blank (or at the start), by a character other than the next one
    after_blank = real & ((slots[None, :] - 2) % 2 == 1)
    source = after_blank.clone()
    source[:, 1] = True
    symbols = _padded_symbols(structure, fill=-1)  # (B, S + 4)
    following = symbols[:, 1 : states + 3]  # (B, S + 2): the class of state s + 1
    following = torch.where(slots[None, :] + 1 < structure.size[:, None] + 2, following, -1)
    exits = source[:, :, None] & ~is_blank[None, None, :] & (following[:, :, None] != class_ids)  # (B, S + 2, C)
    exit_weight = torch.zeros(exits.shape, dtype=energies.dtype, device=device).masked_fill_(~exits, _NEG)
    emit = -energies  # (T, B, C)
    inside = torch.arange(steps, device=device)[:, None] < input_lengths[None, :]  # (T, B)
    symbol_emit = emit.gather(2, structure.symbols.unsqueeze(0).expand(steps, batch, states))  # (T, B, S)
    graph_weight = energies.new_full((batch, states + 2), _NEG)
    graph_weight[:, 1] = 0.0
    left = energies.new_full((batch, classes), _NEG)  # off the graph, by the last class
    for t in range(steps):
        leaving = (graph_weight[:, :, None] + exit_weight).amax(dim=1)  # (B, C)
        from_blank = left[:, blank : blank + 1]  # (B, 1)
        letters = torch.where(is_blank, _NEG, left)
        into_letter = torch.maximum(torch.maximum(left, from_blank), leaving)
        into_blank = torch.maximum(from_blank.squeeze(1), letters.amax(dim=1))
        out = torch.where(is_blank, into_blank[:, None], into_letter) + emit[t]
        moved = torch.maximum(graph_weight[:, 2:], graph_weight[:, 1:-1])
        inner = torch.nn.functional.pad(moved + symbol_emit[t], (2, 0), value=_NEG)
        graph_weight = torch.where(inside[t][:, None], inner, graph_weight)
        left = torch.where(inside[t][:, None], out, left)
    prefix = after_blank.clone()  # stopped after a blank before the last character
    prefix[:, 1] = True
    prefix.scatter_(1, structure.ends, False)
    stopped = torch.where(prefix, graph_weight, _NEG).amax(dim=1)
    return -torch.maximum(left[:, blank], stopped)
