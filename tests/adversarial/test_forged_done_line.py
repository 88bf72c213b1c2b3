"""Forging the runner's "output complete" cue before anything is trained: the model walks up
the stack to the job's private stdout (``proto``) and writes the done line there, also tries
every descriptor of its parent (the supervisor) through /proc, plants a fake /out/.done, exits
0 on SIGUSR1, and sleeps meanwhile. The cue never reaches the host: ``proto`` is a pipe to the
supervisor, which passes on only progress lines, and the supervisor is non-dumpable, so its
/proc/<pid>/fd is out of reach. The host never collects early; the job's own deadline ends it
(exit 124, ``timeout``), and the planted marker is never taken for a finished job.
"""

SOURCE = """
import os
import signal
import sys
import time
import torch.nn as nn

DONE = "RESEARCH_AGENT_RUNNER_DONE\\n"


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
        proto.write(DONE)
        proto.flush()
        fds = f"/proc/{os.getppid()}/fd"
        try:
            names = os.listdir(fds)
        except OSError as exc:
            names = []
            print(f"cannot list {fds}: {exc}", file=sys.stderr)
        for name in names:
            try:
                with open(os.path.join(fds, name), "w") as fh:
                    fh.write(DONE)
            except OSError:
                pass
        time.sleep(60)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_forged_done_line_never_reaches_the_host(hostile):
    run = hostile(SOURCE, "--timeout", "10")
    assert run.status == "timeout", run.explain()
    # Had the host believed the cue, it would have collected, signalled and then killed it (ours).
    assert run.sandbox["exit_code"] == 124 and run.sandbox["we_killed"] is False, run.explain()
    assert "Permission denied" in run.sandbox["stderr_tail"], run.explain()
