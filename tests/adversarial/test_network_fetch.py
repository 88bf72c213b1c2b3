"""Downloading things: ``curl``, ``wget``, ``pip download``, urllib to the internet and to a
cloud metadata endpoint.

curl and wget are not in the image, pip was removed from its venv, and there is no network
(no interface but loopback; AF_INET is denied; DNS fails). The model asserts every attempt
fails and trains: ``ok``. A successful download makes it raise (``crashed``).
"""

SOURCE = """
import subprocess
import sys
import urllib.request
import torch.nn as nn

COMMANDS = (
    ["curl", "-sS", "-m", "5", "http://example.com"],
    ["wget", "-q", "-T", "5", "http://example.com"],
    [sys.executable, "-m", "pip", "download", "--no-deps", "-d", "/tmp/dl", "requests"],
)
URLS = ("http://1.1.1.1/", "http://169.254.169.254/latest/meta-data/", "https://example.org/")


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        for cmd in COMMANDS:
            try:
                done = subprocess.run(cmd, capture_output=True, timeout=30)
            except FileNotFoundError:
                continue
            assert done.returncode != 0, f"{cmd} succeeded"
        for url in URLS:
            try:
                urllib.request.urlopen(url, timeout=5)
            except OSError:
                continue
            raise AssertionError(f"fetched {url}")
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_downloads_fail(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
