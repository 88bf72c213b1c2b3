"""setuid(0), setgid, setgroups, mknod of device nodes, and a setuid binary on /tmp.

set*id and mknod are denied by seccomp (EPERM); /tmp is noexec,nosuid so a chmod u+s copy
cannot even be executed; no-new-privileges and cap_drop ALL stand behind both. The model
asserts each refusal and that an exec from the image still runs as uid 10001, then trains:
``ok``. Any success makes the model raise (``crashed``).
"""

SOURCE = """
import os
import shutil
import stat
import subprocess
import torch.nn as nn


def refused(fn, *args):
    try:
        fn(*args)
    except OSError:
        return
    raise AssertionError(f"{fn.__name__}{args} was allowed")


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        assert os.getuid() == 10001 and os.geteuid() == 10001, (os.getuid(), os.geteuid())
        refused(os.setuid, 0)
        refused(os.setgid, 0)
        refused(os.setresuid, 0, 0, 0)
        refused(os.setgroups, [0])
        refused(os.mknod, "/tmp/mem", stat.S_IFCHR | 0o666, os.makedev(1, 1))
        refused(os.mknod, "/tmp/sda", stat.S_IFBLK | 0o666, os.makedev(8, 0))
        refused(os.mkfifo, "/tmp/fifo")
        shutil.copy("/usr/bin/id", "/tmp/suid-id")
        os.chmod("/tmp/suid-id", 0o4755)  # allowed on one's own file; useless on nosuid,noexec
        refused(subprocess.run, ["/tmp/suid-id", "-u"])
        out = subprocess.run(["/usr/bin/id", "-u"], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "10001", out.stdout
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_privilege_escalation_is_refused(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
