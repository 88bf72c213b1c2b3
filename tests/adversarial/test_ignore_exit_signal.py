"""Trains normally but tries to refuse to exit after its output is collected: it ignores
SIGUSR1 (the host's "you may exit" signal) and SIGTERM, and swaps ``signal.sigtimedwait`` (the
linger) for a long sleep. All of that happens in the job's process; the linger and SIGUSR1
belong to the supervisor, a separate process the model never runs in, so the trial ends
normally, ``ok``. (Were it to hang there, the host would wait EXIT_WAIT_S, kill it and report
``timeout``, "kept running after its output was collected": never ``killed``, which is retried.)
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


def test_the_job_s_signal_tricks_do_not_reach_the_supervisor(hostile):
    run = hostile(SOURCE, "--timeout", "30")
    assert run.status == "ok", run.explain()
    assert run.sandbox["we_killed"] is False and run.sandbox["exit_code"] == 0, run.explain()
