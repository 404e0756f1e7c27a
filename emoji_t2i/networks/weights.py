"""Weights by name: the keys under which bundles, run states, snapshots and students store a
network's weights, so that they load whatever order the network creates its layers in.
Plain Python (no TensorFlow): the JAX machines import it."""

from __future__ import annotations


def weight_names(net) -> list[str]:
    """Each of ``net.weights``' path below the network itself (``down0_0/conv1/kernel``,
    whether the U-Net stands alone or sits in a model, and whichever scope created the
    variable)."""
    names = []
    for w in net.weights:
        parts = w.path.split("/")
        names.append("/".join(parts[parts.index(net.name) + 1:] if net.name in parts else parts))
    if len(set(names)) != len(names):
        raise ValueError(f"{net.name}: two weights share a path; name its layers")
    return names
