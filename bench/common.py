"""What run_bench.py and extras.py share: paths, a sandbox handle and one timed ansible-playbook run."""
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
PY = str(REPO / ".venv" / "bin" / "python")
PLAYBOOK_BIN = str(REPO / ".venv" / "bin" / "ansible-playbook")
# the play's identities: Kubernetes admin, Jenkins admin, anonymous /login; anything else in the
# request log is the cluster acting on its own (Jenkins' kubernetes plugin, agents, kubelet probes)
PLAY_USERS = {"kubernetes-admin", "admin", "system:anonymous"}


def log(prefix, msg):
    print("[%s %s] %s" % (prefix, time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def loadavg():
    return tuple(round(x, 2) for x in os.getloadavg())


class Sandbox:
    """One sandbox in its own state dir, started and stopped with `python -m sandbox`, and its
    admin API (request log, reset)."""

    def __init__(self, state_dir):
        self.dir = Path(state_dir)
        self.info = None
        self.ctx = None

    def up(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        out = subprocess.run([PY, "-m", "sandbox", "up", "--state-dir", str(self.dir)], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        self.info = json.loads(out)
        self.ctx = ssl.create_default_context(cafile=self.info["ca_file"])
        return self

    def down(self):
        subprocess.run([PY, "-m", "sandbox", "down", "--state-dir", str(self.dir)], cwd=REPO,
                       capture_output=True, text=True)

    def admin(self, method, path):
        req = urllib.request.Request(self.info["admin_url"] + path, method=method,
                                     headers={"Authorization": "Bearer " + self.info["admin_token"]})
        with urllib.request.urlopen(req, context=self.ctx, timeout=60) as resp:
            return json.load(resp)

    def reset(self):
        self.admin("POST", "/reset")

    def requests(self):
        return self.admin("GET", "/requests")["items"]


def recap(text):
    """The PLAY RECAP of ansible-playbook's output: {host: {ok, changed, failed, skipped}}."""
    hosts = {}
    for m in re.finditer(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)"
                         r"\s+rescued=(\d+)\s+ignored=(\d+)", text.split("PLAY RECAP")[-1], re.M):
        ok, changed, unreach, failed, skipped, rescued, ignored = map(int, m.groups()[1:])
        hosts[m.group(1)] = {"ok": ok, "changed": changed, "failed": failed + unreach, "skipped": skipped}
    return hosts


def play(playbook, state_dir, logfile, timer_file, extra=()):
    """Run ansible-playbook against the sandbox inventory with the bench_timer callback.

    Returns (stdout, seconds, the load averages before, the timer's tasks, start time); raises
    RuntimeError naming the log file when the play fails."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
        "ANSIBLE_CALLBACK_PLUGINS": str(BENCH / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "bench_timer",
        "BENCH_TIMER_FILE": str(timer_file),
        "KUBEOPS_SANDBOX_DIR": str(state_dir),
        "PATH": str(REPO / ".venv" / "bin") + os.pathsep + env.get("PATH", ""),
    })
    cmd = [PLAYBOOK_BIN, "-i", "inventories/sandbox", str(playbook), *extra]
    load = loadavg()
    start = time.time()
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - t0
    Path(logfile).write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (rc=%d), log: %s" % (playbook, proc.returncode, logfile))
    timer = json.loads(Path(timer_file).read_text()) if Path(timer_file).exists() else {"tasks": []}
    return proc.stdout, round(seconds, 3), load, timer["tasks"], start
