"""The prepared-container slot with fake containers: what fits, what is removed, and when."""

from __future__ import annotations

import threading
from pathlib import Path

from agent.protocol import JOB_FILE, JobSpec
from agent.records import SandboxLimits
from agent.sandbox import _spare
from agent.sandbox._base import SandboxRequest


class Box:
    """A fake container the slot creates: it runs until removed."""

    def __init__(self, n: int, update_error: Exception | None = None):
        self.id, self.running, self.removed, self.updates = f"c{n}", True, False, []
        self.update_error, self.attrs = update_error, {}

    def start(self):
        pass

    def reload(self):
        self.attrs = {"State": {"Status": "running" if self.running else "exited"}}

    def update(self, **kwargs):
        if self.update_error is not None:
            raise self.update_error
        self.updates.append(kwargs)


class Engine:
    def __init__(self, gate: threading.Event | None = None, update_error: Exception | None = None):
        self.made: list[Box] = []
        self.calls: list[tuple[str, int | None]] = []
        self.gate, self.update_error = gate, update_error

    def create(self, limits, data_dir, job_dir, label, cpu_shares=None):
        if self.gate is not None:
            self.gate.wait(5)
        self.calls.append((label, cpu_shares))
        self.made.append(Box(len(self.made), self.update_error))
        return self.made[-1]

    def remove(self, container):
        container.removed, container.running = True, False
        return None

    def slot(self) -> _spare.SpareSlot:
        return _spare.SpareSlot(self.create, lambda c: c.start(), self.remove)


def request(data_dir: Path, timeout_s: float = 60.0, memory: int = 1024**3) -> SandboxRequest:
    job = JobSpec(seeds=[0], epochs=1, batch_size=8, optimizer="sgd", lr=0.1, n_classes=10,
                  input_shape=[1, 8, 8], deadline_s=max(1.0, timeout_s - 1.0), threads=1)
    limits = SandboxLimits(timeout_s=timeout_s, memory_bytes=memory, cpus=1.0)
    return SandboxRequest(job=job, model_source="class Model: ...\n", data_dir=data_dir, limits=limits,
                          trial_id="run-x/t0001")


def test_a_fitting_spare_is_taken_at_full_weight_with_its_label(tmp_path):
    engine = Engine()
    slot = engine.slot()
    slot.prepare(request(tmp_path))
    spare = slot.take(request(tmp_path, timeout_s=300.0))  # another deadline still fits: it is the host's
    assert spare is not None and spare.container is engine.made[0]
    assert engine.calls == [("run-x/t0001" + _spare.SPARE_SUFFIX, _spare.SPARE_CPU_SHARES)]
    assert spare.container.updates == [{"cpu_shares": _spare.DEFAULT_CPU_SHARES}]
    assert slot.take(request(tmp_path)) is None  # one job per container: never handed out twice


def test_a_spare_for_other_data_or_limits_is_removed_unused(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for unfit in (request(other), request(tmp_path, memory=2 * 1024**3)):
        engine = Engine()
        slot = engine.slot()
        slot.prepare(request(tmp_path))
        assert slot.take(unfit) is None
        assert engine.made[0].removed
        assert engine.made[0].updates == []


def test_a_dead_spare_or_one_that_cannot_get_its_weight_back_is_not_used(tmp_path):
    engine = Engine()
    slot = engine.slot()
    slot.prepare(request(tmp_path))
    slot._join(5)
    engine.made[0].running = False  # it exited (JOB_WAIT_S passed, or it crashed)
    assert slot.take(request(tmp_path)) is None and engine.made[0].removed
    engine = Engine(update_error=RuntimeError("engine said no"))
    slot = engine.slot()
    slot.prepare(request(tmp_path))
    assert slot.take(request(tmp_path)) is None and engine.made[0].removed


def test_close_removes_a_spare_still_being_created(tmp_path, monkeypatch):
    monkeypatch.setattr(_spare, "TAKE_WAIT_S", 0.05)  # close gives up waiting before creation ends
    gate = threading.Event()
    engine = Engine(gate)
    slot = engine.slot()
    slot.prepare(request(tmp_path))
    worker = slot._worker
    slot.close()
    assert engine.made == []
    gate.set()
    worker.join(5)
    assert len(engine.made) == 1 and engine.made[0].removed  # removed as soon as it existed
    slot.prepare(request(tmp_path))  # closed: nothing more is prepared
    assert len(engine.made) == 1


def test_the_job_file_appears_whole_and_last(tmp_path):
    seen = []
    real_replace = _spare.os.replace

    def replace(src, dst):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        real_replace(src, dst)

    _spare.os.replace = replace
    try:
        _spare.write_job(tmp_path, request(tmp_path))
    finally:
        _spare.os.replace = real_replace
    assert seen == [sorted([f".{JOB_FILE}.partial", "model.py"])]  # the model is there before the job
    assert sorted(p.name for p in tmp_path.iterdir()) == [JOB_FILE, "model.py"]
    assert JobSpec.model_validate_json((tmp_path / JOB_FILE).read_text()).seeds == [0]


def test_the_spare_s_cpu_time_is_read_from_its_cgroup(tmp_path, monkeypatch):
    v2, v1 = tmp_path / "v2-{id}.stat", tmp_path / "v1-{id}.usage"
    monkeypatch.setattr(_spare, "_CGROUP_CPU", ((str(v2), "usage_usec", 1e-6), (str(v1), None, 1e-9)))
    assert _spare._cgroup_cpu_s("abc") == 0.0  # out of sight: nothing to give back
    Path(str(v1).format(id="abc")).write_text("2500000000\n")
    assert _spare._cgroup_cpu_s("abc") == 2.5
    Path(str(v2).format(id="abc")).write_text("usage_usec 1500000\nuser_usec 1000000\n")
    assert _spare._cgroup_cpu_s("abc") == 1.5  # v2 first


def test_a_container_started_early_is_taken_as_is_and_goes_to_the_next_data(tmp_path):
    engine = Engine()
    slot = engine.slot()
    slot.prepare_for(tmp_path, request(tmp_path).limits, "eval-abc")
    spare = slot.take(request(tmp_path))
    assert spare is not None and engine.calls == [("eval-abc", None)]  # its own label, the default weight
    assert spare.container.updates == []  # nothing to restore
    nxt = tmp_path / "full"
    nxt.mkdir()
    slot.prepare(request(tmp_path).model_copy(update={"next_data_dir": nxt}))
    assert slot.take(request(nxt)) is not None  # prepared with the data the next trial reads


def test_a_wait_cut_short_leaves_the_next_wait_to_catch_the_spare(tmp_path):
    """A Ctrl-C during take()'s wait must not make close() forget a spare still being created."""
    gate = threading.Event()
    engine = Engine(gate=gate)
    slot = engine.slot()
    slot.prepare(request(tmp_path))
    slot._join(0.05)  # cut short, as an interrupt would: the creation goes on
    assert slot._worker is not None
    gate.set()
    slot.close()
    assert len(engine.made) == 1 and engine.made[0].removed


def test_an_interrupt_while_a_spare_is_checked_removes_it(tmp_path):
    engine = Engine()
    slot = engine.slot()
    slot.prepare(request(tmp_path))
    slot._join(5)
    box = slot._spare.container

    def interrupted():
        raise KeyboardInterrupt

    box.reload = interrupted
    try:
        slot.take(request(tmp_path))
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    assert box.removed  # out of the slot and not handed to anyone: removed, not lost
