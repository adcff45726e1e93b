# A small app for the gateway tests, run inside a sandbox on 127.0.0.1:8080 (stdlib only): /hello answers with what
# it received, /sse streams events (the second one only after /workspace/go exists, then ticks until the client is
# gone, which it records in /workspace/disconnected), /ws is a WebSocket echo, POST echoes its body.
import base64, hashlib, http.server, json, os, socketserver, struct, sys, time

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8080


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out as separate writes: without this, Nagle + delayed ACK add ~40 ms per response.
        import socket
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/hello"):
            seen = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
            self.reply(200, json.dumps(seen).encode())
        elif self.path == "/sse":
            self.sse()
        elif self.path == "/ws":
            self.websocket()
        else:
            self.reply(404, b'{"error":"not here"}')

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.reply(200, body, self.headers.get("Content-Type") or "application/octet-stream")

    def sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            self.wfile.write(b"data: one\n\n")
            self.wfile.flush()
            while not os.path.exists("/workspace/go"):
                time.sleep(0.02)
            self.wfile.write(b"data: two\n\n")
            self.wfile.flush()
            while True:
                time.sleep(0.05)
                self.wfile.write(b": tick\n\n")
                self.wfile.flush()
        except OSError:
            with open("/workspace/disconnected", "w") as f:
                f.write("yes")
        self.close_connection = True

    def websocket(self):
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                break
            op, n = head[0] & 15, head[1] & 127
            if n == 126:
                n = struct.unpack(">H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4)
            data = bytearray(self.rfile.read(n))
            for i in range(n):
                data[i] ^= mask[i % 4]
            if op == 8:
                self.wfile.write(b"\x88\x00")
                break
            if op == 1:
                out = b"echo:" + bytes(data)
                hdr = bytes([0x81, len(out)]) if len(out) < 126 else bytes([0x81, 126]) + struct.pack(">H", len(out))
                self.wfile.write(hdr + out)
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
