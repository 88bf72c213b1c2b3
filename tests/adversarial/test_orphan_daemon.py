"""A double-forked, setsid()'d daemon that tries to outlive the trial. The trial itself
trains normally (``ok``); when the runner exits, docker-init exits, the container's PID
namespace dies with every process in it, and the host removes the container. The host
check looks for any process of the sandbox's uid left outside a live container.
"""

SOURCE = """
import os
import time
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        if not os.path.exists("/tmp/daemon.pid"):  # the constructor runs more than once
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    with open("/tmp/daemon.pid", "w") as fh:
                        fh.write(str(os.getpid()))
                    while True:
                        time.sleep(1)
                os._exit(0)
            os.wait()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_daemon_dies_with_the_container(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
