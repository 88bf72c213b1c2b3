"""The built-in example: a small MLP for 8x8 digits (input (1, 8, 8), 10 classes)."""

import torch.nn as nn


class Model(nn.Module):
    def __init__(self, in_features: int = 64, hidden: int = 128, n_classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x):
        return self.net(x)
