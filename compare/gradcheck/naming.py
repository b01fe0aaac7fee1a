"""Layers and parameters in a learner's words: "the output layer (weight_out, bias_out; 2.weight, 2.bias)".

A finding names a parameter as the model's own code does (``weight_out``; ``label`` maps a state-dict key
to that name) and a layer by its place in the network, "hidden layer 1" or "the output layer", never by
the index of its ``nn.Linear`` alone; the state-dict key follows in brackets, so the twin's printout can
be matched too. For a model that has no names of its own, the key is its name.

Lesson: ``NeuralNetMLP``'s ``weight_h``/``bias_h`` (hidden layer 1) and ``weight_out``/``bias_out``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Label = Callable[[str], str]  # state-dict key ("2.weight") -> the model's own name ("weight_out")


def layer_of(name: str) -> int:
    """The Linear layer a state-dict key belongs to: "4.weight" -> 2."""
    return int(name.split(".")[0]) // 2


def layer_title(layer: int, n_layers: int) -> str:
    """ "the output layer" for the last Linear layer, "hidden layer k" (1 is the first) for the others."""
    return "the output layer" if layer == n_layers - 1 else f"hidden layer {layer + 1}"


def _n_layers(keys: Iterable[str]) -> int:
    return max(layer_of(k) for k in keys) + 1


def layer_words(layer: int, keys: Iterable[str], label: Label) -> str:
    """ "the output layer (weight_out, bias_out; 2.weight, 2.bias)": the layer, its parameters, their keys."""
    keys = list(keys)
    own = [k for k in keys if layer_of(k) == layer]
    names = [label(k) for k in own]
    inside = ", ".join(names) + (f"; {', '.join(own)}" if names != own else "")
    return f"{layer_title(layer, _n_layers(keys))} ({inside})"


def param_words(key: str, keys: Iterable[str], label: Label) -> str:
    """ "weight_out (the output layer, 2.weight)", or "2.weight (the output layer)" when the key is the name."""
    where = layer_title(layer_of(key), _n_layers(keys))
    return f"{label(key)} ({where}, {key})" if label(key) != key else f"{key} ({where})"


def params_words(names: Iterable[str], keys: Iterable[str], label: Label) -> str:
    """Several parameters, each as ``param_words`` says it."""
    keys = list(keys)
    return ", ".join(param_words(n, keys, label) for n in names)
