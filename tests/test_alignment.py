"""Alignment free energies against brute-force enumeration of all alignments, ctc_loss and forced_align."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from ebmlab.kernels.alignment import (
    ViterbiResult,
    alignment_free_energy,
    decode,
    most_offending_free_energy,
    unconstrained_free_energy,
    viterbi,
)

BLANK = 0


# ----------------------------------------------------------------------------------------------- reference


def runs(sequence):
    return [key for key, _ in itertools.groupby(sequence)]


def collapse(sequence, blank=BLANK):
    return [c for c in runs(sequence) if c != blank]


def is_alignment(sequence, target, graph, blank=BLANK):
    """Is the class sequence a path of the target's graph? (plain definitions, no automaton)"""
    if graph == "ctc":
        return collapse(sequence, blank) == list(target)
    symbols = [s for c in target for s in (c, blank)]  # "cat" -> c _ a _ t _
    return runs(sequence) == symbols


def is_any_alignment(sequence, graph, blank=BLANK):
    """Is the class sequence an alignment of some transcription?"""
    if graph == "ctc":
        return True
    return is_alignment(sequence, collapse(sequence, blank), graph, blank)


def brute_force(energies, target, length, graph, beta, *, keep=None):
    """F_β over every class sequence of ``length`` windows that ``keep`` accepts, float64."""
    classes = energies.shape[1]
    keep = keep or (lambda sequence: is_alignment(sequence, target, graph))
    path_energies = [
        float(sum(energies[t, c] for t, c in enumerate(sequence)))
        for sequence in itertools.product(range(classes), repeat=length)
        if keep(sequence)
    ]
    if not path_energies:
        return math.inf
    values = torch.tensor(path_energies, dtype=torch.float64)
    if math.isinf(beta):
        return float(values.min())
    return float(-torch.logsumexp(-beta * values, 0) / beta)


def tiny_problem(seed, *, steps=5, batch=6, classes=4, max_target=3):
    generator = torch.Generator().manual_seed(seed)
    energies = torch.randn(steps, batch, classes, generator=generator, dtype=torch.float64) * 1.5
    target_lengths = torch.randint(0, max_target + 1, (batch,), generator=generator)
    targets = torch.randint(1, classes, (batch, max_target), generator=generator)
    input_lengths = torch.randint(0, steps + 1, (batch,), generator=generator)
    input_lengths[0] = steps
    return energies, targets, input_lengths, target_lengths


# ----------------------------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("graph", ["ctc", "homework"])
@pytest.mark.parametrize("beta", [math.inf, 1.0, 0.3, 4.0])
@pytest.mark.parametrize("seed", range(4))
def test_free_energy_equals_enumeration_of_alignments(graph, beta, seed):
    energies, targets, input_lengths, target_lengths = tiny_problem(seed)
    got = alignment_free_energy(energies, targets, input_lengths, target_lengths, graph=graph, beta=beta)
    assert got.shape == (6,) and got.dtype == torch.float64
    for b in range(6):
        target = targets[b, : target_lengths[b]].tolist()
        expected = brute_force(energies[:, b], target, int(input_lengths[b]), graph, beta)
        if math.isinf(expected):
            assert math.isinf(float(got[b])) and float(got[b]) > 0
        else:
            assert float(got[b]) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("graph", ["ctc", "homework"])
@pytest.mark.parametrize("seed", range(4))
def test_viterbi_path_is_the_best_alignment(graph, seed):
    energies, targets, input_lengths, target_lengths = tiny_problem(seed, steps=6)
    best = viterbi(energies, targets, input_lengths, target_lengths, graph=graph)
    assert isinstance(best, ViterbiResult)
    assert best.path.shape == (6, 6) and best.valid.shape == (6, 6) and best.energy.shape == (6,)
    zero_temperature = alignment_free_energy(energies, targets, input_lengths, target_lengths, graph=graph)
    assert torch.equal(best.energy, zero_temperature)
    for b in range(6):
        target = targets[b, : target_lengths[b]].tolist()
        expected = brute_force(energies[:, b], target, int(input_lengths[b]), graph, math.inf)
        valid = best.valid[:, b]
        if math.isinf(expected):
            assert not valid.any() and (best.path[:, b] == -1).all()
            continue
        assert valid.tolist() == [t < input_lengths[b] for t in range(6)]
        path = best.path[valid, b].tolist()
        assert is_alignment(path, target, graph)
        assert float(energies[range(len(path)), b, path].sum()) == pytest.approx(expected, abs=1e-10)
        assert (best.path[~valid, b] == -1).all()


@pytest.mark.parametrize("graph", ["ctc", "homework"])
@pytest.mark.parametrize("beta", [math.inf, 1.0, 2.5])
@pytest.mark.parametrize("seed", range(3))
def test_unconstrained_free_energy_equals_enumeration(graph, beta, seed):
    energies, _, input_lengths, _ = tiny_problem(seed)
    got = unconstrained_free_energy(energies, input_lengths, graph=graph, beta=beta)
    for b in range(6):
        length = int(input_lengths[b])
        expected = brute_force(energies[:, b], None, length, graph, beta, keep=lambda s: is_any_alignment(s, graph))
        if length == 0:
            expected = 0.0
        assert float(got[b]) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("graph", ["ctc", "homework"])
@pytest.mark.parametrize("seed", range(5))
def test_most_offending_is_the_best_incorrect_alignment(graph, seed):
    energies, targets, input_lengths, target_lengths = tiny_problem(seed)
    got = most_offending_free_energy(energies, targets, input_lengths, target_lengths, graph=graph)
    for b in range(6):
        target = targets[b, : target_lengths[b]].tolist()
        length = int(input_lengths[b])

        def incorrect(sequence, target=target):
            return is_any_alignment(sequence, graph) and collapse(sequence) != target

        expected = brute_force(energies[:, b], target, length, graph, math.inf, keep=incorrect)
        if length == 0:
            expected = 0.0 if target else math.inf
        assert float(got[b]) == pytest.approx(expected, abs=1e-10), (b, target, length)


def test_most_offending_gradient_marks_one_path():
    energies, targets, input_lengths, target_lengths = tiny_problem(7, steps=5)
    energies.requires_grad_(True)
    value = most_offending_free_energy(energies, targets, input_lengths, target_lengths)
    (grad,) = torch.autograd.grad(value.sum(), energies)
    per_window = grad.sum(dim=2)  # (T, B): one class per window of the offending path
    inside = torch.arange(5)[:, None] < input_lengths[None, :]
    assert torch.equal(per_window, inside.double())


# ----------------------------------------------------------------------------------------------- peers


@pytest.mark.parametrize("targets_layout", ["padded", "concatenated"])
def test_beta_one_ctc_graph_is_ctc_loss_values_and_gradients(targets_layout):
    generator = torch.Generator().manual_seed(3)
    steps, batch, classes = 30, 8, 7
    energies = (torch.randn(steps, batch, classes, generator=generator, dtype=torch.float64) * 2).requires_grad_()
    target_lengths = torch.randint(0, 9, (batch,), generator=generator)
    targets = torch.randint(1, classes, (batch, 8), generator=generator)
    targets[0, :4] = torch.tensor([2, 2, 2, 3])  # repeats need blanks between them
    target_lengths[0] = 4
    input_lengths = torch.randint(10, steps + 1, (batch,), generator=generator)
    if targets_layout == "concatenated":
        targets = torch.cat([targets[b, : target_lengths[b]] for b in range(batch)])
    ours = alignment_free_energy(energies, targets, input_lengths, target_lengths, beta=1.0)
    inside = torch.arange(steps)[:, None] < input_lengths[None, :]
    normaliser = torch.where(inside, torch.logsumexp(-energies, dim=2), 0.0).sum(dim=0)
    ours = ours + normaliser
    reference = F.ctc_loss(
        F.log_softmax(-energies, -1), targets, input_lengths, target_lengths, blank=BLANK, reduction="none"
    )
    torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-10)
    weights = torch.rand(batch, generator=generator, dtype=torch.float64)
    (ours_grad,) = torch.autograd.grad((ours * weights).sum(), energies)
    (reference_grad,) = torch.autograd.grad((reference * weights).sum(), energies)
    torch.testing.assert_close(ours_grad, reference_grad, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("graph", ["ctc", "homework"])
@pytest.mark.parametrize("beta", [0.5, 3.0])
def test_finite_beta_gradient_matches_autograd_of_the_recursion(graph, beta):
    """The hand-written backward equals gradcheck's finite differences."""
    energies, targets, input_lengths, target_lengths = tiny_problem(11, steps=6, batch=4)
    energies.requires_grad_(True)

    def function(e):
        return alignment_free_energy(
            e, targets, input_lengths, target_lengths, graph=graph, beta=beta, zero_infinity=True
        )

    assert torch.autograd.gradcheck(function, (energies,))


@pytest.mark.parametrize("graph", ["ctc", "homework"])
def test_viterbi_gradient_is_the_best_path_indicator(graph):
    energies, targets, input_lengths, target_lengths = tiny_problem(5, steps=6)
    energies.requires_grad_(True)
    value = alignment_free_energy(energies, targets, input_lengths, target_lengths, graph=graph, zero_infinity=True)
    (grad,) = torch.autograd.grad(value.sum(), energies)
    best = viterbi(energies, targets, input_lengths, target_lengths, graph=graph)
    expected = torch.zeros_like(energies)
    t, b = best.valid.nonzero(as_tuple=True)
    expected[t, b, best.path[t, b]] = 1.0
    assert torch.equal(grad, expected)


def test_forced_alignment_agrees_with_torchaudio():
    functional = pytest.importorskip("torchaudio.functional")
    if not hasattr(functional, "forced_align"):
        pytest.skip("this torchaudio has no forced_align")
    generator = torch.Generator().manual_seed(2)
    steps, batch, classes = 40, 5, 9
    energies = torch.randn(steps, batch, classes, generator=generator)
    targets = torch.randint(1, classes, (batch, 6), generator=generator, dtype=torch.int32)
    target_lengths = torch.tensor([6, 5, 3, 6, 1])
    input_lengths = torch.tensor([40, 37, 20, 33, 5])
    best = viterbi(energies, targets, input_lengths, target_lengths)
    for b in range(batch):
        length, size = int(input_lengths[b]), int(target_lengths[b])
        log_probs = -energies[:length, b].unsqueeze(0)  # (1, T, C): forced_align maximises Σ log p
        path, _ = functional.forced_align(log_probs, targets[b : b + 1, :size], blank=BLANK)
        assert path[0].tolist() == best.path[:length, b].tolist()


# ----------------------------------------------------------------------------------------------- decoding


def test_decode_is_argmin_then_collapse():
    energies = torch.randn(9, 3, 5, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([9, 4, 0])
    got = decode(energies, lengths)
    for b in range(3):
        best = energies[: lengths[b], b].argmin(dim=1).tolist()
        assert got[b] == collapse(best)
    assert got[2] == []


@pytest.mark.parametrize("seed", range(4))
def test_decode_on_the_homework_graph_is_the_best_alignment_of_any_answer(seed):
    energies, _, input_lengths, _ = tiny_problem(seed, steps=5, batch=6, classes=3)
    got = decode(energies, input_lengths, graph="homework")
    best = unconstrained_free_energy(energies, input_lengths, graph="homework")
    for b in range(6):
        length = int(input_lengths[b])
        scored = [
            (float(energies[range(length), b, list(sequence)].sum()), sequence)
            for sequence in itertools.product(range(3), repeat=length)
            if is_any_alignment(sequence, "homework") and length > 0
        ]
        if not scored:
            assert got[b] == []
            continue
        energy, sequence = min(scored)
        assert got[b] == collapse(sequence)
        assert float(best[b]) == pytest.approx(energy, abs=1e-10)


def test_decode_is_the_best_transcription_on_the_ctc_graph():
    energies, _, input_lengths, _ = tiny_problem(4, steps=4, batch=3, classes=3)
    got = decode(energies, input_lengths)
    for b in range(3):
        length = int(input_lengths[b])
        candidates = {tuple(collapse(s)) for s in itertools.product(range(3), repeat=length)}
        scores = {y: brute_force(energies[:, b], list(y), length, "ctc", math.inf) for y in candidates}
        assert scores[tuple(got[b])] == pytest.approx(min(scores.values()), abs=1e-12)


# ----------------------------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("graph, steps, possible", [("ctc", 3, True), ("ctc", 2, False), ("homework", 3, False)])
def test_impossible_alignment_is_inf_or_zero(graph, steps, possible):
    energies = torch.randn(steps, 1, 3, requires_grad=True)
    targets, lengths = torch.tensor([[1, 1]]), torch.tensor([2])  # "aa": ctc needs 3 windows, homework 4
    value = alignment_free_energy(energies, targets, [steps], lengths, graph=graph, beta=1.0)
    assert bool(torch.isfinite(value).all()) == possible
    if not possible:
        assert float(value.detach()) == math.inf
        (grad,) = torch.autograd.grad(value.sum(), energies)
        assert torch.equal(grad, torch.zeros_like(grad))
        zeroed = alignment_free_energy(energies, targets, [steps], lengths, graph=graph, zero_infinity=True)
        assert float(zeroed.detach()) == 0.0


def test_impossible_like_ctc_loss_zero_infinity():
    energies = torch.randn(2, 2, 4, dtype=torch.float64)
    targets, target_lengths, input_lengths = torch.tensor([[1, 2, 3], [1, 2, 0]]), [3, 2], [2, 2]
    ours = alignment_free_energy(energies, targets, input_lengths, target_lengths, beta=1.0, zero_infinity=True)
    reference = F.ctc_loss(
        F.log_softmax(-energies, -1), targets, input_lengths, target_lengths, reduction="none", zero_infinity=True
    )
    assert float(ours[0]) == 0.0 and float(reference[0]) == 0.0
    assert math.isfinite(float(ours[1]))


def test_empty_targets_and_inputs():
    energies = torch.randn(3, 3, 4, dtype=torch.float64)
    targets = torch.zeros(3, 0, dtype=torch.int64)
    value = alignment_free_energy(energies, targets, [3, 0, 2], [0, 0, 0], beta=1.0)
    assert float(value[0]) == pytest.approx(float(energies[:, 0, BLANK].sum()))  # all blanks
    assert float(value[1]) == 0.0  # nothing to align
    homework = alignment_free_energy(energies, targets, [3, 0, 2], [0, 0, 0], graph="homework")
    assert homework.tolist() == [math.inf, 0.0, math.inf]


def test_float32_and_long_inputs_stay_finite():
    energies = torch.randn(200, 4, 27) * 20
    targets = torch.randint(1, 27, (4, 30))
    value = alignment_free_energy(energies, targets, [200] * 4, [30] * 4, beta=1.0)
    exact = alignment_free_energy(energies.double(), targets, [200] * 4, [30] * 4, beta=1.0)
    torch.testing.assert_close(value.double(), exact, rtol=1e-5, atol=1e-3)


def test_lengths_as_lists_and_on_the_energies_device():
    energies = torch.randn(4, 2, 3)
    a = alignment_free_energy(energies, torch.tensor([[1], [2]]), [4, 3], [1, 1])
    b = alignment_free_energy(energies, torch.tensor([[1], [2]]), torch.tensor([4, 3]), torch.tensor([1, 1]))
    assert torch.equal(a, b)


# ----------------------------------------------------------------------------------------------- errors


def valid_arguments():
    return torch.randn(5, 2, 4), torch.tensor([[1, 2], [3, 0]]), torch.tensor([5, 4]), torch.tensor([2, 1])


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: (a[0], torch.tensor([[1, 4], [3, 0]]), a[2], a[3]), r"targets.*\[0, 4\).*found 4"),
        (lambda a: (a[0], torch.tensor([[1, 0], [3, 0]]), a[2], a[3]), r"other than blank = 0, found 0"),
        (lambda a: (a[0], torch.tensor([[1, -1], [3, 0]]), a[2], a[3]), r"found -1"),
        (lambda a: (a[0], a[1], torch.tensor([6, 4]), a[3]), r"input_lengths must be <= T = 5.*found 6"),
        (lambda a: (a[0], a[1], torch.tensor([-1, 4]), a[3]), r"input_lengths must be >= 0, found -1"),
        (lambda a: (a[0], a[1], torch.tensor([5, 4, 3]), a[3]), r"input_lengths must have shape \(B,\) = \(2,\)"),
        (lambda a: (a[0], a[1], a[2], torch.tensor([3, 1])), r"target_lengths must be <= L = 2.*found 3"),
        (lambda a: (a[0], a[1], a[2], torch.tensor([2, -1])), r"target_lengths must be >= 0, found -1"),
        (lambda a: (a[0], torch.tensor([1, 2, 3]), a[2], torch.tensor([2, 2])), r"sum to the 3 entries.*found sum 4"),
        (lambda a: (a[0][0], a[1], a[2], a[3]), r"energies must have shape \(T, B, C\)"),
        (lambda a: (a[0], torch.tensor([[1, 2]]), a[2], a[3]), r"targets must have shape \(B, L\) = \(2, L\)"),
    ],
)
def test_errors_name_the_argument(change, match):
    arguments = change(valid_arguments())
    with pytest.raises(ValueError, match=match):
        alignment_free_energy(*arguments)


def test_errors_for_settings():
    energies, targets, input_lengths, target_lengths = valid_arguments()
    with pytest.raises(ValueError, match="graph must be one of"):
        alignment_free_energy(energies, targets, input_lengths, target_lengths, graph="hmm")
    with pytest.raises(ValueError, match="beta must be > 0"):
        alignment_free_energy(energies, targets, input_lengths, target_lengths, beta=0.0)
    with pytest.raises(ValueError, match=r"blank must be a class index in \[0, C\) = \[0, 4\), got blank=4"):
        alignment_free_energy(energies, targets, input_lengths, target_lengths, blank=4)
    with pytest.raises(TypeError, match="floating-point"):
        alignment_free_energy(energies.long(), targets, input_lengths, target_lengths)
    with pytest.raises(TypeError, match="input_lengths must hold integers"):
        alignment_free_energy(energies, targets, input_lengths.float(), target_lengths)
    with pytest.raises(ValueError, match="input_lengths must be <= T"):
        viterbi(energies, targets, torch.tensor([9, 1]), target_lengths)
    with pytest.raises(ValueError, match="input_lengths must be >= 0"):
        decode(energies, [-2, 1])


def test_blank_elsewhere_and_homework_graph_with_last_class_blank():
    energies = torch.randn(6, 1, 4, dtype=torch.float64)
    target = [0, 1]  # with blank = 3, class 0 is a character
    for graph in ("ctc", "homework"):
        got = alignment_free_energy(energies, torch.tensor([target]), [6], [2], graph=graph, blank=3, beta=2.0)

        def keep(sequence, graph=graph):
            if graph == "ctc":
                return collapse(sequence, 3) == target
            return runs(sequence) == [0, 3, 1, 3]

        expected = brute_force(energies[:, 0], target, 6, graph, 2.0, keep=keep)
        assert float(got) == pytest.approx(expected, abs=1e-10)
