"""Host and runner agree on the protocol: version, job fields, constants, and PROTOCOL.md.

PROTOCOL.md's field tables are rendered from the pydantic models; after changing a model, run
``python -m tests.unit.test_protocol --write`` from the repository root.
"""

import dataclasses
import importlib.util
import io
import json
import subprocess
import sys
import time
import types
import typing
from pathlib import Path

import numpy as np
import pytest

from agent import protocol as host

RUNNER_DIR = Path(__file__).resolve().parents[2] / "sandbox_image"


@pytest.fixture(scope="module")
def runner_protocol():
    name = "runner_protocol_under_test"
    spec = importlib.util.spec_from_file_location(name, RUNNER_DIR / "runner" / "protocol.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


def test_versions_and_constants_match(runner_protocol):
    assert runner_protocol.PROTOCOL_VERSION == host.PROTOCOL_VERSION
    for name in ("DONE_MARKER", "DONE_LINE", "REPORT_FILE", "EXIT_OK", "EXIT_CRASHED",
                 "EXIT_REJECTED", "EXIT_DEADLINE", "EXIT_RUNNER_ERROR", "SEED_REPORT_FILE",
                 "SEED_DONE_MARKER", "PROGRESS_LINE", "MAX_PROGRESS_LINE", "JOB_FILE"):
        assert getattr(runner_protocol, name) == getattr(host, name), name
    for seed in (0, 7):
        assert runner_protocol.seed_dir(seed) == host.seed_dir(seed)
        assert runner_protocol.seed_file(seed, "x.npy") == host.seed_file(seed, "x.npy")


def test_progress_fields_match_and_the_runner_s_line_is_valid_on_the_host(runner_protocol):
    runner_fields = [f.name for f in dataclasses.fields(runner_protocol.RunnerProgress)]
    assert runner_fields == list(host.RunnerProgress.model_fields)
    line = runner_protocol.RunnerProgress(seed=3, epoch=2, epochs=5, val_acc=0.875, seeds_done=1, seeds=3).line()
    prefix, _, payload = line.partition(" ")
    assert prefix == host.PROGRESS_LINE and len(line) <= host.MAX_PROGRESS_LINE
    assert host.RunnerProgress.model_validate_json(payload).val_acc == 0.875
    nan = runner_protocol.RunnerProgress(seed=3, epoch=2, epochs=5, val_acc=float("nan"), seeds_done=1, seeds=3)
    assert host.RunnerProgress.model_validate_json(nan.line().partition(" ")[2]).val_acc is None


def test_job_fields_match(runner_protocol):
    runner_fields = {f.name for f in dataclasses.fields(runner_protocol.JobSpec)}
    assert runner_fields == set(host.JobSpec.model_fields)


def test_host_job_json_is_accepted_by_the_runner(runner_protocol):
    job = host.JobSpec(seeds=[0, 1], epochs=2, batch_size=8, optimizer="sgd", lr=0.1,
                       n_classes=10, input_shape=[1, 8, 8], deadline_s=30, threads=2)
    parsed = runner_protocol.JobSpec.from_json(job.model_dump_json())
    assert parsed.seeds == [0, 1] and parsed.optimizer == "sgd"


@pytest.mark.parametrize(
    ("change", "needle"),
    [({"protocol_version": 99}, "protocol version"), ({"surprise": 1}, "unknown fields"),
     ({"optimizer": "lbfgs"}, "optimizer")],
)
def test_runner_rejects_bad_jobs(runner_protocol, change, needle):
    job = host.JobSpec(seeds=[0], epochs=1, batch_size=8, optimizer="adam", lr=0.1,
                       n_classes=10, input_shape=[1, 8, 8], deadline_s=30, threads=1)
    raw = json.loads(job.model_dump_json()) | change
    with pytest.raises(runner_protocol.JobError, match=needle):
        runner_protocol.JobSpec.from_json(json.dumps(raw))


def test_curve_fields_match(runner_protocol):
    runner_fields = {f.name for f in dataclasses.fields(runner_protocol.SeedCurves)}
    assert runner_fields == set(host.SeedCurves.model_fields)


# --- PROTOCOL.md: generated field tables and the documented output files ---------------------

DOC = RUNNER_DIR / "PROTOCOL.md"
WIRE_MODELS = (host.JobSpec, host.RunnerReport, host.ModelSummary, host.SeedReport, host.SeedCurves,
               host.RunnerProgress)
REGENERATE = "python -m tests.unit.test_protocol --write"
_END = "<!-- /generated -->"
_BOUNDS = {"ge": ">= {}", "gt": "> {}", "le": "<= {}", "lt": "< {}", "min_length": "length >= {}",
           "max_length": "length <= {}", "pattern": "matches {}"}


def _begin(model) -> str:
    return f"<!-- generated: {model.__name__} -->"


def _type_name(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    return {typing.Any: "Any", type(None): "null"}.get(tp) or tp.__name__


def _default(info) -> str:
    if info.is_required():
        return "required"
    return json.dumps(info.default_factory() if info.default_factory else info.default)


def _bounds(info) -> str:
    found = [fmt.format(getattr(m, key)) for m in info.metadata for key, fmt in _BOUNDS.items()
             if getattr(m, key, None) is not None]
    return ", ".join(found)


def _cell(text: str, code: bool = True) -> str:
    text = text.replace("|", "\\|")  # GFM splits cells on '|' even inside code spans
    return f"`{text}`" if code and text else text


def render_fields(model) -> str:
    """The Markdown table of ``model``'s fields, as PROTOCOL.md carries it between markers."""
    rows = ["| field | type | default | bounds | meaning |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        default = _default(info)
        cells = (_cell(name), _cell(_type_name(info.annotation)), _cell(default, code=default != "required"),
                 _cell(_bounds(info)), _cell(info.description or "", code=False))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def regenerate(text: str) -> str:
    """``text`` with every generated block replaced by the current rendering."""
    for model in WIRE_MODELS:
        head, sep, rest = text.partition(_begin(model) + "\n")
        _, end, tail = rest.partition(_END)
        if not (sep and end):
            raise ValueError(f"PROTOCOL.md lacks the block {_begin(model)} ... {_END}")
        text = head + sep + render_fields(model) + "\n" + end + tail
    return text


@pytest.mark.parametrize("model", WIRE_MODELS, ids=lambda m: m.__name__)
def test_every_wire_field_is_described(model):
    assert [n for n, i in model.model_fields.items() if not i.description] == []


@pytest.mark.parametrize("model", WIRE_MODELS, ids=lambda m: m.__name__)
def test_doc_field_table_is_current(model):
    text = DOC.read_text()
    _, sep, rest = text.partition(_begin(model) + "\n")
    block = rest.partition(_END)[0] if sep else text  # no block yet: which fields does the doc name at all?
    missing = [n for n in model.model_fields if f"`{n}`" not in block]
    assert block == render_fields(model) + "\n", (
        f"PROTOCOL.md's {model.__name__} table is stale (fields it lacks: {missing}); "
        f"regenerate it with `{REGENERATE}`")


# The output file table: "| `path` | dtype | `(shape)` | ... |" rows between these markers.
_OUTPUTS = ("<!-- checked: outputs -->", "<!-- /checked -->")
SIZES = {"n_test": 5, "n_val": 4, "n_classes": 3, "epochs_run": 2}


def documented_outputs() -> dict[str, tuple[str, tuple[int, ...] | None]]:
    """``{path with seed_<k>: (dtype, shape or None)}`` from PROTOCOL.md's output table."""
    text = DOC.read_text()
    block = text.partition(_OUTPUTS[0])[2].partition(_OUTPUTS[1])[0]
    rows = [line.split("|")[1:4] for line in block.splitlines() if line.startswith("| `")]
    out = {}
    for path, dtype, shape in rows:
        dims = shape.strip().strip("`").strip("()")
        out[path.strip().strip("`").removeprefix("/out/")] = (
            dtype.strip().strip("`"), tuple(SIZES[d.strip()] for d in dims.split(",")) if dims != "-" else None)
    return out


def _for_seed(path: str, seed: int) -> str:
    return path.replace("seed_<k>", f"seed_{seed}")


def test_the_doc_lists_output_files():
    # Guards the parser: an empty table would make the two tests below vacuous.
    assert {host.REPORT_FILE, host.DONE_MARKER, "seed_<k>/test_probs.npy"} <= set(documented_outputs())


def _fake_outputs(seed: int) -> dict[str, bytes]:
    """The documented files for one seed, filled with uniform probabilities and a minimal report."""
    files = {}
    for path, (dtype, shape) in documented_outputs().items():
        if shape is not None:
            buf = io.BytesIO()
            np.save(buf, np.full(shape, 1 / SIZES["n_classes"], dtype=dtype))
            files[_for_seed(path, seed)] = buf.getvalue()
    report = {"protocol_version": host.PROTOCOL_VERSION, "torch_version": "x", "device": "cpu",
              "started_at": 0.0, "summary": {"params_total": 1, "params_trainable": 1, "output_shape": [2, 3]},
              "seeds": [{"seed": seed, "curves": {}}]}
    return files | {host.REPORT_FILE: json.dumps(report).encode(), host.DONE_MARKER: b"done\n"}


def test_host_reads_the_documented_files():
    from agent.trial._outputs import load_predictions, load_report
    from agent.trial._seeds import _host_val_curves

    files = _fake_outputs(seed=3)
    assert load_predictions(files, 3, SIZES["n_test"], SIZES["n_classes"]).shape == (5, 3)
    assert load_report(files)[1] is None
    y_val = np.zeros(SIZES["n_val"], dtype=np.int64)
    curves, note = _host_val_curves(files, 3, {}, y_val, SIZES["n_classes"])
    assert note == "" and len(curves["val_loss"]) == SIZES["epochs_run"]


MODEL_SOURCE = """
import torch.nn as nn

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)
"""


def _runner_files(tmp_path, seeds: list[int]) -> tuple[dict[str, bytes], str]:
    """Run the real runner on the host (as bench/ does) on a tiny job; its files and stdout."""
    job_dir, data_dir, out_dir = (tmp_path / n for n in ("job", "data", "out"))
    for d in (job_dir, data_dir, out_dir):
        d.mkdir()
    rng = np.random.default_rng(0)
    n = {"train": 16, "val": SIZES["n_val"], "test": SIZES["n_test"]}
    for split, rows in n.items():
        np.save(data_dir / f"{split}_x.npy", rng.normal(size=(rows, 4)).astype(np.float32))
        if split != "test":
            np.save(data_dir / f"{split}_y.npy", rng.integers(0, 3, rows))
    job = host.JobSpec(seeds=seeds, epochs=SIZES["epochs_run"], batch_size=4, optimizer="sgd", lr=0.1,
                       n_classes=SIZES["n_classes"], input_shape=[4], deadline_s=120, threads=1, linger_s=0.01)
    (job_dir / "job.json").write_text(job.model_dump_json())
    (job_dir / "model.py").write_text(MODEL_SOURCE)
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "--job-dir", job_dir, "--data-dir", data_dir, "--out-dir", out_dir],
        cwd=RUNNER_DIR, capture_output=True, text=True, timeout=120)
    assert proc.returncode == host.EXIT_OK, proc.stderr[-2000:]
    files = {str(p.relative_to(out_dir)): p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    return files, proc.stdout


def test_runner_writes_the_documented_files(tmp_path):
    pytest.importorskip("torch")
    seeds = [0, 3]
    files, stdout = _runner_files(tmp_path, seeds)
    expected = {}
    for path, spec in documented_outputs().items():
        expected |= {_for_seed(path, s): spec for s in seeds} if "seed_<k>" in path else {path: spec}
    assert set(files) == set(expected), "PROTOCOL.md's output table and the runner disagree"
    for path, (dtype, shape) in expected.items():
        if shape is not None:
            arr = np.load(io.BytesIO(files[path]), allow_pickle=False)
            assert (str(arr.dtype), arr.shape) == (dtype, shape), path
    report = host.RunnerReport.model_validate_json(files[host.REPORT_FILE])
    assert [s.seed for s in report.seeds] == seeds
    for seed, record in zip(seeds, report.seeds, strict=True):  # each seed is complete on its own
        assert host.SeedReport.model_validate_json(files[host.seed_file(seed, host.SEED_REPORT_FILE)]) == record
    assert host.DONE_LINE in stdout.splitlines()
    progress = [host.RunnerProgress.model_validate_json(line.partition(" ")[2])
                for line in stdout.splitlines() if line.startswith(host.PROGRESS_LINE + " ")]
    epochs = SIZES["epochs_run"]
    assert [(p.seed, p.epoch, p.seeds_done) for p in progress] == [
        (0, 1, 0), (0, 2, 0), (0, 2, 1), (3, 1, 1), (3, 2, 1), (3, 2, 2)]
    assert {(p.epochs, p.seeds) for p in progress} == {(epochs, len(seeds))}


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {REGENERATE}")
    DOC.write_text(regenerate(DOC.read_text()))
    print(f"rewrote {DOC}")


def test_a_prepared_runner_waits_for_its_job_and_gives_up_without_one(runner_protocol, tmp_path):
    import threading

    assert runner_protocol.wait_for_job(str(tmp_path), wait_s=0.2) is None  # no job: it gives up
    (tmp_path / runner_protocol.JOB_FILE).write_text("{}")
    before = time.time()
    assert before - 1 < runner_protocol.wait_for_job(str(tmp_path), wait_s=0.2) <= time.time()  # there already
    (tmp_path / runner_protocol.JOB_FILE).unlink()
    handed = []

    def hand() -> None:
        time.sleep(0.3)
        handed.append(time.time())
        (tmp_path / runner_protocol.JOB_FILE).write_text("{}")

    threading.Thread(target=hand).start()
    arrived = runner_protocol.wait_for_job(str(tmp_path), wait_s=5.0)
    assert arrived is not None and 0 <= arrived - handed[0] < 0.2  # its deadline counts from here
