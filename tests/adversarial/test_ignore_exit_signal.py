"""Trains normally but refuses to exit after its output is collected: it ignores SIGUSR1
(the host's "you may exit" signal) and SIGTERM, and swaps ``signal.sigtimedwait`` (the
runner's linger) for a long sleep. The host waits EXIT_WAIT_S (10 s), kills it itself and
reports ``timeout`` ("kept running after its output was collected"). It must not be
``killed``: that status means a SIGKILL we did not send, and is retried.
"""

SOURCE = """
import signal
import time
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.sigtimedwait = lambda sigs, timeout: time.sleep(3600)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_refusing_to_exit_is_our_timeout_not_killed(hostile):
    # --timeout 30: the runner's own deadline (29 s) must come after the host's 10 s exit wait.
    run = hostile(SOURCE, "--timeout", "30")
    assert run.status == "timeout", run.explain()
    assert run.sandbox["we_killed"] is True, run.explain()
    assert "after its output was collected" in run.message, run.explain()
