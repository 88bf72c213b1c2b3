"""A small OpenAI-compatible endpoint for tests: stdlib http.server on 127.0.0.1 in a thread.

Each POST /v1/chat/completions is answered by the script (a list consumed in order, the last
entry repeating, or a function of the request body and its index); every request is recorded
with its headers. GET /v1/models lists one model, so ``--planner auto`` sees it as reachable.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    content: str | None = None
    status: int = 200
    delay_s: float = 0.0
    raw: bytes | None = None  # the body as is (no chat completion wrapper)
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 100
    completion_tokens: int = 50
    omit_length: bool = False  # stream the body without a Content-Length (read until close)
    finish_reason: str = "stop"  # "length": the answer was cut off at max_tokens


def chat(content: str | dict, **kw) -> Reply:
    return Reply(content=content if isinstance(content, str) else json.dumps(content), **kw)


def error(status: int, message: str = "scripted error", **kw) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": status}}).encode()
    return Reply(status=status, raw=body, **kw)


def format_refusal_500(mode: str) -> Reply:
    """How llama-cpp-python's server refuses a response_format it does not know: HTTP 500, not 400."""
    # The body as llama-cpp-python 0.3.36 sends it (its pydantic error, wrapped as a 500).
    message = ("1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
               "'msg': \"Input should be 'text' or 'json_object'\", 'input': '" + mode + "', "
               "'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n  File \"llama_cpp/server/app.py\", "
               "line 376, in create_chat_completion\n    POST /v1/chat/completions")
    body = json.dumps({"error": {"message": message, "type": "internal_server_error", "param": None, "code": None}})
    return Reply(status=500, raw=body.encode())


def accepting(*modes: str, answer: str | dict = "{}") -> Callable[[dict, int], Reply]:
    """A server that takes only these structured-output modes ("text": no response_format at all)
    and refuses the others with a 400 naming response_format."""

    def script(body: dict, index: int) -> Reply:
        fmt = body.get("response_format")
        mode = "text" if fmt is None else fmt["type"] + ("+schema" if "schema" in fmt else "")
        if mode in modes:
            return chat(answer)
        return error(400, f"response_format {mode} is not supported by this server")

    return script


Script = list[Reply] | Callable[[dict, int], Reply]


class FakeLLM:
    def __init__(self, script: Script):
        self.script = script
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # a client that hung up is not a test failure
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reply_for(self, body: dict) -> Reply:
        with self._lock:
            index = len(self.chat_requests) - 1
            if callable(self.script):
                return self.script(body, index)
            return self.script[min(index, len(self.script) - 1)]


def completion(reply: Reply, model: str) -> bytes:
    usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
             "total_tokens": reply.prompt_tokens + reply.completion_tokens}
    return json.dumps({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content},
                     "finish_reason": reply.finish_reason}],
        "usage": usage}).encode()


def _handler(fake: FakeLLM):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            fake.requests.append({"path": self.path, "method": "GET", "headers": dict(self.headers), "body": None})
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "test", "object": "model"}]}).encode())
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with fake._lock:
                fake.requests.append({"path": self.path, "method": "POST", "headers": dict(self.headers),
                                      "body": body})
            reply = fake.reply_for(body)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            data = reply.raw if reply.raw is not None else completion(reply, body.get("model", "test"))
            self._send(reply.status, data, reply.headers, reply.omit_length)

        def _send(self, status: int, data: bytes, headers: dict | None = None, omit_length: bool = False) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if omit_length:
                self.send_header("connection", "close")
                self.close_connection = True
            else:
                self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
