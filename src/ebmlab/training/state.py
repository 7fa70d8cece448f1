"""Training state as one record: nested dicts of tensors, numbers, strings and generator states.

A task's :meth:`~ebmlab.training.Task.state_dict` returns a tree of ``dict``/``list`` nodes whose
leaves are tensors, Python scalars, strings or ``None`` — model parameters, optimiser state (as
``optimizer.state_dict()`` gives it), random generator states, positions in a schedule.
:func:`flatten_state` splits such a tree into named tensors (stored in safetensors) and a JSON
skeleton that points at them; :func:`unflatten_state` puts it back together. Dict keys that are not
all strings (an optimiser's integer parameter ids) survive the round trip.

Random generators are stored by their state: :func:`generator_state` / :func:`set_generator_state`
for ``torch.Generator`` and numpy's ``Generator`` alike, so a resumed run draws the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["flatten_state", "generator_state", "set_generator_state", "unflatten_state"]

_TENSOR, _PAIRS, _TUPLE = "__tensor__", "__pairs__", "__tuple__"


def flatten_state(state: Any, prefix: str = "") -> tuple[dict[str, Tensor], Any]:
    """Split a state tree into ``(tensors, skeleton)``; the skeleton is JSON-serialisable.

    Example:
        >>> import torch
        >>> tensors, skeleton = flatten_state({"w": torch.ones(2), "step": 3, "ids": {0: "a"}})
        >>> sorted(tensors), skeleton["w"], skeleton["step"]
        (['w'], {'__tensor__': 'w'}, 3)
        >>> unflatten_state(tensors, skeleton)["ids"]
        {0: 'a'}
    """
    tensors: dict[str, Tensor] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, Tensor):
            tensors[path] = node.detach().to("cpu").contiguous().clone()
            return {_TENSOR: path}
        if isinstance(node, dict):
            if all(isinstance(key, str) and not key.startswith("__") for key in node):
                return {key: walk(value, f"{path}.{key}" if path else key) for key, value in node.items()}
            return {
                _PAIRS: [
                    [key, walk(value, f"{path}.{i}" if path else str(i))] for i, (key, value) in enumerate(node.items())
                ]
            }
        if isinstance(node, tuple):
            return {_TUPLE: [walk(value, f"{path}.{i}") for i, value in enumerate(node)]}
        if isinstance(node, list):
            return [walk(value, f"{path}.{i}") for i, value in enumerate(node)]
        if isinstance(node, np.generic):
            return node.item()
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise TypeError(
            f"state entry {path!r} has type {type(node).__name__}; expected tensors, numbers, strings, lists or dicts"
        )

    return tensors, walk(state, prefix)


def unflatten_state(tensors: dict[str, Tensor], skeleton: Any) -> Any:
    """Inverse of :func:`flatten_state`: the state tree from its tensors and its JSON skeleton.

    Example:
        >>> import torch
        >>> tensors, skeleton = flatten_state({"w": torch.ones(2), "pair": (1, 2)})
        >>> unflatten_state(tensors, skeleton)
        {'w': tensor([1., 1.]), 'pair': (1, 2)}
    """
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton:
            return tensors[skeleton[_TENSOR]]
        if _PAIRS in skeleton:
            return {key: unflatten_state(tensors, value) for key, value in skeleton[_PAIRS]}
        if _TUPLE in skeleton:
            return tuple(unflatten_state(tensors, value) for value in skeleton[_TUPLE])
        return {key: unflatten_state(tensors, value) for key, value in skeleton.items()}
    if isinstance(skeleton, list):
        return [unflatten_state(tensors, value) for value in skeleton]
    return skeleton


Generator = torch.Generator | np.random.Generator | np.random.RandomState


def generator_state(generator: Generator) -> Any:
    """The state of a torch generator, numpy ``Generator`` or ``RandomState``, as a state-tree leaf (a uint8 tensor
    or a dict).

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> saved = generator_state(g)
        >>> a = torch.rand(2, generator=g)
        >>> set_generator_state(g, saved)
        >>> bool((torch.rand(2, generator=g) == a).all())
        True
    """
    if isinstance(generator, torch.Generator):
        return generator.get_state()
    if isinstance(generator, np.random.Generator):
        state = generator.bit_generator.state
        return {"bit_generator": state["bit_generator"], "json": _json_ints(state)}
    if isinstance(generator, np.random.RandomState):  # MT19937 words and the cached Gaussian
        return {"bit_generator": "RandomState", "json": _json_ints(generator.get_state(legacy=False))}
    raise TypeError(f"generator must be a torch.Generator, numpy Generator or RandomState, got {type(generator)}")


def set_generator_state(generator: Generator, state: Any) -> None:
    """Restore what :func:`generator_state` returned.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> saved = generator_state(rng)
        >>> first = rng.random()
        >>> set_generator_state(rng, saved)
        >>> rng.random() == first
        True
    """
    if isinstance(generator, torch.Generator):
        generator.set_state(state.to(torch.uint8).cpu())
    elif isinstance(generator, np.random.Generator):
        generator.bit_generator.state = _int_json(state["json"])
    elif isinstance(generator, np.random.RandomState):
        generator.set_state(_int_json(state["json"]))
    else:
        raise TypeError(f"generator must be a torch.Generator, numpy Generator or RandomState, got {type(generator)}")


def _json_ints(node: Any) -> Any:
    """numpy bit-generator states hold 128-bit integers and arrays: store big ints as strings."""
    if isinstance(node, dict):
        return {key: _json_ints(value) for key, value in node.items()}
    if isinstance(node, np.ndarray):
        return {"__array__": node.tolist(), "dtype": str(node.dtype)}
    if isinstance(node, (int, np.integer)) and not isinstance(node, bool):
        return {"__int__": str(int(node))}
    return node


def _int_json(node: Any) -> Any:
    if isinstance(node, dict):
        if "__int__" in node:
            return int(node["__int__"])
        if "__array__" in node:
            return np.asarray(node["__array__"], dtype=node["dtype"])
        return {key: _int_json(value) for key, value in node.items()}
    return node
