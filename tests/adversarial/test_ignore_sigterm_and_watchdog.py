"""Sleeping forever while ignoring SIGTERM/SIGINT/SIGHUP/SIGUSR1/SIGALRM and disarming the
runner's watchdog (it calls ``os._exit(124)``; the model, in the same process, replaces
``os._exit`` with a no-op). Nothing in the job's process can stop it; the supervisor, a
separate process, SIGKILLs it DEADLINE_GRACE_S after the deadline and exits 124, and the host
reports ``timeout`` (the runner's own deadline). Were the supervisor stopped too, the host's
kill at deadline + KILL_GRACE_S would end it.
"""

SOURCE = """
import os
import signal
import time
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGALRM):
            signal.signal(sig, signal.SIG_IGN)
        os._exit = lambda code: None
        while True:
            time.sleep(1)

    def forward(self, x):
        return x
"""


def test_unkillable_from_inside_is_killed_by_the_supervisor(hostile):
    run = hostile(SOURCE, "--timeout", "5")
    assert run.status == "timeout", run.explain()
    assert run.sandbox["exit_code"] == 124 and run.sandbox["we_killed"] is False, run.explain()
    assert "deadline" in run.message, run.explain()
    assert "outlived its deadline" in run.sandbox["stderr_tail"], run.explain()
