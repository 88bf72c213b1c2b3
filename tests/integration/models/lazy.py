"""A model that leaves its input width to PyTorch: ``nn.LazyLinear`` learns it at the first forward."""
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(64), nn.ReLU(), nn.LazyLinear(n_classes))

    def forward(self, x):
        return self.net(x)
