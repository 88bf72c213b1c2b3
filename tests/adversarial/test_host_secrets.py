"""Reading /etc/shadow and looking for the host's environment (API keys).

The test plants canaries in its own environment, which the CLI inherits as a user's shell
would. The sandbox's environment is an allowlist, so no canary may show up in the model's
``os.environ``, in any process's /proc/*/environ or cmdline, or in /job/job.json; /etc/shadow
is root-only. The model raises if it finds anything (``crashed``), so the expectation is ``ok``.
"""

import secrets

SOURCE = """
import glob
import os
import torch.nn as nn

NEEDLES = {needles!r}


def leaked(text):
    return any(n in text for n in NEEDLES)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        try:
            open("/etc/shadow").read()
        except PermissionError:
            pass
        else:
            raise AssertionError("read /etc/shadow")
        assert not any(leaked(k) or leaked(v) for k, v in os.environ.items()), "env leaked"
        paths = glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline") + ["/job/job.json"]
        for path in paths:
            try:
                data = open(path, "rb").read().decode("utf-8", "replace")
            except OSError:
                continue
            assert not leaked(data), f"host environment leaked through {{path}}"
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_host_secrets_stay_out(hostile):
    token = secrets.token_hex(8)
    env = {
        "RESEARCH_AGENT_ADV_CANARY": f"canary-{token}",
        "OPENAI_API_KEY": f"sk-canary-{token}",
    }
    needles = (f"canary-{token}", "RESEARCH_AGENT_ADV_CANARY")
    run = hostile(SOURCE.format(needles=needles), env=env)
    assert run.status == "ok", run.explain()
