"""``python -m sandbox up|status|down|serve --state-dir DIR`` (architecture.md §3).

* ``up``     starts ``serve`` in the background (own process group, log DIR/sandbox.log, pidfile
             DIR/sandbox.pid), waits until the API answers, prints one JSON object.
* ``status`` prints the same JSON plus what runs (services with NodePort URLs), read from the
             running sandbox's admin API (or DIR/sandbox.json when it is down: ``running: false``).
* ``down``   SIGTERM to the process group, wait, SIGKILL; state stays on disk.
* ``serve``  runs the sandbox in the foreground (what ``up`` starts).
"""
import argparse
import http.client
import json
import logging
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child counts as dead
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _read_pid(state_dir):
    try:
        return int((state_dir / "sandbox.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _port_free(address, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def choose_address(state_dir, port=6443):
    """Reuse the state dir's previous address if its port is free, else a random free
    127.0.x.y (x, y in 1..254; loopback only; architecture.md §3)."""
    prev = state_dir / "pki" / "apiserver.address"
    if prev.exists():
        addr = prev.read_text().strip()
        if addr.startswith("127.") and _port_free(addr, port):
            return addr
    rnd = random.SystemRandom()
    for _ in range(200):
        addr = "127.0.%d.%d" % (rnd.randint(1, 254), rnd.randint(1, 254))
        if _port_free(addr, port):
            return addr
    raise SystemExit("no free loopback address found for port %d" % port)


def _admin_get(info, path, timeout=3.0):
    ctx = ssl.create_default_context(cafile=info["ca_file"])
    host = info["address"]
    port = int(info["api_url"].rsplit(":", 1)[1])
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + info["admin_token"]})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError("%s -> HTTP %d: %s" % (path, resp.status, body[:200]))
        return json.loads(body)
    finally:
        conn.close()


def _saved(state_dir):
    try:
        return json.loads((state_dir / "sandbox.json").read_text())
    except (OSError, ValueError):
        return None


def cmd_up(args):
    state_dir = Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    pid = _read_pid(state_dir)
    if pid and _pid_alive(pid):
        return cmd_status(args)
    address = args.address or choose_address(state_dir, args.port)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "sandbox", "serve", "--state-dir", str(state_dir), "--address", address,
           "--nodes", str(args.nodes), "--port", str(args.port)]
    if args.no_controllers:
        cmd.append("--no-controllers")
    try:
        (state_dir / "sandbox.json").unlink()
    except FileNotFoundError:
        pass
    with open(state_dir / "sandbox.log", "ab") as logf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                cwd=str(REPO_ROOT), env=env, start_new_session=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (state_dir / "sandbox.log").read_text(errors="replace")[-3000:]
            print(json.dumps({"error": "sandbox exited with %s" % proc.returncode, "log": tail}))
            return 1
        saved = _saved(state_dir)
        if saved and saved.get("pid") == proc.pid:
            try:
                status = _admin_get(saved, "/_sandbox/status", timeout=1.0)
                print(json.dumps(status))
                return 0
            except (OSError, RuntimeError, ssl.SSLError):
                pass
        time.sleep(0.05)
    print(json.dumps({"error": "sandbox did not become ready in %ss" % args.timeout}))
    _stop(state_dir, proc.pid)
    return 1


def cmd_status(args):
    state_dir = Path(args.state_dir).resolve()
    pid = _read_pid(state_dir)
    saved = _saved(state_dir)
    if pid and _pid_alive(pid) and saved:
        try:
            print(json.dumps(_admin_get(saved, "/_sandbox/status")))
            return 0
        except (OSError, RuntimeError, ssl.SSLError) as exc:
            saved = dict(saved, running=False, error=str(exc))
            print(json.dumps(saved))
            return 1
    if saved:
        saved = dict(saved, running=False)
        print(json.dumps(saved))
        return 3
    print(json.dumps({"state_dir": str(state_dir), "running": False, "error": "no sandbox in this state dir"}))
    return 3


def _stop(state_dir, pid, timeout=10.0):
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return True
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    time.sleep(0.1)
    return not _pid_alive(pid)


def cmd_down(args):
    state_dir = Path(args.state_dir).resolve()
    pid = _read_pid(state_dir)
    if not pid or not _pid_alive(pid):
        print(json.dumps({"state_dir": str(state_dir), "stopped": True, "was_running": False}))
        return 0
    ok = _stop(state_dir, pid, args.timeout)
    try:
        (state_dir / "sandbox.pid").unlink()
    except FileNotFoundError:
        pass
    print(json.dumps({"state_dir": str(state_dir), "stopped": ok, "was_running": True}))
    return 0 if ok else 1


def cmd_serve(args):
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from sandbox.k8s.cluster import Cluster

    state_dir = Path(args.state_dir).resolve()
    address = args.address or choose_address(state_dir, args.port)
    cluster = Cluster(state_dir, address, nodes=args.nodes, port=args.port,
                      controllers=not args.no_controllers)
    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cluster.start()
    (state_dir / "sandbox.pid").write_text(str(os.getpid()))
    cluster.write_state()
    logging.getLogger("sandbox").info("sandbox %s serving %s", cluster.name, cluster.api_url)
    last_rv = cluster.store.resource_version
    try:
        while not stop["now"]:
            time.sleep(0.2)
            rv = cluster.store.resource_version
            if rv != last_rv:
                last_rv = rv
                cluster.write_state()   # keeps services/NodePorts current for `status` readers
    finally:
        logging.getLogger("sandbox").info("stopping")
        cluster.stop()
        data = cluster.status()
        data["running"] = False
        Path(state_dir / "sandbox.json").write_text(json.dumps(data, indent=2))
        try:
            if _read_pid(state_dir) == os.getpid():
                (state_dir / "sandbox.pid").unlink()
        except FileNotFoundError:
            pass
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("up", "status", "down", "serve"):
        p = sub.add_parser(name)
        p.add_argument("--state-dir", required=True)
        if name in ("up", "serve"):
            p.add_argument("--nodes", type=int, default=2, help="worker nodes (default 2)")
            p.add_argument("--address", help="loopback address (default: a free random 127.x.y.z)")
            p.add_argument("--port", type=int, default=6443)
            p.add_argument("--no-controllers", action="store_true",
                           help="API server only (no simulated control plane)")
        if name == "up":
            p.add_argument("--timeout", type=float, default=20.0)
        if name == "down":
            p.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    if getattr(args, "address", None) and not args.address.startswith("127."):
        parser.error("--address must be a loopback address (127.0.0.0/8)")
    return {"up": cmd_up, "status": cmd_status, "down": cmd_down, "serve": cmd_serve}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
