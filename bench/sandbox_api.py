"""Benchmark of the sandbox Kubernetes API server (a benchmark, not a test).

Measures, against a sandbox started with ``python -m sandbox up --no-controllers``:
GET and CREATE requests per second over one keep-alive HTTPS connection per client thread
(1 and 4 threads), LIST of 1,000 objects, and the memory of the serve process for 1,000
ConfigMaps (RSS delta from /proc). Prints a markdown table.

    .venv/bin/python bench/sandbox_api.py [--requests 2000] [--objects 1000]
"""
import argparse
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Conn:
    def __init__(self, info):
        self.ctx = ssl.create_default_context(cafile=info["ca_file"])
        self.conn = http.client.HTTPSConnection(info["address"], 6443, context=self.ctx, timeout=30)
        self.headers = {"Authorization": "Bearer " + info["admin_token"], "Accept": "application/json",
                        "Content-Type": "application/json"}

    def req(self, method, path, body=None):
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, data


def run_parallel(info, threads, n, fn):
    per = n // threads
    errors = []

    def work(tid):
        c = Conn(info)
        for i in range(per):
            status = fn(c, tid, i)
            if status >= 300:
                errors.append(status)
    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    assert not errors, errors[:5]
    return per * threads / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--objects", type=int, default=1000)
    args = ap.parse_args()
    state = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    up = subprocess.run([sys.executable, "-m", "sandbox", "up", "--state-dir", str(state), "--no-controllers"],
                        cwd=REPO, capture_output=True, text=True, check=True)
    info = json.loads(up.stdout)
    pid = info["pid"]
    rows = []
    try:
        c = Conn(info)
        c.req("POST", "/api/v1/namespaces", {"metadata": {"name": "bench"}})
        c.req("POST", "/api/v1/namespaces/bench/configmaps", {"metadata": {"name": "probe"}, "data": {"k": "v"}})
        for threads in (1, 4):
            rps = run_parallel(info, threads, args.requests,
                               lambda c, t, i: c.req("GET", "/api/v1/namespaces/bench/configmaps/probe")[0])
            rows.append(("GET configmap (%d client%s)" % (threads, "s" if threads > 1 else ""), "%.0f req/s" % rps))
        for threads in (1, 4):
            ns = "create%d" % threads
            c.req("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
            rps = run_parallel(info, threads, args.requests // 2, lambda c, t, i: c.req(
                "POST", "/api/v1/namespaces/%s/configmaps" % ns,
                {"metadata": {"name": "cm-%d-%d" % (t, i), "labels": {"t": str(t)}}, "data": {"k": "v" * 64}})[0])
            rows.append(("CREATE configmap (%d client%s)" % (threads, "s" if threads > 1 else ""),
                         "%.0f req/s" % rps))
        c.req("POST", "/api/v1/namespaces", {"metadata": {"name": "mem"}})
        time.sleep(0.5)
        before = rss_kib(pid)
        pod = {"metadata": {"name": "x", "labels": {"app": "bench"}},
               "spec": {"containers": [{"name": "c", "image": "nginx:1.25", "env": [{"name": "A", "value": "1"}]}]}}
        for i in range(args.objects):
            c.req("POST", "/api/v1/namespaces/mem/configmaps",
                  {"metadata": {"name": "m%d" % i, "labels": {"app": "bench"}}, "data": {"k": "v" * 64}})
        after_cm = rss_kib(pid)
        for i in range(args.objects):
            pod["metadata"]["name"] = "p%d" % i
            c.req("POST", "/api/v1/namespaces/mem/pods", pod)
        after_pods = rss_kib(pid)
        t0 = time.perf_counter()
        status, data = c.req("GET", "/api/v1/namespaces/mem/pods")
        list_s = time.perf_counter() - t0
        assert status == 200 and len(json.loads(data)["items"]) == args.objects
        rows.append(("LIST %d pods" % args.objects, "%.0f ms (%.1f MB JSON)" % (list_s * 1000, len(data) / 1e6)))
        rows.append(("memory, %d ConfigMaps" % args.objects,
                     "%.1f MiB (%.1f KiB each)" % ((after_cm - before) / 1024, (after_cm - before) / args.objects)))
        rows.append(("memory, %d Pods" % args.objects,
                     "%.1f MiB (%.1f KiB each; history ring included)" % ((after_pods - after_cm) / 1024,
                                                                          (after_pods - after_cm) / args.objects)))
        rows.append(("serve process RSS", "%.1f MiB" % (rss_kib(pid) / 1024)))
    finally:
        subprocess.run([sys.executable, "-m", "sandbox", "down", "--state-dir", str(state)], cwd=REPO,
                       capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
    print("| measure | result |")
    print("|---|---|")
    for k, v in rows:
        print("| %s | %s |" % (k, v))
    print("\n(%s, Python %s, %d CPUs; HTTPS keep-alive, admin token, no control plane)"
          % (time.strftime("%Y-%m-%d"), sys.version.split()[0], os.cpu_count()))


if __name__ == "__main__":
    main()
