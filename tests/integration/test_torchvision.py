"""torchvision inside the CPU sandbox image (torchvision 0.28.0, its CUDA entry points stubbed by
sandbox_image/nocuda): models, ops and transforms train under every control, and a CUDA path is
a Python error, not a crash."""

from __future__ import annotations

EXIT_OK, EXIT_MODEL_FAILED = 0, 3
SYNTHETIC_IMAGES = "synthetic:samples=300,classes=10,image=3x32x32"

RESNET18 = """
import torch.nn as nn
import torchvision


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torchvision.models.resnet18(num_classes=10)

    def forward(self, x):
        return self.net(x)
"""

# transforms at the top, a C++ operator (roi_align, forward and backward) and an ops layer in forward.
OPS_ON_DIGITS = """
import torch
import torch.nn as nn
import torchvision.ops
from torchvision import transforms


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.normalize = transforms.Normalize(mean=[8.0], std=[6.0])
        self.conv = torchvision.ops.Conv2dNormActivation(1, 16, kernel_size=3)
        self.head = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = self.normalize(x.reshape(len(x), 1, 8, 8))
        features = self.conv(x)
        boxes = torch.tensor([[0.0, 0.0, 7.0, 7.0]]).repeat(len(x), 1)
        index = torch.arange(len(x), dtype=torch.float).unsqueeze(1)
        pooled = torchvision.ops.roi_align(features, torch.cat([index, boxes], 1), output_size=4)
        return self.head(pooled.flatten(1))
"""

# The constructor checks what the image promises; any miss raises (status crashed).
IMAGE_PROMISES = """
import torch
import torch.nn as nn
import torchvision
import torchvision.io


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        assert torchvision.__version__.startswith("0.28."), torchvision.__version__
        assert not torch.cuda.is_available()
        assert torchvision.extension._has_ops()
        img = (torch.rand(3, 16, 16) * 255).to(torch.uint8)
        assert torchvision.io.decode_png(torchvision.io.encode_png(img)).equal(img)
        jpeg = torchvision.io.encode_jpeg(img)
        assert torchvision.io.decode_jpeg(jpeg).shape == (3, 16, 16)
        try:
            torchvision.io.decode_jpeg(jpeg, device="cuda")  # the GPU decoder: stubbed
        except RuntimeError as exc:
            assert "CUDA is not available in the CPU sandbox image" in str(exc), exc
        else:
            raise AssertionError("decode_jpeg(device='cuda') returned")
        with open("/proc/self/maps") as maps:
            mapped = maps.read()
        assert "libcudart" not in mapped and "libnvjpeg" not in mapped and "libcuda." not in mapped
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""

UNCAUGHT_CUDA_CALL = """
import torch
import torch.nn as nn
import torchvision.io


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        jpeg = torchvision.io.encode_jpeg(torch.zeros(3, 8, 8, dtype=torch.uint8))
        torchvision.io.decode_jpeg(jpeg, device="cuda")
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_resnet18_trains_on_synthetic_images(eval_model):
    result = eval_model(RESNET18, "--dataset", SYNTHETIC_IMAGES, "--seeds", "1", "--epochs", "1",
                        timeout=300)
    assert result.code == EXIT_OK, result.stderr
    report = result.report
    assert report["status"] == "ok", report["message"]
    assert report["dataset"]["n_classes"] == 10
    assert report["model_summary"]["params_total"] > 11_000_000  # resnet18 (11.2M), not a stand-in


def test_transforms_and_ops_model_is_ok_on_digits(eval_model):
    result = eval_model(OPS_ON_DIGITS, "--seeds", "1", "--epochs", "3", "--lr", "0.01", timeout=300)
    assert result.code == EXIT_OK, result.stderr
    report = result.report
    assert report["status"] == "ok", report["message"]
    assert report["aggregate"]["accuracy"]["mean"] > 0.7  # roi_align's gradient reaches the conv


def test_the_image_keeps_its_torchvision_promises(eval_model, sandbox_image):
    assert sandbox_image.torchvision_version == "0.28.0"
    result = eval_model(IMAGE_PROMISES, "--seeds", "1", "--epochs", "1", timeout=300)
    assert result.code == EXIT_OK, result.stderr
    assert result.report["status"] == "ok", result.report["sandbox"]["stderr_tail"]


def test_an_uncaught_cuda_call_is_a_crash_that_says_why(eval_model):
    result = eval_model(UNCAUGHT_CUDA_CALL, "--seeds", "1", "--epochs", "1", timeout=300)
    assert result.code == EXIT_MODEL_FAILED, result.stderr
    report = result.report
    assert report["status"] == "crashed", report["message"]
    tail = report["sandbox"]["stderr_tail"]
    assert "RuntimeError: torchvision called" in tail and "CUDA is not available" in tail, tail
    assert report["sandbox"]["exit_code"] != 134  # a Python exception, not SIGABRT
