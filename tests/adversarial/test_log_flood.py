"""A chatty model: 20 MB of stderr in 10 kB lines and 100,000 empty lines while it is built,
plus a background thread that keeps logging (5,000 short lines a second) for 6 s, across
the moment the runner says it is done.

Docker's json-file log is capped (1m, one file) and shared by stdout and stderr; the host
looks for the runner's done line in its last lines. A single done line would be buried by
the chatter or rotated out of the log, and the trial would hang to its deadline; the runner
repeats it until the host answers. Output never decides a status: the trial is ``ok``,
promptly, and the host disk stays where it was.
"""

SOURCE = """
import sys
import threading
import time
import torch.nn as nn


def chatter(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(50):
            sys.stderr.write("still training, honest " * 4 + "\\n")
        time.sleep(0.01)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        if not getattr(Model, "flooded", False):  # the constructor runs once per seed and once more
            Model.flooded = True
            line = "spam " * 2000 + "\\n"
            for _ in range(2000):
                sys.stderr.write(line)
            sys.stderr.write("\\n" * 100_000)
            sys.stderr.flush()
            threading.Thread(target=chatter, args=(6.0,), daemon=True).start()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_log_flood_is_harmless(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
    assert run.wall_s < 45, "the host missed the done line and waited for the deadline"
