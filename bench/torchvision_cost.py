"""What torchvision costs in the CPU sandbox image: its size, and time to the first step.

Two model files, the same small digits MLP, go through ``research-agent eval --json --seeds 1
--epochs 1`` (every control on) in alternation: one imports only ``torch.nn``, the other also
``torchvision``, ``torchvision.ops`` and ``torchvision.transforms`` at the top (it uses none of
them, so only the import differs). Each report's ``timing.container_start_to_first_step_s``
(just before ``container.start()`` to the first training step) is collected; medians are
printed, with the median of the paired differences. A bare container from the same image (no
network, read-only root, uid 10001) then times the imports alone, in-process: ``import torch``,
then ``torch._dynamo`` (which torchvision.ops imports, and which the runner's first optimizer
step imports anyway), then torchvision on top. The image's size and labels come first.

A benchmark, not a test: it exits 0 unless a run fails outright. Usage::

    .venv/bin/python bench/torchvision_cost.py [--repeats N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import BenchFailure, log, wait_quiet  # noqa: E402

from agent.sandbox import _image  # noqa: E402

MLP = """
import torch.nn as nn
{imports}

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)
"""
SIDES = {
    "plain": "",
    "torchvision": "import torchvision\nimport torchvision.ops\nimport torchvision.transforms",
}
IMPORT_PROBE = """
import json, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import torch._dynamo
t2 = time.perf_counter()
import torchvision, torchvision.ops, torchvision.transforms
t3 = time.perf_counter()
print(json.dumps({"torch_s": t1 - t0, "dynamo_s": t2 - t1, "torchvision_s": t3 - t2}))
"""


def eval_once(model: Path, home: Path) -> float:
    env = os.environ | {"RESEARCH_AGENT_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "agent", "eval", str(model), "--json", "--seeds", "1",
                           "--epochs", "1"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise BenchFailure(f"no report from {model.name}: {proc.stderr[-500:]}") from exc
    if report["status"] != "ok":
        raise BenchFailure(f"{model.name}: {report['status']}: {report['message']}")
    return report["timing"]["container_start_to_first_step_s"]


def import_times(client, image_id: str, repeats: int) -> list[dict]:
    runs = []
    for _ in range(repeats):
        wait_quiet(0.25, 20)
        out = client.containers.run(image_id, ["-c", IMPORT_PROBE], entrypoint="python", remove=True,
                                    network_mode="none", read_only=True, user="10001:10001",
                                    tmpfs={"/tmp": "size=64m"}, environment={"OMP_NUM_THREADS": "2"})
        runs.append(json.loads(out.decode().strip().splitlines()[-1]))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()

    import docker

    client = docker.from_env(version="auto")
    info = _image.resolve(client, "cpu")
    size = client.api.inspect_image(info.id)["Size"]
    log(f"image {info.tag} {info.id[7:19]}: {size / 1e6:.1f} MB, torch {info.torch_version}, "
        f"torchvision {info.torchvision_version}")
    first_step: dict[str, list[float]] = {side: [] for side in SIDES}
    with tempfile.TemporaryDirectory(prefix="bench-tv-") as tmp:
        work = Path(tmp)
        models = {}
        for side, imports in SIDES.items():
            models[side] = work / f"{side}.py"
            models[side].write_text(textwrap.dedent(MLP.format(imports=imports)))
        eval_once(models["plain"], work / "home")  # prepares digits in this home; not counted
        for i in range(args.repeats):
            for side in (SIDES if i % 2 == 0 else reversed(SIDES)):
                wait_quiet(0.25, 20)
                first_step[side].append(eval_once(models[side], work / "home"))
                log(f"run {i + 1}/{args.repeats} {side:<11} start -> first step {first_step[side][-1]:.2f} s")
    imports = import_times(client, info.id, args.repeats)
    result = {
        "image": {"id": info.id, "size_bytes": size, "torch": info.torch_version,
                  "torchvision": info.torchvision_version},
        "start_to_first_step_s": {side: statistics.median(v) for side, v in first_step.items()},
        "start_to_first_step_runs": first_step,
        "paired_difference_s": statistics.median(
            t - p for t, p in zip(first_step["torchvision"], first_step["plain"], strict=True)),
        "import_s": {k: statistics.median(r[k] for r in imports) for k in ("torch_s", "dynamo_s", "torchvision_s")},
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    med = result["start_to_first_step_s"]
    print(f"image: {size / 1e6:.1f} MB (torch {info.torch_version}, torchvision {info.torchvision_version})")
    print(f"container start -> first step, median of {args.repeats}: without torchvision "
          f"{med['plain']:.2f} s, with it {med['torchvision']:.2f} s "
          f"(median paired difference {result['paired_difference_s']:+.2f} s)")
    imp = result["import_s"]
    print(f"in a bare container, median: import torch {imp['torch_s']:.2f} s, then torch._dynamo "
          f"{imp['dynamo_s']:.2f} s, then torchvision (+ops, transforms) {imp['torchvision_s']:.2f} s")
    print(f"load average at the end: {result['loadavg']}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailure as exc:
        log(f"bench failed: {exc}")
        sys.exit(1)
