"""The in-container supervisor, run on the host (no Docker): ``python -m runner`` with temp dirs.

Whatever ends the job, the supervisor keeps /out, sends the done line, and exits with the job's
status as docker-init would have shown it (exit n -> n, killed by signal s -> 128 + s); each
finished seed is complete on its own (seed.json and its .done) when a later one fails.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from agent import protocol as host

RUNNER_DIR = Path(__file__).resolve().parents[3] / "sandbox_image"
sys.path.insert(0, str(RUNNER_DIR))  # the runner's own package, as the image has it
from runner import supervisor  # noqa: E402

LINGER_S = 0.3

# ``action`` runs in seed 1's training (the runner seeds torch with the seed itself).
MODEL = """
import os
import signal
import time

import torch
import torch.nn as nn
{prelude}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        if torch.initial_seed() == 1:
{action}
        return self.fc(x)
"""


def run_runner(tmp_path: Path, action: str, deadline_s: float = 60, prelude: str = "", timeout: float = 90,
               workers: int = 1):
    job_dir, data_dir, out_dir = (tmp_path / n for n in ("job", "data", "out"))
    for d in (job_dir, data_dir, out_dir):
        d.mkdir()
    rng = np.random.default_rng(0)
    for split, rows in {"train": 16, "val": 4, "test": 5}.items():
        np.save(data_dir / f"{split}_x.npy", rng.normal(size=(rows, 4)).astype(np.float32))
        if split != "test":
            np.save(data_dir / f"{split}_y.npy", rng.integers(0, 3, rows))
    job = host.JobSpec(seeds=[0, 1, 2], epochs=2, batch_size=8, optimizer="sgd", lr=0.1, n_classes=3,
                       input_shape=[4], deadline_s=deadline_s, threads=workers, linger_s=LINGER_S,
                       seed_workers=workers)
    (job_dir / "job.json").write_text(job.model_dump_json())
    action = textwrap.indent(textwrap.dedent(action), " " * 12)
    (job_dir / "model.py").write_text(MODEL.format(action=action, prelude=textwrap.dedent(prelude)))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "runner", "--job-dir", job_dir, "--data-dir", data_dir,
                           "--out-dir", out_dir], cwd=RUNNER_DIR, capture_output=True, text=True, timeout=timeout)
    files = {str(p.relative_to(out_dir)): p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    return proc, files, time.monotonic() - started


def assert_only_seed_0_finished(files: dict[str, bytes]) -> None:
    for name in ("test_probs.npy", "val_probs.npy"):
        np.load(io.BytesIO(files[host.seed_file(0, name)]), allow_pickle=False)
    record = host.SeedReport.model_validate_json(files[host.seed_file(0, host.SEED_REPORT_FILE)])
    assert record.seed == 0 and len(record.curves.val_acc) == 2
    assert host.seed_file(0, host.SEED_DONE_MARKER) in files
    assert not any(host.seed_file(s, host.SEED_DONE_MARKER) in files for s in (1, 2))
    assert host.DONE_MARKER not in files and host.REPORT_FILE not in files  # the job did not finish


@pytest.fixture(autouse=True)
def _torch():
    pytest.importorskip("torch")


def test_a_crash_keeps_the_finished_seed_and_is_exit_1_after_the_done_line(tmp_path):
    # Seed 0 also leaves a process behind: it must not outlive the job (the group is killed).
    action = 'raise ValueError("seed 1 breaks")'
    pid_file = tmp_path / "left-behind.pid"
    fork = f"""
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    open({str(pid_file)!r}, "a").write(str(pid) + " ")
    """
    proc, files, _ = run_runner(tmp_path, action, prelude=fork)
    assert proc.returncode == host.EXIT_CRASHED, proc.stderr[-2000:]
    assert "ValueError: seed 1 breaks" in proc.stderr
    assert host.DONE_LINE in proc.stdout.splitlines()
    assert_only_seed_0_finished(files)
    leftovers = [line for line in proc.stdout.splitlines() if not line.startswith((host.DONE_LINE, host.PROGRESS_LINE))]
    assert leftovers == []  # only protocol lines on stdout
    assert pid_file.read_text().split() and all(_gone(int(p)) for p in pid_file.read_text().split())


def _gone(pid: int) -> bool:
    """No such process, or only a zombie of it (killed, not yet reaped by whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.parametrize(("action", "code"), [
    ("os._exit(42)", 42),  # exit n -> n
    ("os.kill(os.getpid(), signal.SIGKILL)", 128 + 9),  # killed by signal s -> 128 + s (an OOM kill)
], ids=["exit-42", "sigkill"])
def test_the_job_s_status_is_mapped_as_docker_init_would(tmp_path, action, code):
    proc, files, _ = run_runner(tmp_path, action)
    assert proc.returncode == code, proc.stderr[-2000:]
    assert host.DONE_LINE in proc.stdout.splitlines()
    assert_only_seed_0_finished(files)


def test_a_job_that_outlives_its_deadline_is_killed_and_exits_124(tmp_path):
    # The model disarms the child's own watchdog (it shares the process): the supervisor kills it.
    action = """
    os._exit = lambda code: None
    while True:
        time.sleep(0.05)
    """
    deadline_s = 5.0
    proc, files, took = run_runner(tmp_path, action, deadline_s=deadline_s)
    assert proc.returncode == host.EXIT_DEADLINE, proc.stderr[-2000:]
    assert "outlived its deadline" in proc.stderr
    assert deadline_s + supervisor.DEADLINE_GRACE_S <= took <= deadline_s + supervisor.DEADLINE_GRACE_S + 10
    assert_only_seed_0_finished(files)


def progress_lines(stdout: str) -> list[host.RunnerProgress]:
    return [host.RunnerProgress.model_validate_json(line.partition(" ")[2])
            for line in stdout.splitlines() if line.startswith(host.PROGRESS_LINE + " ")]


def test_parallel_seed_workers_report_every_epoch_through_the_job(tmp_path):
    proc, files, _ = run_runner(tmp_path, "pass", workers=2)
    assert proc.returncode == host.EXIT_OK, proc.stderr[-2000:]
    assert {host.DONE_MARKER, host.REPORT_FILE} <= set(files)
    progress = progress_lines(proc.stdout)
    assert {(r.seed, r.epoch) for r in progress} == {(s, e) for s in (0, 1, 2) for e in (1, 2)}
    assert [r.seeds_done for r in progress] == sorted(r.seeds_done for r in progress)  # one counter
    assert progress[-1].seeds_done == 3 and all(r.seeds == 3 and r.epochs == 2 for r in progress)
    assert all(host.seed_file(s, host.SEED_DONE_MARKER) in files for s in (0, 1, 2))


def test_the_supervisor_never_imports_torch_numpy_or_the_model():
    code = ("import sys, runner.__main__, runner.supervisor; "
            "print(sorted(m for m in ('torch', 'numpy', 'submitted_model', 'runner.job') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=RUNNER_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the relay: only progress lines reach the real stdout --------------------------------------


def relayed(*chunks: bytes) -> bytes:
    out = io.BytesIO()
    relay = supervisor.Relay(-1, out)
    for chunk in chunks:
        relay.feed(chunk)
    return out.getvalue()


def test_the_relay_passes_progress_lines_whole_even_when_split():
    line = host.PROGRESS_LINE.encode() + b' {"seed": 0}\n'
    assert relayed(line[:5], line[5:20], line[20:]) == line


def test_the_relay_drops_the_done_line_other_text_and_overlong_lines():
    prefix = host.PROGRESS_LINE.encode() + b" "
    long = prefix + b"x" * host.MAX_PROGRESS_LINE + b"\n"
    good = prefix + b"{}\n"
    out = relayed(host.DONE_LINE.encode() + b"\n", b"print from the model\n", long[:300], long[300:], good,
                  b"no newline yet " + b"y" * 2000, prefix + b"tail of a long line\n", good)
    assert out == good + good


def test_the_relay_drains_what_the_child_wrote_and_closes_the_pipe():
    read_fd, write_fd = os.pipe()
    os.write(write_fd, host.PROGRESS_LINE.encode() + b" 1\n" + b"junk\n")
    os.close(write_fd)
    out = io.BytesIO()
    supervisor.Relay(read_fd, out).drain()
    assert out.getvalue() == host.PROGRESS_LINE.encode() + b" 1\n"
    with pytest.raises(OSError):
        os.fstat(read_fd)


def test_the_relay_reads_in_its_own_thread_without_select(monkeypatch):
    # gVisor refuses select() on the child's pipe (EPERM): the relay must not need it.
    def refused(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(supervisor.select, "select", refused)
    read_fd, write_fd = os.pipe()
    out = io.BytesIO()
    relay = supervisor.Relay(read_fd, out)
    relay.start()
    os.write(write_fd, host.PROGRESS_LINE.encode() + b" 1\n")
    relay.pump(0.05)
    os.write(write_fd, b"junk\n" + host.PROGRESS_LINE.encode() + b" 2\n")
    os.close(write_fd)
    relay.drain()
    assert out.getvalue() == host.PROGRESS_LINE.encode() + b" 1\n" + host.PROGRESS_LINE.encode() + b" 2\n"
    assert not relay.reader.is_alive()
