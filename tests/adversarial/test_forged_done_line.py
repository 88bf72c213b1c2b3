"""Forging the runner's "output complete" cue before anything is trained: the model walks
up the stack to the runner's private stdout (``proto``), writes the done line, plants a
fake /out/.done, exits 0 on the host's SIGUSR1, and sleeps meanwhile. The host collects
/out on that cue (the cue is only a cue, never a status), finds no predictions and reports
``invalid_output``.
"""

SOURCE = """
import os
import signal
import sys
import time
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        frame = sys._getframe()
        while frame is not None and "proto" not in frame.f_locals:
            frame = frame.f_back
        proto = frame.f_locals["proto"]
        signal.signal(signal.SIGUSR1, lambda *_: os._exit(0))
        with open("/out/.done", "w") as fh:
            fh.write("done\\n")
        proto.write("RESEARCH_AGENT_RUNNER_DONE\\n")
        proto.flush()
        time.sleep(60)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_forged_done_line_gives_no_predictions(hostile):
    run = hostile(SOURCE)
    assert run.status == "invalid_output", run.explain()
    assert "test_probs.npy is missing" in run.message, run.explain()
