"""A syntax error: preflight rejects the file before any container exists. Status
``invalid_submission``, CLI exit 3, and no sandbox was ever set up (the report has no
image or exit code, and the CLI's TMPDIR never saw a job directory).
"""

SOURCE = """
import torch.nn as nn


class Model(nn.Module):
    def __init__(self)
        super().__init__()
"""


def test_syntax_error_is_rejected_without_a_container(hostile):
    run = hostile(SOURCE)
    assert run.status == "invalid_submission", run.explain()
    assert run.code == 3
    assert "syntax error" in run.message
    assert "image" not in run.sandbox and "exit_code" not in run.sandbox, run.sandbox
