"""{{name}}: a Bunker agent on the AgentCore runtime contract, Python standard library only.

POST /invocations  {"prompt": "..."}                  -> {"result": {...}, "status": "success", ...}
                   {"prompt": "...", "stream": true}  -> text/event-stream, one `data: <json>` frame per word
                   (also streamed when the request says `Accept: text/event-stream`)
GET  /ping         {"status": "Healthy" | "HealthyBusy", "time_of_last_update": <unix seconds>}

`python3 {{entrypoint}}` serves on 0.0.0.0:8080 (BUNKER_AGENT_HOST, BUNKER_AGENT_PORT or PORT override them).
"""
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSION_HEADERS = ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", "X-Bunker-Session-Id")
REQUEST_ID_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"
MAX_REQUEST_SIZE = 1024 * 1024


def answer(request, session_id):
    """The agent: replace this with your own logic (call a model, run tools, ...)."""
    prompt = str(request.get("prompt", "")).strip()
    if not prompt:
        raise ValueError('send {"prompt": "..."}')
    return {"answer": "You asked: " + prompt, "words": len(prompt.split()), "session": session_id}


def tokens(request):
    """The streaming agent: each yielded value becomes one SSE frame."""
    words = str(request.get("prompt", "")).split()
    if not words:
        raise ValueError('send {"prompt": "..."}')
    delay = float(request.get("delay_ms", 0)) / 1000
    for index, word in enumerate(words):
        if delay:
            time.sleep(delay)
        yield {"index": index, "token": word, "done": index == len(words) - 1}


class Health:
    """Healthy when idle, HealthyBusy while an invocation runs (the host uses it to decide when to pause)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.active = 0
        self.status = "Healthy"
        self.since = int(time.time())

    def change(self, delta):
        with self.lock:
            self.active += delta
            status = "HealthyBusy" if self.active > 0 else "Healthy"
            if status != self.status:
                self.status, self.since = status, int(time.time())

    def report(self):
        with self.lock:
            return {"status": self.status, "time_of_last_update": self.since}


health = Health()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path != "/ping":
            return self.send_json(404, {"error": "Not Found"})
        self.send_json(200, health.report())

    def do_POST(self):
        if self.path != "/invocations":
            return self.send_json(404, {"error": "Not Found"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_SIZE:
            return self.send_json(413, {"error": "Request body too large", "error_type": "PayloadTooLarge"})
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.send_json(400, {"error": "Invalid JSON"})
        if not isinstance(request, dict):
            return self.send_json(400, {"error": "The request must be a JSON object"})
        session_id = next((self.headers[h] for h in SESSION_HEADERS if self.headers.get(h)), None)
        request_id = self.headers.get(REQUEST_ID_HEADER) or str(uuid.uuid4())
        wants_stream = request.get("stream") is True or "text/event-stream" in (self.headers.get("Accept") or "")
        started = time.time()
        health.change(+1)
        try:
            if wants_stream:
                return self.stream(tokens(request))
            result = answer(request, session_id)
            metadata = {"request_id": request_id}
            if session_id:
                metadata["session_id"] = session_id
            self.send_json(200, {"result": result, "status": "success", "duration": time.time() - started, "metadata": metadata})
        except Exception as error:  # the contract's error body: {"error", "error_type"}
            self.send_json(500, {"error": str(error), "error_type": type(error).__name__})
        finally:
            health.change(-1)

    def stream(self, frames):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            try:
                for frame in frames:
                    self.wfile.write(("data: " + json.dumps(frame) + "\n\n").encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception as error:  # errors after the headers go out travel as an `event: error` frame
                body = {"error": str(error), "error_type": type(error).__name__, "message": "An error occurred during streaming"}
                self.wfile.write(("event: error\ndata: " + json.dumps(body) + "\n\n").encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller went away: stop generating


def serve(port=None, host=None):
    """Makes the server (call serve_forever() on it); port 0 picks a free one: see server.server_address."""
    if port is None:
        port = int(os.environ.get("BUNKER_AGENT_PORT") or os.environ.get("PORT") or "8080")
    if host is None:
        host = os.environ.get("BUNKER_AGENT_HOST") or "0.0.0.0"
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    serve().serve_forever()
