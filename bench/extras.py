"""Issue 8 extras: one plugin-set task vs ten plugin tasks, and 20 concurrent builds end to end.

1. **Plugins.** Each variant on its own FRESH sandbox, converged once with playbooks/site.yml (not
   timed). The sandbox's plugin catalog (sandbox/jenkins/catalog, the update-center stand-in) has
   35 plugins and the default converge installs 34 of them, so this converge passes
   ``controller_plugins`` = the two pinned entries of the role defaults the cloud needs (kubernetes,
   configuration-as-code): that leaves 12 catalog plugins uninstalled. Ten of them are picked from the
   live plugin list and the catalog: a set closed under dependencies (Jenkins installs nothing else),
   ordered dependencies first (each of the ten tasks installs exactly its plugin). Variants,
   interleaved (order reversed on odd repetitions):

   * ``set``  — bench/extras/plugins_set.yml: ONE kubeops.jenkins.jenkins_plugin task with the 10;
   * ``each`` — bench/extras/plugins_each.yml: TEN jenkins_plugin tasks, one plugin each;
   * ``peer`` — bench/extras/plugins_peer.yml: ansible.builtin.uri (read, installNecessaryPlugins,
     poll the update center, restart when asked). community.general.jenkins_plugin cannot take part
     (see PEER_CANNOT).

   Each: first run (installs), then a second run (no change). Wall time of ansible-playbook,
   requests by method from the sandbox request log (reset before each run), tasks reported changed,
   Jenkins restarts (POST /restart or /safeRestart in the log, and the X-Jenkins-Session header
   before/after), and a check that the ten are active afterwards.

2. **Concurrent builds.** Per repetition one FRESH sandbox converged with the default site play.
   Set-up (not timed): bench/extras/setup_job.yml creates a job that allows concurrent builds and
   takes a RUN parameter (the smoke job does neither: concurrentBuild false, and Jenkins merges
   triggers of a parameterless job while one is queued), with a short shell step on the smoke
   build's label. Then ours (bench/extras/builds_ours.yml: a loop of kubeops.jenkins.jenkins_build
   tasks with async + poll: 0, collected with async_status) and the peer
   (bench/extras/builds_peer.yml: uri POSTs + queue/build polling + k8s_info until no agent pod)
   each trigger N builds (default 20) at once, order alternating. Measured: wall time of the play
   (it ends when every build is SUCCESS and every agent pod is deleted), agent pods alive at once
   (a watch on the pods with a ServiceAccount of its own, left out of the request counts), pods left
   when the play ends, requests by method, trigger and pod timings from the request log and watch.

Writes bench/results/extras.md, extras.json and extras.png.

    .venv/bin/python bench/extras.py [--reps 2] [--only plugins|builds] [--builds 20]
    .venv/bin/python bench/extras.py --from-json bench/results/extras.json   # rewrite md/png only
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

import common
from common import BENCH, PLAY_USERS, PY, REPO, play, recap

PLAYS = BENCH / "extras"
CATALOG = REPO / "sandbox" / "jenkins" / "catalog" / "plugins.json"
NAMESPACE = "kube-ops"
LABEL = "haimaxy-jnlp"          # the smoke build's label (pod template of the cloud the site play configures)
JOB = "bench-concurrent"
WATCHER_SA = "bench-pod-watch"
WATCHER_USER = "system:serviceaccount:%s:%s" % (NAMESPACE, WATCHER_SA)
N_PLUGINS = 10
CLOUD_PLUGINS = ("kubernetes", "configuration-as-code")   # what controller_plugins must keep (role preflight)
PLUGIN_VARIANTS = {
    "set": ("ours: 1 task, 10 plugins", "bench/extras/plugins_set.yml"),
    "each": ("ours: 10 tasks, 1 plugin each", "bench/extras/plugins_each.yml"),
    "peer": ("peer: uri (installNecessaryPlugins + update center polling)", "bench/extras/plugins_peer.yml"),
}
BUILD_SUBJECTS = {"ours": "bench/extras/builds_ours.yml", "sets": "bench/extras/builds_ours_sets.yml",
                  "peer": "bench/extras/builds_peer.yml",
                  "floor": "bench/extras/builds_floor.yml"}
PEER_CANNOT = ("community.general.jenkins_plugin cannot install into a controller in a pod: it works on the plugin "
               "files in `jenkins_home` on the host it runs on (module notes: it cannot be run remotely), and its "
               "only API path is the Groovy `/scriptText` console (answered 501 by the sandbox).")


def log(msg):
    common.log("extras", msg)


# ------------------------------------------------------------------------------------------ sandbox


class Sandbox(common.Sandbox):
    """A sandbox plus the Jenkins the site play installed in it."""

    def __init__(self, state_dir):
        super().__init__(state_dir)
        self.jenkins_url = None
        self.password = None

    def k8s(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.info["api_url"] + path, method=method, data=data, headers={
            "Authorization": "Bearer " + (token or self.info["admin_token"]), "Content-Type": "application/json",
            "Accept": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=60) as resp:
            return json.load(resp)

    def find_jenkins(self):
        """The Jenkins URL (NodePort on the sandbox address) and the admin password the site play generated."""
        status = json.loads(subprocess.run([PY, "-m", "sandbox", "status", "--state-dir", str(self.dir)], cwd=REPO,
                                           capture_output=True, text=True, check=True).stdout)
        for svc in status.get("services", []):
            if svc["namespace"] == NAMESPACE and svc["name"] == "jenkins":
                for port in svc["ports"]:
                    if port.get("name") == "http" and port.get("url"):
                        self.jenkins_url = port["url"].rstrip("/")
        if not self.jenkins_url:
            raise RuntimeError("no NodePort URL of Service %s/jenkins in the sandbox status" % NAMESPACE)
        self.password = (self.dir / "jenkins-admin-password").read_text().strip()

    def jenkins(self, path):
        """GET on Jenkins as admin: (json, headers)."""
        auth = base64.b64encode(("admin:" + self.password).encode()).decode()
        req = urllib.request.Request(self.jenkins_url + path, headers={"Authorization": "Basic " + auth})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.load(resp), resp.headers


def run_playbook(playbook, state_dir, logfile, timer_file, extra=()):
    stdout, seconds, load, tasks, start = play(playbook, state_dir, logfile, timer_file, extra)
    changed = sum(host["changed"] for host in recap(stdout).values())
    return {"seconds": seconds, "start": start, "changed": changed, "load_before": load[0],
            "tasks": [{"name": t["name"], "action": t["action"], "seconds": t["seconds"]} for t in tasks]}


def converge(box, work, tag, extra_vars=None):
    """Fresh sandbox + playbooks/site.yml once (not timed); returns the sandbox with its Jenkins found."""
    box.up()
    extra = ()
    if extra_vars:
        path = work / ("%s-converge-vars.json" % tag)
        path.write_text(json.dumps(extra_vars))
        extra = ("-e", "@%s" % path)
    t0 = time.monotonic()
    run_playbook("playbooks/site.yml", box.dir, work / ("%s-converge.log" % tag), work / ("%s-converge.json" % tag), extra)
    box.find_jenkins()
    log("%s: converged in %.0fs" % (tag, time.monotonic() - t0))
    return box


def summarize(items, ignore_users=()):
    """Requests by component and method: the play's (its identities) and in-cluster (everyone else)."""
    out = {"jenkins": {}, "k8s": {}, "in_cluster": {}}
    for e in items:
        user = e.get("user") or ""
        if user in ignore_users:
            continue
        comp = e.get("component") or "?"
        if user in PLAY_USERS:
            out.setdefault(comp, {})
            out[comp][e["method"]] = out[comp].get(e["method"], 0) + 1
        else:
            key = "%s %s" % (comp, e["method"])
            out["in_cluster"][key] = out["in_cluster"].get(key, 0) + 1
    return out


def restarts_in(items):
    return sum(1 for e in items if e.get("component") == "jenkins" and e["method"] == "POST"
               and e["path"].split("?")[0].rstrip("/").rsplit("/", 1)[-1] in ("restart", "safeRestart"))


# ------------------------------------------------------------------------------------------ extra 1: plugins


def catalog_deps():
    """name -> mandatory dependencies of the release the update-center stand-in offers (the latest)."""
    plugins = json.loads(CATALOG.read_text())["plugins"]
    return {name: [d["name"] for d in p["versions"][-1].get("dependencies", []) if not d.get("optional")]
            for name, p in plugins.items()}


def pick_plugins(installed, deps, n=N_PLUGINS):
    """n not-installed catalog plugins closed under their dependencies, ordered dependencies first."""
    missing = set(deps) - set(installed)

    def closure(name, seen=None):
        seen = set() if seen is None else seen
        for d in deps.get(name, []):
            if d not in seen:
                seen.add(d)
                closure(d, seen)
        return seen

    if len(missing) < n:
        raise RuntimeError("only %d catalog plugins are not installed (%s): need %d" % (len(missing), sorted(missing), n))
    chosen = set(missing)
    while len(chosen) > n:
        # drop a plugin no other chosen plugin depends on, the one pulling the most dependencies first
        roots = [p for p in chosen if not any(p in deps.get(q, []) for q in chosen if q != p)]
        chosen.discard(sorted(roots, key=lambda p: (-len(closure(p) & chosen), p))[0])
    ordered, done = [], set(installed)
    while len(ordered) < len(chosen):
        ready = sorted(p for p in chosen - set(ordered) if all(d in done for d in deps.get(p, [])))
        if not ready:
            raise RuntimeError("dependency cycle among %s" % sorted(chosen - set(ordered)))
        ordered.append(ready[0])
        done.add(ready[0])
    return ordered


def cloud_plugins_only():
    """controller_plugins of the role defaults, reduced to the entries the cloud needs."""
    defaults = yaml.safe_load((REPO / "roles" / "controller" / "defaults" / "main.yml").read_text())
    keep = [p for p in defaults["controller_plugins"] if p.split(":")[0] in CLOUD_PLUGINS]
    if len(keep) != len(CLOUD_PLUGINS):
        raise RuntimeError("controller_plugins defaults do not list %s: %s" % (CLOUD_PLUGINS, defaults["controller_plugins"]))
    return keep


def plugin_run(variant, rep, work, keep):
    tag = "plugins-%s-%d" % (variant, rep)
    box = Sandbox(work / tag)
    row = {"variant": variant, "rep": rep}
    try:
        converge(box, work, tag, {"controller_plugins": cloud_plugins_only()})
        live, _ = box.jenkins("/pluginManager/api/json?tree=plugins[shortName,active]")
        installed = [p["shortName"] for p in live["plugins"]]
        row["installed_before"] = len(installed)
        row["plugins"] = pick_plugins(installed, catalog_deps())
        varsfile = work / ("%s-vars.json" % tag)
        varsfile.write_text(json.dumps({"bench_jenkins_url": box.jenkins_url, "bench_jenkins_user": "admin",
                                        "bench_jenkins_password": box.password, "bench_plugins": row["plugins"],
                                        "bench_poll_delay": 2}))
        for phase in ("first", "again"):
            _, headers = box.jenkins("/api/json?tree=mode")
            session = headers.get("X-Jenkins-Session")
            box.reset()
            log("%s: %s run" % (tag, phase))
            res = run_playbook(PLUGIN_VARIANTS[variant][1], box.dir, work / ("%s-%s.log" % (tag, phase)),
                               work / ("%s-%s.json" % (tag, phase)), ("-e", "@%s" % varsfile))
            items = box.requests()
            res["requests"] = summarize(items)
            res["restarts_posted"] = restarts_in(items)
            _, headers = box.jenkins("/api/json?tree=mode")
            res["session_changed"] = headers.get("X-Jenkins-Session") != session
            live, _ = box.jenkins("/pluginManager/api/json?tree=plugins[shortName,active]")
            active = {p["shortName"] for p in live["plugins"] if p.get("active")}
            res["all_active"] = all(p in active for p in row["plugins"])
            res["installed_after"] = len(live["plugins"])
            if not res["all_active"]:
                raise RuntimeError("%s %s: not active afterwards: %s" % (tag, phase, [p for p in row["plugins"] if p not in active]))
            row[phase] = res
            log("%s: %s run %.1fs, changed=%d, restarts=%d" % (tag, phase, res["seconds"], res["changed"], res["restarts_posted"]))
    finally:
        box.down()
        if not keep:
            shutil.rmtree(box.dir, ignore_errors=True)
    return row


# ------------------------------------------------------------------------------------------ extra 2: builds


class PodWatch(threading.Thread):
    """Watches the agent pods with a ServiceAccount token of its own (its requests are left out of the
    counts): pods alive at once (ADDED, not yet DELETED), first creation, last deletion."""

    def __init__(self, box, token):
        super().__init__(daemon=True)
        self.box, self.token = box, token
        self.alive, self.max_alive, self.seen = set(), 0, set()
        self.first_added = self.last_deleted = None
        self.error = None
        self.conn = None
        self._halt = threading.Event()
        self._ready = threading.Event()
        self.selector = urllib.parse.quote("jenkins/label=%s" % LABEL)

    def run(self):
        try:
            base = "/api/v1/namespaces/%s/pods?labelSelector=%s" % (NAMESPACE, self.selector)
            listing = self.box.k8s("GET", base, token=self.token)
            for pod in listing.get("items", []):
                self.alive.add(pod["metadata"]["name"])
            self.max_alive = len(self.alive)
            rv = listing["metadata"]["resourceVersion"]
            host = urllib.parse.urlsplit(self.box.info["api_url"])
            self.conn = http.client.HTTPSConnection(host.hostname, host.port, context=self.box.ctx, timeout=900)
            self.conn.request("GET", base + "&watch=1&resourceVersion=%s&timeoutSeconds=900" % rv,
                              headers={"Authorization": "Bearer " + self.token})
            resp = self.conn.getresponse()
            self._ready.set()
            while not self._halt.is_set():
                line = resp.readline()
                if not line:
                    break
                event = json.loads(line)
                name = event["object"].get("metadata", {}).get("name")
                now = time.time()
                if event["type"] == "ADDED":
                    self.alive.add(name)
                    self.seen.add(name)
                    self.first_added = self.first_added or now
                elif event["type"] == "DELETED":
                    self.alive.discard(name)
                    self.last_deleted = now
                self.max_alive = max(self.max_alive, len(self.alive))
        except Exception as exc:  # reported, not fatal while stopping
            if not self._halt.is_set():
                self.error = repr(exc)
        finally:
            self._ready.set()

    def start(self):
        super().start()
        self._ready.wait(30)
        return self

    def stop(self):
        self._halt.set()
        try:
            if self.conn is not None and self.conn.sock is not None:
                self.conn.sock.shutdown(2)
        except OSError:
            pass
        self.join(10)


def watcher_token(box):
    """A ServiceAccount allowed to view kube-ops (RoleBinding to the bootstrap ClusterRole view), and a token."""
    def create(path, body):
        try:
            box.k8s("POST", path, body)
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # AlreadyExists: a second call on the same sandbox
                raise
    create("/api/v1/namespaces/%s/serviceaccounts" % NAMESPACE, {"metadata": {"name": WATCHER_SA}})
    create("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings" % NAMESPACE, {
        "metadata": {"name": WATCHER_SA},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": WATCHER_SA, "namespace": NAMESPACE}]})
    tok = box.k8s("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (NAMESPACE, WATCHER_SA),
                  {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 7200}})
    return tok["status"]["token"]


def build_rep(rep, work, builds, build_seconds, keep):
    tag = "builds-%d" % rep
    box = Sandbox(work / tag)
    try:
        converge(box, work, tag)
        return build_subjects(box, rep, work, builds, build_seconds, tag)
    finally:
        box.down()
        if not keep:
            shutil.rmtree(box.dir, ignore_errors=True)


def build_subjects(box, rep, work, builds, build_seconds, tag):
    """On a converged sandbox: the job, then ours and the peer (order alternating with rep), then the floor."""
    rows = []
    varsfile = work / ("%s-vars.json" % tag)
    varsfile.write_text(json.dumps({
        "bench_jenkins_url": box.jenkins_url, "bench_jenkins_user": "admin", "bench_jenkins_password": box.password,
        "bench_job": JOB, "bench_label": LABEL, "bench_namespace": NAMESPACE, "bench_builds": builds,
        "bench_kubeconfig": box.info["kubeconfig"], "bench_poll_delay": 2, "bench_build_seconds": build_seconds,
        "bench_parameter_sets": [{"RUN": str(i)} for i in range(builds)]}))
    run_playbook("bench/extras/setup_job.yml", box.dir, work / ("%s-setup.log" % tag), work / ("%s-setup.json" % tag),
                 ("-e", "@%s" % varsfile))
    job, _ = box.jenkins("/job/%s/api/json?tree=concurrentBuild,property[parameterDefinitions[name]]" % JOB)
    if not job.get("concurrentBuild"):
        raise RuntimeError("job %s does not allow concurrent builds" % JOB)
    token = watcher_token(box)
    for subject in (["sets", "ours", "peer"] if rep % 2 == 0 else ["peer", "ours", "sets"]) + ["floor"]:
        before, _ = box.jenkins("/job/%s/api/json?tree=nextBuildNumber" % JOB)
        box.reset()
        watch = PodWatch(box, token).start()
        log("%s: %s, %d builds" % (tag, subject, builds))
        try:
            res = run_playbook(BUILD_SUBJECTS[subject], box.dir, work / ("%s-%s.log" % (tag, subject)),
                               work / ("%s-%s.json" % (tag, subject)), ("-e", "@%s" % varsfile))
        finally:
            left = box.k8s("GET", "/api/v1/namespaces/%s/pods?labelSelector=%s" % (NAMESPACE, watch.selector),
                           token=token)
            watch.stop()
        items = box.requests()
        res["requests"] = summarize(items, ignore_users=(WATCHER_USER,))
        res["pods_left"] = len(left.get("items", []))
        res["pods_created"] = len(watch.seen)
        res["max_pods_alive"] = watch.max_alive
        res["watch_error"] = watch.error
        start = res["start"]
        triggers = sorted(e["time"] for e in items if e.get("component") == "jenkins" and e["method"] == "POST"
                          and e["path"].split("?")[0].rstrip("/").rsplit("/", 1)[-1] in ("build", "buildWithParameters"))
        res["triggers"] = len(triggers)
        res["first_trigger"] = round(triggers[0] - start, 2) if triggers else None
        res["last_trigger"] = round(triggers[-1] - start, 2) if triggers else None
        res["first_pod"] = round(watch.first_added - start, 2) if watch.first_added else None
        res["last_pod_deleted"] = round(watch.last_deleted - start, 2) if watch.last_deleted else None
        after, _ = box.jenkins("/job/%s/api/json?tree=nextBuildNumber" % JOB)
        results = [box.jenkins("/job/%s/%d/api/json?tree=result" % (JOB, n))[0].get("result")
                   for n in range(before["nextBuildNumber"], after["nextBuildNumber"])]
        res["builds_seen"] = len(results)
        res["success"] = results.count("SUCCESS")
        res.update({"subject": subject, "rep": rep, "builds": builds, "build_seconds": build_seconds})
        rows.append(res)
        log("%s: %s %.1fs, max %d pods at once, %d left, first pod %.1fs after start" % (
            tag, subject, res["seconds"], res["max_pods_alive"], res["pods_left"], res["first_pod"] or -1))
    return rows


# ------------------------------------------------------------------------------------------ report


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def fmt_s(x):
    return "%.1f | %.1f | %.1f | %d" % (x["median"], x["min"], x["max"], x["n"]) if x else "– | – | – | 0"


def fmt_req(d):
    return ", ".join("%s %s" % (k, v) for k, v in sorted(d.items())) or "none"


def median_req(runs, part):
    """Median count per method over the runs (methods seen in any run)."""
    keys = sorted({k for r in runs for k in r["requests"].get(part, {})})
    out = {}
    for k in keys:
        m = statistics.median([r["requests"].get(part, {}).get(k, 0) for r in runs])
        out[k] = ("%g" % m)
    return out


def task_medians(runs):
    """Median seconds per task name over the runs, in execution order of the first run."""
    names = []
    for t in runs[0]["tasks"]:
        if t["name"] not in names:
            names.append(t["name"])
    out = []
    for name in names:
        per = [sum(t["seconds"] for t in r["tasks"] if t["name"] == name) for r in runs]
        out.append((name, statistics.median(per)))
    return out


def write_md(out, data):
    meta, prow, brow = data["meta"], data["plugins"], data["builds"]
    L = ["# Benchmark extras (issue 8): plugin set vs plugin tasks, concurrent builds", "",
         "Generated by `.venv/bin/python bench/extras.py --reps %d` on %s UTC (%s); the whole script took "
         "**%.1f min** (%d sandboxes converged with `playbooks/site.yml`, not timed). The machine has %d cores shared "
         "with other work: 1-minute load average %s at the start, %s at the end; treat differences under ~20 %% as "
         "noise." % (meta["reps"], meta["started"], meta["host"], meta.get("seconds", 0) / 60.0, meta.get("sandboxes", 0),
                     os.cpu_count(), meta["load_start"], meta.get("load_end", "?")), ""]
    rerun = meta.get("builds_rerun")
    if rerun:
        L += ["Section 2 was measured again by `.venv/bin/python bench/extras.py --only builds --reps %d` on %s UTC "
              "(%.1f min; load %s at the start, %s at the end; the first repetition overlapped with a unit-test run) "
              "and merged into this file; section 1 is from the run above." % (
                  rerun["reps"], rerun["started"], rerun.get("seconds", 0) / 60.0, rerun["load_start"],
                  rerun.get("load_end", "?")), ""]
    if prow:
        plugins = prow[0]["plugins"]
        L += ["## 1. Ten plugins: one task for the set vs ten tasks", "",
              "Each variant on its own fresh sandbox converged by `playbooks/site.yml` with `controller_plugins` reduced "
              "to %s (the sandbox catalog has 35 plugins and the default converge installs 34, so the default leaves "
              "only one to install); %d plugins were installed before. The %d plugins (not installed, closed under "
              "their dependencies, dependencies first): `%s`. Variants interleaved, order reversed on odd repetitions. "
              "`first` = the run that installs, `again` = the same play once more (nothing to do)." % (
                  " + ".join("`%s`" % p for p in cloud_plugins_only()), prow[0]["installed_before"], len(plugins),
                  "`, `".join(plugins)), "",
              "| variant | run | median s | min | max | n | tasks changed | Jenkins requests (play, median) | restarts |",
              "|---|---|---:|---:|---:|---:|---:|---|---:|"]
        med = {}
        for v in ("set", "each", "peer"):
            runs = [r for r in prow if r["variant"] == v]
            for phase in ("first", "again"):
                ph = [r[phase] for r in runs if phase in r]
                if not ph:
                    continue
                st = stats([p["seconds"] for p in ph])
                med[(v, phase)] = st
                restarts = max(p["restarts_posted"] for p in ph)
                L.append("| %s | %s | %s | %s | %s | %d |" % (
                    PLUGIN_VARIANTS[v][0], phase, fmt_s(st),
                    "/".join(sorted({str(p["changed"]) for p in ph})), fmt_req(median_req(ph, "jenkins")), restarts))
        L.append("| peer: community.general.jenkins_plugin | – | cannot | | | | | | |")
        L += ["", "Restarts: POST `/restart` or `/safeRestart` in the request log (max over the runs); the Jenkins session "
              "id (`X-Jenkins-Session`) was %s. Every run ended with the %d plugins active (checked over the API after "
              "each run)." % ("unchanged after every run" if not any(r[p]["session_changed"] for r in prow for p in ("first", "again") if p in r)
                              else "CHANGED after some run", len(plugins))]

        def ratio(a, b):
            return "%.2f" % (med[a]["median"] / med[b]["median"]) if a in med and b in med and med[b]["median"] else "–"
        L += ["", "Ratios of medians: 10 tasks / 1 task: first run **%s**, again **%s**; ours (1 task) / peer (uri): first "
              "run **%s**, again **%s**." % (ratio(("each", "first"), ("set", "first")), ratio(("each", "again"), ("set", "again")),
                                            ratio(("set", "first"), ("peer", "first")), ratio(("set", "again"), ("peer", "again"))),
              "", "Peer: " + PEER_CANNOT + " The peer row is the `ansible.builtin.uri` play a skilled user writes instead "
              "(`bench/extras/plugins_peer.yml`: read the list, one `installNecessaryPlugins` POST for the missing ones, "
              "poll `/updateCenter` every 2 s, restart only when Jenkins asks)."]
        k8s = sorted({k for r in prow for p in ("first", "again") if p in r for k in r[p]["requests"].get("k8s", {})})
        L += ["", "Kubernetes requests of the play: %s." % (", ".join(k8s) if k8s else "none in any run")]
        L += ["", "Where the time goes (median seconds per task, first run):", "",
              "| variant | task | seconds |", "|---|---|---:|"]
        for v, label in (("set", "1 task"), ("each", "10 tasks"), ("peer", "peer uri")):
            runs = [r["first"] for r in prow if r["variant"] == v and "first" in r]
            if runs:
                for name, sec in task_medians(runs):
                    L.append("| %s | %s | %.2f |" % (label, name, sec))
    if brow:
        builds = brow[0]["builds"]
        cap = yaml.safe_load((REPO / "roles" / "kubernetes_cloud" / "defaults" / "main.yml").read_text()).get(
            "kubernetes_cloud_container_cap")
        L += ["", "## 2. %d concurrent builds end to end" % builds, "",
              "Per repetition one fresh sandbox converged by the default `playbooks/site.yml`; ours and the peer run on it "
              "one after the other (order alternating). The smoke job `haimaxy-jnlp-smoke` cannot be used: it does not "
              "allow concurrent builds (`concurrentBuild` false) and has no parameter, so Jenkins merges triggers that "
              "arrive while one is queued. `bench/extras/setup_job.yml` (not timed) creates `%s` with "
              "`kubeops.jenkins.jenkins_job` (`concurrent: true`, a `RUN` string parameter, label `%s`, a short shell "
              "step). The cloud the site play configures has containerCap %s "
              "(`kubernetes_cloud_container_cap` default), so at most %s agents exist at once (the plugin counts agents, "
              "KubernetesProvisioningLimits); the watch below counts pods until the API server has deleted them, so a pod "
              "whose agent has ended and which is still terminating is counted too, and the figure can exceed the cap "
              "for a moment." % (JOB, LABEL, cap, cap), "",
              "* sets (`bench/extras/builds_ours_sets.yml`): one `kubeops.jenkins.jenkins_build` task with `parameter_sets` "
              "(one `RUN` value per build), `agent_pods`, `require_pod_deleted: true`: every build triggered first, then "
              "all followed together in the one module run;",
              "* ours (`bench/extras/builds_ours.yml`): a loop of %d `kubeops.jenkins.jenkins_build` tasks (parameters "
              "`RUN`, `agent_pods`, `require_pod_deleted: true`) with `async: 900`, `poll: 0`, then `async_status` on each "
              "(delay 2 s), then an assert over the results;" % builds,
              "* peer (`bench/extras/builds_peer.yml`): crumb, %d `uri` POSTs to `buildWithParameters?delay=0sec`, `uri` "
              "on each queue item until it has a build, on each build until it has a result (delay 2 s), assert, "
              "`k8s_info` until no agent pod is left;" % builds,
              "* floor (`bench/extras/builds_floor.yml`): the same async loop + `async_status` with a no-op `command` "
              "instead of `jenkins_build` (what Ansible alone costs to launch and collect %d background tasks here)."
              % builds, "",
              "Each build runs `echo \"run $RUN on $NODE_NAME\"; sleep %d` (`--build-seconds`; with an echo alone a build "
              "ends before the next trigger arrives and no two pods ever overlap)." % brow[0].get("build_seconds", 0), "",
              "Wall time = `ansible-playbook` start to end; the play ends when every build is SUCCESS and every agent pod "
              "is deleted. Pods alive at once: a watch on `jenkins/label=%s` pods in `%s` (its own ServiceAccount, left out "
              "of the request counts). Times after the play start: first/last trigger POST (request log), first agent pod "
              "ADDED, last agent pod DELETED (watch)." % (LABEL, NAMESPACE), "",
              "| subject | median s | min | max | n | SUCCESS | max pods at once | pods created | pods left | first / last trigger s | first pod s (after first trigger) | last pod deleted s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
        bmed = {}
        for subject in ("sets", "ours", "peer"):
            runs = [r for r in brow if r["subject"] == subject]
            if not runs:
                continue
            st = stats([r["seconds"] for r in runs])
            bmed[subject] = st

            def m(key):
                v = [r[key] for r in runs if r.get(key) is not None]
                return statistics.median(v) if v else float("nan")
            lag = statistics.median([r["first_pod"] - r["first_trigger"] for r in runs
                                     if r.get("first_pod") is not None and r.get("first_trigger") is not None] or [float("nan")])
            L.append("| %s | %s | %s | %s | %s | %s | %.1f / %.1f | %.1f (%.1f) | %.1f |" % (
                subject, fmt_s(st), "/".join(sorted({"%d" % r["success"] for r in runs})),
                "/".join(sorted({"%d" % r["max_pods_alive"] for r in runs})),
                "/".join(sorted({"%d" % r["pods_created"] for r in runs})),
                "/".join(sorted({"%d" % r["pods_left"] for r in runs})),
                m("first_trigger"), m("last_trigger"), m("first_pod"), lag, m("last_pod_deleted")))
        floor = stats([r["seconds"] for r in brow if r["subject"] == "floor"])
        if floor:
            L += ["", "Floor (%d async no-op `command` tasks + `async_status`, same sandbox and inventory): %s s "
                  "(median | min | max | n)." % (builds, fmt_s(floor))]
        for subject in ("sets", "ours"):
            if subject in bmed and "peer" in bmed:
                L += ["", "%s/peer (median wall time): **%.2f**%s." % (
                    subject, bmed[subject]["median"] / bmed["peer"]["median"],
                    "; %s/floor: **%.2f**" % (subject, bmed[subject]["median"] / floor["median"]) if floor else "")]
        L += ["", "Requests (median over the runs; play = the play's identities, in-cluster = Jenkins' kubernetes plugin "
              "and the agents):", "", "| subject | Jenkins (play) | Kubernetes (play) | in-cluster |", "|---|---|---|---|"]
        for subject in ("sets", "ours", "peer"):
            runs = [r for r in brow if r["subject"] == subject]
            if runs:
                L.append("| %s | %s | %s | %s |" % (subject, fmt_req(median_req(runs, "jenkins")),
                                                    fmt_req(median_req(runs, "k8s")), fmt_req(median_req(runs, "in_cluster"))))
        L += ["", "Where the time goes (median seconds per task):", "", "| subject | task | seconds |", "|---|---|---:|"]
        for subject in ("sets", "ours", "peer", "floor"):
            runs = [r for r in brow if r["subject"] == subject]
            if runs:
                for name, sec in task_medians(runs):
                    L.append("| %s | %s | %.2f |" % (subject, name, sec))
        errs = [r["watch_error"] for r in brow if r.get("watch_error")]
        if errs:
            L += ["", "Pod watch errors: " + "; ".join(errs)]
    L += ["", "## Per run", "", "| extra | variant | rep | run | seconds | changed | load (1m) before |", "|---|---|---:|---|---:|---:|---:|"]
    for r in prow:
        for phase in ("first", "again"):
            if phase in r:
                L.append("| plugins | %s | %d | %s | %.1f | %d | %.2f |" % (r["variant"], r["rep"], phase, r[phase]["seconds"],
                                                                         r[phase]["changed"], r[phase]["load_before"]))
    for r in brow:
        L.append("| builds | %s | %d | %d builds | %.1f | %d | %.2f |" % (r["subject"], r["rep"], r["builds"], r["seconds"],
                                                                       r["changed"], r["load_before"]))
    if meta.get("errors"):
        L += ["", "## Failed runs", ""] + ["* %s" % e for e in meta["errors"]]
    (out / "extras.md").write_text("\n".join(L) + "\n")


def plot(out, data):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no extras.png (run scripts/setup.sh)")
        return
    series = []
    for v in ("set", "each", "peer"):
        for phase in ("first", "again"):
            vals = [r[phase]["seconds"] for r in data["plugins"] if r["variant"] == v and phase in r]
            if vals:
                series.append(("plugins: %s\n%s" % ({"set": "1 task", "each": "10 tasks", "peer": "peer uri"}[v], phase), vals))
    for subject in ("sets", "ours", "peer", "floor"):
        vals = [r["seconds"] for r in data["builds"] if r["subject"] == subject]
        if vals:
            series.append(("%d builds:\n%s" % (data["builds"][0]["builds"], subject), vals))
    if not series:
        return
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(series)), 4))
    for i, (label, vals) in enumerate(series):
        med = statistics.median(vals)
        color = "#ff7f0e" if "peer" in label else ("#7f7f7f" if "floor" in label else "#1f77b4")
        ax.bar(i, med, color=color, alpha=0.8)
        ax.scatter([i] * len(vals), vals, color="black", s=12, zorder=3)
        ax.text(i, med, "%.1f" % med, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(series)))
    ax.set_xticklabels([s[0] for s in series], fontsize=7)
    ax.set_ylabel("seconds (bar: median, dots: runs)")
    ax.set_title("issue 8 extras on the sandbox (noisy: 2 shared cores)")
    fig.tight_layout()
    fig.savefig(out / "extras.png", dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--builds", type=int, default=20)
    ap.add_argument("--build-seconds", type=int, default=10, help="sleep in the concurrent job's shell step")
    ap.add_argument("--only", choices=["plugins", "builds"])
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--keep", action="store_true", help="keep the sandbox state dirs")
    ap.add_argument("--from-json", help="only rewrite extras.md and extras.png from an extras.json")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        write_md(out, data)
        plot(out, data)
        return 0
    work = Path(tempfile.mkdtemp(prefix="kubeops-extras-"))
    t0 = time.monotonic()
    meta = {"reps": args.reps, "started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "load_start": common.loadavg()[0],
            "host": "%s, Python %s" % (os.uname().nodename, sys.version.split()[0]), "errors": [], "sandboxes": 0}
    data = {"meta": meta, "plugins": [], "builds": []}
    log("work dir %s" % work)
    try:
        for rep in range(args.reps):
            if args.only in (None, "plugins"):
                order = ["set", "each", "peer"] if rep % 2 == 0 else ["peer", "each", "set"]
                for variant in order:
                    meta["sandboxes"] += 1
                    try:
                        data["plugins"].append(plugin_run(variant, rep, work, args.keep))
                    except Exception as exc:  # recorded, the other runs go on
                        log("FAILED: plugins %s rep %d: %s" % (variant, rep, exc))
                        meta["errors"].append(("plugins %s rep %d: %s" % (variant, rep, exc)).replace(str(work), "<work>"))
            if args.only in (None, "builds"):
                meta["sandboxes"] += 1
                try:
                    data["builds"] += build_rep(rep, work, args.builds, args.build_seconds, args.keep)
                except Exception as exc:
                    log("FAILED: builds rep %d: %s" % (rep, exc))
                    meta["errors"].append(("builds rep %d: %s" % (rep, exc)).replace(str(work), "<work>"))
    finally:
        meta["seconds"] = round(time.monotonic() - t0, 1)
        meta["load_end"] = common.loadavg()[0]
        (out / "extras.json").write_text(json.dumps(data, indent=1))
        write_md(out, data)
        plot(out, data)
        log("done in %.1f min: %s (logs in %s)" % (meta["seconds"] / 60.0, out / "extras.md", work))
    return 1 if meta["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
