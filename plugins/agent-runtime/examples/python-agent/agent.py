"""An agent on the AgentCore runtime contract using only Python's standard library.

POST /invocations  {"prompt": "...", "stream": false} -> {"result": {...}, "status": "success", ...}
                   {"prompt": "...", "stream": true}  -> text/event-stream, one `data: <json>` frame per word
GET  /ping         {"status": "Healthy" | "HealthyBusy", "time_of_last_update": <unix seconds>}
"""
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
REQUEST_ID_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"

state = {"invocations": 0, "active": 0, "status": "Healthy", "since": int(time.time())}
lock = threading.Lock()


def set_active(delta):
    with lock:
        state["active"] += delta
        status = "HealthyBusy" if state["active"] > 0 else "Healthy"
        if status != state["status"]:
            state["status"], state["since"] = status, int(time.time())


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

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path != "/ping":
            return self.send_json(404, {"error": "Not Found"})
        with lock:
            self.send_json(200, {"status": state["status"], "time_of_last_update": state["since"]})

    def do_POST(self):
        if self.path != "/invocations":
            return self.send_json(404, {"error": "Not Found"})
        try:
            request = json.loads(self.read_body() or b"{}")
        except ValueError:
            return self.send_json(400, {"error": "Invalid JSON"})
        started = time.time()
        request_id = self.headers.get(REQUEST_ID_HEADER) or str(uuid.uuid4())
        session_id = self.headers.get(SESSION_HEADER) or request.get("sandbox_id")
        with lock:
            state["invocations"] += 1
            count = state["invocations"]
        set_active(1)
        try:
            prompt = str(request.get("prompt", ""))
            if request.get("stream"):
                return self.stream(prompt.split(), float(request.get("delay_ms", 0)) / 1000)
            result = {"echo": prompt, "invocations": count, "session": session_id, "language": "python"}
            self.send_json(200, {"result": result, "status": "success", "duration": time.time() - started,
                                 "metadata": {"request_id": request_id}})
        finally:
            set_active(-1)

    def stream(self, words, delay):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for index, word in enumerate(words):
                if delay:
                    time.sleep(delay)
                frame = "data: " + json.dumps({"index": index, "token": word}) + "\n\n"
                self.wfile.write(frame.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away: stop generating


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    server.serve_forever()
