#!/usr/bin/env python3
"""Prints the values rounding_activations.ptl expects, from NumPy and PyTorch.

The EXPECT lines of tests/e2e/rounding_activations.ptl are this script's
output (NumPy's str() of each value; gradients from PyTorch's float64
autograd). It documents where they came from and rebuilds them:
    /usr/bin/python3 tests/e2e/rounding_activations_reference.py
"""
import numpy as np
import torch

F = torch.nn.functional
x64 = np.array([[-2.5, 0.75, 0.0], [0.125, -3.0, -1.25]])
x32 = np.array([-2.5, -1.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 0.7, -0.7], dtype=np.float32)


def grad(f):
    """d sum(f(x)) / dx at x64, in float64."""
    a = torch.tensor(x64, requires_grad=True)
    f(a).sum().backward()
    return a.grad.numpy()


t64 = torch.tensor(x64)
t32 = torch.tensor(x64.astype(np.float32))
values = [
    np.floor(x32), np.round(x32), np.sign(x32),
    np.floor(x64), np.round(x64), np.sign(x64),
    F.elu(t64).numpy(), F.elu(t64, alpha=0.3).numpy(), grad(lambda a: F.elu(a, alpha=0.3)),
    F.leaky_relu(t64).numpy(), F.leaky_relu(t64, 0.3).numpy(), grad(lambda a: F.leaky_relu(a, 0.3)),
    F.softsign(t64).numpy(), grad(F.softsign),
    grad(lambda a: 2 * torch.floor(a) + 3 * torch.round(a) + 5 * torch.sign(a) + a),
    F.elu(t32, alpha=0.3).numpy(), F.leaky_relu(t32, 0.3).numpy(), F.softsign(t32).numpy(),
]
for v in values:
    print(v)
