# The in-sandbox supervisor: runs inside bubblewrap as the sandbox's uid, starts the main process and runs commands
# and file transfers on request, so an exec costs a fork instead of a whole bwrap spawn. JSON lines on stdin/stdout;
# bytes travel base64-encoded. It holds no privilege the sandbox lacks: everything it does, the sandbox could do.
import base64, json, os, signal, subprocess, sys, threading, time

OUT = sys.stdout.buffer
LOCK = threading.Lock()
ROOTS = ("/workspace", "/tmp")
CHUNK = 64 * 1024
WINDOW = 8
transfers = {}
execs = {}


def send(msg):
    line = (json.dumps(msg, separators=(",", ":")) + "\n").encode()
    with LOCK:
        OUT.write(line)
        OUT.flush()


def b64(data):
    return base64.b64encode(data).decode()


def confined(path, for_write):
    """The real path, if it stays inside the sandbox's own storage after following every symlink."""
    if not path.startswith("/") or "\0" in path or ".." in path.split("/"):
        raise PermissionError("path must be absolute without '..'")
    if for_write:
        parent = os.path.realpath(os.path.dirname(path) or "/")
        real = os.path.join(parent, os.path.basename(path))
        if os.path.islink(real):
            raise PermissionError("path is a symlink")
    else:
        real = os.path.realpath(path)
    if not any(real == r or real.startswith(r + "/") for r in ROOTS):
        raise PermissionError("path resolves outside /workspace and /tmp")
    return real


def reader(stream, cap, sink):
    size = 0
    while True:
        chunk = stream.read1(CHUNK) if hasattr(stream, "read1") else stream.read(CHUNK)
        if not chunk:
            break
        if size < cap:
            sink["data"].append(chunk[: cap - size])
            if len(chunk) > cap - size:
                sink["truncated"] = True
            size += len(chunk)
        else:
            sink["truncated"] = True


def killpg(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def run_exec(req):
    rid = req["id"]
    env = dict(os.environ)
    env.update(req.get("env") or {})
    cap = int(req.get("max", 1 << 20))
    try:
        proc = subprocess.Popen(req["argv"], cwd=req.get("cwd") or None, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except Exception as e:  # noqa: BLE001 - any spawn failure is the command's result, like a shell's 127
        send({"ev": "exit", "id": rid, "code": 127, "out": "", "err": b64(f"{e}\n".encode()), "timed_out": False, "truncated": False})
        return
    execs[rid] = proc
    out, err = {"data": [], "truncated": False}, {"data": [], "truncated": False}
    threads = [threading.Thread(target=reader, args=(proc.stdout, cap, out), daemon=True),
               threading.Thread(target=reader, args=(proc.stderr, cap, err), daemon=True)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + float(req.get("timeout", 30))
    timed_out = False
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
        killpg(proc)
        proc.wait()
        killpg(proc)  # anything forked while the first kill was on its way
    # The pipes hold at most a buffer's worth once the command ended; a background process that keeps them open
    # (`cmd &`) does not hold the answer back beyond a short grace.
    grace = time.monotonic() + 0.5
    for t in threads:
        t.join(timeout=max(0.0, grace - time.monotonic()))
    execs.pop(rid, None)
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    send({"ev": "exit", "id": rid, "code": code, "out": b64(b"".join(out["data"])), "err": b64(b"".join(err["data"])),
          "timed_out": timed_out, "truncated": out["truncated"] or err["truncated"]})


def run_main(req):
    env = dict(os.environ)
    env.update(req.get("env") or {})
    try:
        proc = subprocess.Popen(req["argv"], cwd=req.get("cwd") or None, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except Exception as e:  # noqa: BLE001
        send({"ev": "main-exit", "code": 127, "error": str(e)})
        return
    send({"ev": "main-start", "pid": proc.pid})
    while True:
        chunk = proc.stdout.read1(CHUNK)
        if not chunk:
            break
        send({"ev": "log", "d": b64(chunk)})
    proc.wait()
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    send({"ev": "main-exit", "code": code})


def fail(rid, kind, message):
    send({"ev": "error", "id": rid, "kind": kind, "msg": message})


def start_put(req):
    rid = req["id"]
    try:
        real = confined(req["path"], True)
        os.makedirs(os.path.dirname(real), exist_ok=True)
        confined(req["path"], True)  # the parents just made must still resolve inside
        fd = open_regular(real, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        transfers[rid] = {"fd": fd, "size": 0}
        send({"ev": "ok", "id": rid})
    except (PermissionError, IsADirectoryError) as e:
        fail(rid, "path", str(e) if isinstance(e, PermissionError) else "path is not a regular file")
    except OSError as e:
        fail(rid, "io", e.strerror or str(e))


def open_regular(path, flags):
    """Opens without following a final symlink and without blocking on a FIFO the sandbox may have planted."""
    import fcntl, stat
    import errno
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as e:
        if e.errno in (errno.ENXIO, errno.ELOOP, errno.EISDIR):  # a FIFO without reader, a symlink, a directory
            raise IsADirectoryError(path) from e
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IsADirectoryError(path)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def put_data(req):
    t = transfers.get(req["id"])
    if t is None:
        return
    data = base64.b64decode(req["d"])
    try:
        os.write(t["fd"], data)
        t["size"] += len(data)
        send({"ev": "ack", "id": req["id"]})
    except OSError as e:
        os.close(t["fd"])
        transfers.pop(req["id"], None)
        fail(req["id"], "io", e.strerror or str(e))


def put_end(req):
    t = transfers.pop(req["id"], None)
    if t is None:
        return
    os.close(t["fd"])
    send({"ev": "done", "id": req["id"], "size": t["size"]})


def start_get(req):
    rid = req["id"]
    try:
        real = confined(req["path"], False)
        fd = open_regular(real, os.O_RDONLY)
    except PermissionError as e:
        return fail(rid, "path", str(e))
    except FileNotFoundError:
        return fail(rid, "notfound", "file not found")
    except IsADirectoryError:
        return fail(rid, "path", "path is not a regular file")
    except OSError as e:
        return fail(rid, "io", e.strerror or str(e))
    transfers[rid] = {"fd": fd, "credit": threading.Semaphore(WINDOW)}
    send({"ev": "ok", "id": rid, "size": os.fstat(fd).st_size})
    threading.Thread(target=stream_get, args=(rid,), daemon=True).start()


def stream_get(rid):
    t = transfers[rid]
    while True:
        t["credit"].acquire()
        if rid not in transfers:
            break
        chunk = os.read(t["fd"], CHUNK)
        if not chunk:
            send({"ev": "end", "id": rid})
            break
        send({"ev": "data", "id": rid, "d": b64(chunk)})
    os.close(t["fd"])
    transfers.pop(rid, None)


def get_ack(req):
    t = transfers.get(req["id"])
    if t is not None and "credit" in t:
        t["credit"].release()


def cancel(req):
    t = transfers.pop(req["id"], None)
    if t is not None and "credit" in t:
        t["credit"].release()
    proc = execs.get(req["id"])
    if proc is not None:
        killpg(proc)


sockets = {}


def dial(req):
    """Connects to a port on the sandbox's own loopback; bytes then flow as tx (in) and rx (out) frames."""
    import socket
    rid = req["id"]
    try:
        conn = socket.create_connection(("127.0.0.1", int(req["port"])), timeout=5)
        conn.settimeout(None)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a relay: forward each write as it comes
    except (OSError, ValueError) as e:
        return fail(rid, "io", getattr(e, "strerror", None) or str(e))
    sockets[rid] = conn
    send({"ev": "ok", "id": rid})
    threading.Thread(target=pump, args=(rid, conn), daemon=True).start()


def pump(rid, conn):
    try:
        while True:
            chunk = conn.recv(CHUNK)
            if not chunk:
                break
            send({"ev": "rx", "id": rid, "d": b64(chunk)})
    except OSError:
        pass
    sockets.pop(rid, None)
    conn.close()
    send({"ev": "eof", "id": rid})


def tx(req):
    conn = sockets.get(req["id"])
    if conn is not None:
        try:
            conn.sendall(base64.b64decode(req["d"]))
        except OSError:
            hangup(req)


def hangup(req):
    import socket
    conn = sockets.get(req["id"])
    if conn is not None:
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass


procs = {}


def spawn(req):
    """A process with live stdin/stdout/stderr (streaming and interactive exec); with tty it gets a real PTY."""
    rid = req["id"]
    env = dict(os.environ)
    env.update(req.get("env") or {})
    cwd = req.get("cwd") or "/workspace"
    argv = req["argv"]
    if req.get("tty"):
        import pty
        env.setdefault("TERM", "xterm-256color")
        pid, master = pty.fork()
        if pid == 0:
            try:
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            except Exception as e:  # noqa: BLE001
                os.write(2, f"{argv[0]}: {e}\r\n".encode())
            os._exit(127)
        set_size(master, req.get("rows"), req.get("cols"))
        procs[rid] = {"pid": pid, "master": master, "tty": True}
        send({"ev": "started", "id": rid, "pid": pid})
        threading.Thread(target=pump_tty, args=(rid, pid, master), daemon=True).start()
        return
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except Exception as e:  # noqa: BLE001
        send({"ev": "out", "id": rid, "s": "stderr", "d": b64(f"{e}\n".encode())})
        send({"ev": "done", "id": rid, "code": 127})
        return
    procs[rid] = {"pid": proc.pid, "proc": proc, "tty": False}
    send({"ev": "started", "id": rid, "pid": proc.pid})
    threads = [threading.Thread(target=pump_pipe, args=(rid, proc.stdout, "stdout"), daemon=True),
               threading.Thread(target=pump_pipe, args=(rid, proc.stderr, "stderr"), daemon=True)]
    for t in threads:
        t.start()
    threading.Thread(target=wait_pipe, args=(rid, proc, threads), daemon=True).start()


def set_size(fd, rows, cols):
    import fcntl, struct, termios
    if rows and cols:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", int(rows), int(cols), 0, 0))


def pump_pipe(rid, stream, name):
    while True:
        chunk = stream.read1(CHUNK)
        if not chunk:
            break
        send({"ev": "out", "id": rid, "s": name, "d": b64(chunk)})


def wait_pipe(rid, proc, threads):
    proc.wait()
    grace = time.monotonic() + 0.5
    for t in threads:
        t.join(timeout=max(0.0, grace - time.monotonic()))
    procs.pop(rid, None)
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    send({"ev": "done", "id": rid, "code": code})


def pump_tty(rid, pid, master):
    while True:
        try:
            chunk = os.read(master, CHUNK)
        except OSError:  # EIO: every holder of the terminal's slave side is gone
            break
        if not chunk:
            break
        send({"ev": "out", "id": rid, "s": "stdout", "d": b64(chunk)})
    _, status = os.waitpid(pid, 0)
    procs.pop(rid, None)
    try:
        os.close(master)
    except OSError:
        pass
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    send({"ev": "done", "id": rid, "code": code})


def proc_stdin(req):
    p = procs.get(req["id"])
    if p is None:
        return
    data = base64.b64decode(req["d"])
    try:
        if p["tty"]:
            os.write(p["master"], data)
        else:
            p["proc"].stdin.write(data)
            p["proc"].stdin.flush()
    except OSError:
        pass


def proc_eof(req):
    p = procs.get(req["id"])
    if p is None:
        return
    try:
        if p["tty"]:
            os.write(p["master"], b"\x04")  # end of input on a terminal is ^D
        else:
            p["proc"].stdin.close()
    except OSError:
        pass


def proc_resize(req):
    p = procs.get(req["id"])
    if p is not None and p["tty"]:
        try:
            set_size(p["master"], req.get("rows"), req.get("cols"))
            os.killpg(p["pid"], signal.SIGWINCH)
        except OSError:
            pass


def proc_signal(req):
    p = procs.get(req["id"])
    if p is not None:
        try:
            os.killpg(p["pid"], int(req.get("sig", signal.SIGKILL)))
        except OSError:
            pass


def close_socket(req):
    import socket
    conn = sockets.pop(req["id"], None)
    if conn is not None:
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()


def set_env(req):
    os.environ.update(req.get("env") or {})


HANDLERS = {"spawn": spawn, "stdin": proc_stdin, "eof": proc_eof, "resize": proc_resize, "signal": proc_signal, "dial": dial, "tx": tx, "hangup": hangup, "close": close_socket, "env": set_env, "put": start_put, "data": put_data, "end": put_end, "get": start_get, "ack": get_ack, "cancel": cancel}


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    send({"ev": "ready"})
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        op = req.get("op")
        try:
            if op == "exec":
                threading.Thread(target=run_exec, args=(req,), daemon=True).start()
            elif op == "main":
                threading.Thread(target=run_main, args=(req,), daemon=True).start()
            elif op in HANDLERS:
                HANDLERS[op](req)
        except Exception as e:  # noqa: BLE001 - the sandbox may have exhausted its pids or memory: answer, never die
            rid = req.get("id")
            if op == "exec":
                send({"ev": "exit", "id": rid, "code": 126, "out": "", "err": b64(f"cannot start the command: {e}\n".encode()),
                      "timed_out": False, "truncated": False})
            elif rid is not None:
                fail(rid, "io", f"{e}")
    # stdin closed: the host is gone or asked us to stop.


if __name__ == "__main__":
    main()
