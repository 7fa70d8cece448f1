"""The accelerated mode of the nearest-codeword search: exact, with triangle-inequality bounds.

A search ž_b = argmin_k ‖y_b − c_k‖² repeated while the codewords c move a little between searches
(Lloyd's iterations) can skip most distance computations. :class:`BoundedNearest` keeps, per point b
(Ding et al. 2015, "Yinyang K-means"; Hamerly 2010 for the half-gap test; Elkan 2003 for K ≤ 20,
one bound per codeword):

* ``upper[b]`` ≥ ‖y_b − c_{a_b}‖, an upper bound on the distance to its assigned codeword;
* ``lower[b, g]`` ≤ min_{k ∈ g, k ≠ a_b} ‖y_b − c_k‖, a lower bound per group g of codewords.

After the codewords move by δ_k the bounds stay valid as ``upper += δ_a`` and
``lower[:, g] -= max_{k∈g} δ_k`` (for the point's own group, the largest drift of the *other*
codewords of the group). A point keeps its codeword when
``upper ≤ max(min_g lower, ½ min_{k≠a} ‖c_a − c_k‖)``; otherwise its upper bound is tightened to the
exact distance, tested again, and only the points still in doubt are searched against all K
codewords, in row blocks whose one energy matrix gives both the argmin and the group bounds.

It returns the assignments of the plain search :func:`ebmlab.kernels.argmin.assign_clusters` (its
test oracle) up to exact ties and float round-off at the level of near-ties.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from . import fast_linear

__all__ = ["BoundedNearest"]

# A callback told of every searched block: rows ``(b, D)``, their previous and new labels ``(b,)``
# (previous None at the first search). Lloyd's iteration keeps its cluster sums with it, while the
# rows are in cache.
BlockObserver = Callable[[Tensor, Tensor | None, Tensor], None]


def _group_order(centers: Tensor, group_size: int) -> Tensor:
    """An order of the K codewords in which consecutive runs of ``group_size`` are spatially close.

    Groups are formed by a few Lloyd steps on the codewords themselves (as Yinyang does), then the
    codewords are sorted by group so that each group is a contiguous slice.
    """
    count = centers.shape[0]
    groups = math.ceil(count / group_size)
    if groups <= 1:
        return torch.arange(count, device=centers.device)
    c = centers.to(torch.float64)
    seeds = c[torch.linspace(0, count - 1, groups, device=c.device).round().long()].clone()  # (G, D)
    label = torch.zeros(count, dtype=torch.long, device=c.device)
    for _ in range(5):
        label = torch.cdist(c, seeds).argmin(dim=1)  # (K,)
        sums = torch.zeros_like(seeds).index_add_(0, label, c)
        sizes = torch.bincount(label, minlength=groups).unsqueeze(1)
        seeds = torch.where(sizes > 0, sums / sizes.clamp_min(1), seeds)
    return torch.argsort(label, stable=True)  # by group, then cut into contiguous runs of group_size


def _group_size(count: int) -> int:
    """About 10 codewords per group (Yinyang's K/10 groups), a divisor of K when one is near.

    For K ≤ 20 every codeword is its own group: one lower bound per codeword (Elkan's bounds), which
    costs only B·K floats there and measured 10–15 % faster than one group on MNIST with K = 10.
    """
    if count <= 20:
        return 1
    for size in (10, 8, 12, 16, 9, 11):
        if count % size == 0:
            return size
    return 10


class BoundedNearest:
    """ž_b = argmin_k ‖y_b − c_k‖² for every row of ``y``, kept exact as the codewords move.

    .. math:: \\check z_b = \\arg\\min_k \\lVert y_b - c_k \\rVert^2, \\qquad
              \\lVert y_b - c_{a_b}\\rVert \\le u_b \\le \\min_g \\ell_{bg} \\Rightarrow \\check z_b = a_b

    The first :meth:`update` searches every row (the plain search, recording the bounds); each later
    one loosens the bounds by the codewords' drift and searches only the rows the bounds cannot
    settle. ``observer(rows, old, new)`` (optional) sees every searched block.
    :meth:`state_dict` holds everything the next :meth:`update` reads, so a resumed search continues
    bit for bit.

    Args:
        y: the points ``(B, D)``; y_sq: their ‖y_b‖² ``(B,)``; centers: the codewords ``(K, D)``.

    Example:
        >>> import torch
        >>> y = torch.tensor([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0]])
        >>> centers = torch.tensor([[0.0, 0.0], [5.0, 5.0]])
        >>> search = BoundedNearest(y, (y * y).sum(1), centers)
        >>> search.update(centers).tolist()
        [0, 0, 1]
        >>> search.update(torch.tensor([[0.15, 0.0], [0.1, 0.1]])).tolist()  # both codewords moved near 0
        [1, 0, 1]
    """

    def __init__(self, y: Tensor, y_sq: Tensor, centers: Tensor, *, observer: BlockObserver | None = None) -> None:
        self.y, self.y_sq, self.observer = y, y_sq, observer
        count = centers.shape[0]
        group_size = _group_size(count)
        self.order = _group_order(centers, group_size)  # internal index i is codeword order[i]
        self.centers = centers[self.order].contiguous()  # (K, D), in group order
        self._width = -(-count // 16) * 16  # columns of the padded codeword matrix
        self._centers_pad: tuple[Tensor, Tensor] | None = None
        self.group_size = group_size
        self.groups = math.ceil(count / group_size)
        self.pad = self.groups * group_size - count
        self.group_of = torch.arange(count, device=y.device) // group_size  # (K,)
        n, dim = y.shape
        self._labels = torch.zeros(n, dtype=torch.long, device=y.device)  # in group order
        self.upper = torch.zeros(n, dtype=y.dtype, device=y.device)
        self.lower = torch.zeros(n, self.groups, dtype=y.dtype, device=y.device)
        # rows per search block: energies (rows × width) up to 1 Mi entries, gathered rows up to 4 Mi
        self.block = max(256, min((1 << 22) // max(dim, 1), (1 << 20) // max(self._width, self.groups * group_size)))
        # a whole block is recomputed when more than this fraction of its rows is in doubt: measured on
        # MNIST (K = 10, 256) and blobs (K = 100), gathering a row into a reused buffer costs about as
        # much as its distance product once the codeword matrix is padded, and whole blocks also
        # tighten every bound they touch
        self.dense_fraction = 0.6
        self.gathered = torch.empty(self.block, dim, dtype=y.dtype, device=y.device)  # reused gather buffer
        self.tighten = count >= 32  # the exact upper bound is worth a gather only for many codewords
        self.margin = 1.0 - 64 * torch.finfo(y.dtype).eps  # thresholds shrunk: round-off errs on the side of work
        self.searched = False  # True once the first (exhaustive) search has run

    @property
    def labels(self) -> Tensor:
        """ž of every row in the codewords' given order, ``(B,)`` int64."""
        return self.order[self._labels]

    def _search(self, yb: Tensor, yb_sq: Tensor, c_sq: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Labels, upper and group lower bounds of the rows ``yb`` from one ``(b, width)`` energy matrix.

        The matrix holds E − ‖y‖² = ‖c‖² − 2y·c (the same argmin; ‖y‖² is added back to the minima and
        the group minima only, saving a pass over it). The codeword matrix is padded to a multiple of
        16 columns whose energy is +inf: the matrix product runs 2–4× faster at those widths than at,
        say, K = 10. Ties go to the lowest index, as in the plain search.
        """
        count, rows, width = self.centers.shape[0], yb.shape[0], self._width
        c_sq_pad = torch.nn.functional.pad(c_sq, (0, width - count), value=math.inf) if width > count else c_sq
        energies = fast_linear.linear(yb, self._padded(), c_sq_pad, alpha=-2.0)  # (b, width): ‖c‖² − 2 y·c
        best, index = energies.min(dim=1)
        energies.scatter_(1, index.unsqueeze(1), math.inf)  # the assigned codeword leaves the bound
        span = self.groups * self.group_size
        if span <= width:
            energies = energies[:, :span]
        else:
            energies = torch.nn.functional.pad(energies, (0, span - width), value=math.inf)
        group_min = energies.reshape(rows, self.groups, self.group_size).amin(dim=2)  # (b, G)
        lower = group_min.add_(yb_sq.unsqueeze(1)).clamp_min_(0).sqrt_()
        upper = best.add_(yb_sq).clamp_min_(0).sqrt_()
        return index, upper, lower

    def _padded(self) -> Tensor:
        """The codewords padded with zero rows, ``(width, D)``, cached per codeword set."""
        if self._centers_pad is None or self._centers_pad[0] is not self.centers:
            count, dim = self.centers.shape
            padded = self.centers.new_zeros(self._width, dim)
            padded[:count] = self.centers
            self._centers_pad = (self.centers, padded)
        return self._centers_pad[1]

    def _tell(self, yb: Tensor, old: Tensor | None, new: Tensor) -> None:
        if self.observer is not None:
            self.observer(yb, None if old is None else self.order[old], self.order[new])

    def _first_pass(self) -> None:
        """Search every row; bounds from scratch."""
        c_sq = (self.centers * self.centers).sum(dim=1)
        for start in range(0, self.y.shape[0], self.block):
            rows = slice(start, min(start + self.block, self.y.shape[0]))
            label, upper, lower = self._search(self.y[rows], self.y_sq[rows], c_sq)
            self._labels[rows], self.upper[rows], self.lower[rows] = label, upper, lower
            self._tell(self.y[rows], None, label)

    def _half_gaps(self) -> Tensor:
        """½ min_{k≠a} ‖c_a − c_k‖ for each codeword a, shape ``(K,)``."""
        count = self.centers.shape[0]
        if count == 1:
            return torch.full((1,), math.inf, dtype=self.y.dtype, device=self.y.device)
        gaps = torch.cdist(self.centers, self.centers)  # (K, K)
        gaps.fill_diagonal_(math.inf)
        return 0.5 * gaps.amin(dim=1)

    def _move_bounds(self, drift: Tensor) -> None:
        """Loosen the bounds after the codewords (group order) moved by ``drift`` ``(K,)``."""
        self.upper += drift[self._labels]
        padded = torch.nn.functional.pad(drift, (0, self.pad), value=0.0).view(self.groups, self.group_size)
        top = padded.topk(min(2, self.group_size), dim=1)  # (G, 2)
        largest = top.values[:, 0]  # (G,)
        second = top.values[:, -1] if self.group_size > 1 else torch.zeros_like(largest)
        self.lower -= largest.unsqueeze(0)
        if self.group_size == 1:  # Elkan's bounds: the own "group" is the assigned codeword, bound +inf
            return
        # own group: the assigned codeword is excluded from the bound, so only the others' drift counts
        group = self.group_of[self._labels]  # (B,)
        argmax = top.indices[:, 0] + torch.arange(self.groups, device=drift.device) * self.group_size  # (G,)
        own = torch.nonzero(argmax[group] == self._labels).squeeze(1)
        if own.numel():
            g = group[own]
            self.lower[own, g] += largest[g] - second[g]

    def update(self, centers: Tensor) -> Tensor:
        """Move the codewords to ``centers`` ``(K, D)`` (given order) and return the new :attr:`labels`.

        Only the rows whose bounds allow a change are searched; the answer is the plain search's.
        """
        moved = centers[self.order]
        if not self.searched:
            self.centers, self.searched = moved.contiguous(), True
            self._first_pass()
            return self.labels
        if not torch.equal(moved, self.centers):
            drift = (moved.double() - self.centers.double()).pow(2).sum(dim=1).sqrt()  # (K,)
            self._move_bounds(drift.to(self.y.dtype) * (1 + 1e-6))
            self.centers = moved.contiguous()
        self._bounded_search()
        return self.labels

    def _bounded_search(self) -> None:
        n = self.y.shape[0]
        c_sq = (self.centers * self.centers).sum(dim=1)
        threshold = torch.maximum(self.lower.amin(dim=1), self._half_gaps()[self._labels]) * self.margin  # (B,)
        doubt = torch.nonzero(self.upper > threshold).squeeze(1)  # (n_doubt,)
        if doubt.numel() == 0:
            return
        per_block = torch.bincount(doubt // self.block, minlength=math.ceil(n / self.block))
        dense = per_block > self.dense_fraction * self.block
        for index in torch.nonzero(dense).squeeze(1).tolist():  # contiguous blocks, searched whole
            rows = slice(index * self.block, min((index + 1) * self.block, n))
            yb = self.y[rows]
            old = self._labels[rows].clone()
            label, upper, lower = self._search(yb, self.y_sq[rows], c_sq)
            self._labels[rows], self.upper[rows], self.lower[rows] = label, upper, lower
            self._tell(yb, old, label)
        sparse = doubt[~dense[doubt // self.block]]
        for start in range(0, sparse.numel(), self.block):  # the rest: gathered rows
            index = sparse[start : start + self.block]
            yb = torch.index_select(self.y, 0, index, out=self.gathered[: index.numel()])
            yb_sq, old = self.y_sq[index], self._labels[index]
            if self.tighten:  # exact distance to the own codeword, then test again
                dot = torch.einsum("bd,bd->b", yb, self.centers.index_select(0, old))
                upper = (yb_sq + c_sq[old] - 2 * dot).clamp_min_(0).sqrt_()
                self.upper[index] = upper
                keep = torch.nonzero(upper > threshold[index]).squeeze(1)
                if keep.numel() == 0:
                    continue
                index, yb, yb_sq, old = index[keep], yb.index_select(0, keep), yb_sq[keep], old[keep]
            label, upper, lower = self._search(yb, yb_sq, c_sq)
            self._labels[index], self.upper[index], self.lower[index] = label, upper, lower
            self._tell(yb, old, label)

    def state_dict(self) -> dict[str, Any]:
        """Order, codewords, labels and bounds. The group lower bounds may hold +inf (a group with no
        codeword but the assigned one), a valid bound: they are stored by their bit pattern."""
        bits = torch.int64 if self.lower.element_size() == 8 else torch.int32
        return {
            "order": self.order,
            "centers": self.centers,
            "labels": self._labels,
            "upper": self.upper,
            "lower_bits": self.lower.view(bits),
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (copies: the search updates its tensors in place)."""
        device, dtype = self.y.device, self.y.dtype
        self.order = saved["order"].to(device, copy=True)
        self.centers = saved["centers"].to(device=device, dtype=dtype, copy=True)
        self._labels = saved["labels"].to(device, copy=True)
        self.upper = saved["upper"].to(device=device, dtype=dtype, copy=True)
        self.lower = saved["lower_bits"].to(device, copy=True).view(dtype)
        self.searched = True
