"""Issue 8 benchmark: kubeops.jenkins (playbooks/site.yml) vs the peer (bench/peer/site.yml) vs the floor.

For each repetition, ours and the peer run interleaved (the order alternates), each on a FRESH
sandbox in its own temporary state dir (always taken down again):

* cold converge: wall time of ansible-playbook on the empty sandbox;
* no-change re-run: wall time of the second ansible-playbook;
* requests to Jenkins and Kubernetes by method, per phase, from the sandbox request log
  (component ``jenkins`` / ``k8s``; the log is reset between phases). Requests made by the
  cluster itself (Jenkins' kubernetes plugin creating the agent pod, the agent connecting) are
  in the log too: they are listed separately as "in-cluster";
* the floor (after ours' re-run, same sandbox and inventory): ansible-playbook with as many
  ``ansible.builtin.debug`` tasks per host as ours' re-run executed.

Per-task wall times come from bench/callback_plugins/bench_timer.py (enabled for every run).
Writes bench/results/results.md, results.json and converge.png.

    .venv/bin/python bench/run_bench.py [--reps 3] [--keep]
"""
import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from common import BENCH, PLAY_USERS, PLAYBOOK_BIN, PY, REPO, Sandbox, loadavg, play, recap

SUBJECTS = {"ours": "playbooks/site.yml", "peer": "bench/peer/site.yml"}


def log(msg):
    common.log("bench", msg)


def summarize_requests(items):
    """{"jenkins": {"GET": n, ...}, "k8s": {...}, "in_cluster": {...}, "k8s_reads_per_object": x}"""
    out = {"jenkins": {}, "k8s": {}, "in_cluster": {}}
    reads = {}
    for e in items:
        comp = e.get("component") or "?"
        key = "in_cluster" if (e.get("user") or "") not in PLAY_USERS else comp
        if key not in out:
            out[key] = {}
        label = e["method"] if key != "in_cluster" else "%s %s" % (comp, e["method"])
        out[key][label] = out[key].get(label, 0) + 1
        if key in ("k8s", "jenkins") and e["method"] != "GET":
            out.setdefault("mutating", []).append("%s %s %s" % (comp, e["method"], e["path"].split("?")[0]))
        if key == "k8s" and e["method"] == "GET":
            obj = e["path"].split("?")[0]
            reads[obj] = reads.get(obj, 0) + 1
    out["k8s_get_paths"] = len(reads)
    out["k8s_max_reads_one_path"] = max(reads.values()) if reads else 0
    out["k8s_most_read"] = sorted(reads.items(), key=lambda kv: -kv[1])[:5]
    return out


def run_playbook(playbook, state_dir, logfile, timer_file, extra=()):
    stdout, seconds, load, tasks, _ = play(playbook, state_dir, logfile, timer_file, extra)
    return {"seconds": seconds, "recap": recap(stdout), "load_before": load, "tasks": tasks}


def render_manifests(work, password):
    """The manifests our controller role renders (tasks_from: render), for the peer to apply."""
    pb = work / "render.yml"
    pb.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                  "    - ansible.builtin.include_role:\n        name: kubeops.jenkins.controller\n"
                  "        tasks_from: render\n")
    out = work / "render"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    # the values inventories/sandbox sets or the role finds on the cluster (hostPath node: the
    # sandbox's first worker, which the role picks on a fresh sandbox as well)
    subprocess.run([PLAYBOOK_BIN, "-i", "localhost,", "-c", "local", str(pb),
                    "-e", "ansible_python_interpreter=" + PY, "-e", "controller_render_dir=" + str(out),
                    "-e", "controller_admin_password=" + password, "-e", "controller_service_type=NodePort",
                    "-e", "controller_storage_hostpath_node=node1"],
                   cwd=REPO, env=env, check=True, capture_output=True, text=True)
    return out / "manifests.yaml"


def floor_playbook(work, ours_recap):
    """As many debug tasks per host as ours' re-run executed: the master play + the node play."""
    def n(h):
        return ours_recap[h]["ok"] + ours_recap[h]["changed"] + ours_recap[h]["skipped"] + ours_recap[h]["failed"]
    nodes = sorted(h for h in ours_recap if h != "master")
    per_node = n(nodes[0]) if nodes else 0
    master_only = n("master") - per_node
    lines = ["---"]
    for hosts, count in (("kube_master[0]", master_only), ("kube_nodes", per_node)):
        lines += ["- name: Floor on %s" % hosts, "  hosts: %s" % hosts, "  gather_facts: false", "  tasks:"]
        for i in range(count):
            lines += ["    - name: No-op %d" % i, "      ansible.builtin.debug:", "        msg: noop", "        verbosity: 0"]
    pb = work / "floor.yml"
    pb.write_text("\n".join(lines) + "\n")
    return pb, master_only + per_node * len(nodes)


def one(subject, rep, work, manifests, password, keep):
    state = work / ("%s-%d" % (subject, rep))
    box = Sandbox(state)
    res = {"subject": subject, "rep": rep}
    extra = ()
    if subject == "peer":
        extra = ("-e", "peer_manifests=%s" % manifests, "-e", "peer_admin_password=%s" % password)

    def phase(name, more=()):
        """One run of the subject's play, with the requests it sent (the log is reset after it)."""
        res[name] = run_playbook(SUBJECTS[subject], state, work / ("%s-%d-%s.log" % (subject, rep, name)),
                                 work / ("%s-%d-%s.json" % (subject, rep, name)), extra + more)
        res[name]["requests"] = summarize_requests(box.requests())
        box.reset()

    try:
        box.up()
        box.reset()
        log("%s rep %d: cold converge" % (subject, rep))
        phase("cold")
        log("%s rep %d: no-change re-run (cold took %.1fs)" % (subject, rep, res["cold"]["seconds"]))
        phase("warm")
        if subject == "ours":
            pb, count = floor_playbook(work, res["warm"]["recap"])
            log("ours rep %d: floor (%d no-op task runs; re-run took %.1fs)" % (rep, count, res["warm"]["seconds"]))
            res["floor"] = run_playbook(pb, state, work / ("floor-%d.log" % rep), work / ("floor-%d.json" % rep))
            res["floor"]["task_runs"] = count
        else:
            # the same no-change re-run once more, with the build gated on a change as ours does
            log("peer rep %d: re-run took %.1fs; re-run with peer_build_when=on_change" % (rep, res["warm"]["seconds"]))
            phase("warm_on_change", ("-e", "peer_build_when=on_change"))
    finally:
        box.down()
        if not keep:
            shutil.rmtree(state, ignore_errors=True)
    return res


def kubeconfig_nodes(work, reps, nodes, out):
    """Extra: the kubeconfig play (ours: playbooks/kubeconfig.yml, peer: bench/peer/kubeconfig.yml) to
    `nodes` sandbox worker nodes (+ the master), cold and re-run, one fresh sandbox per subject and rep."""
    rows = []
    plays = {"ours": "playbooks/kubeconfig.yml", "peer": "bench/peer/kubeconfig.yml"}
    for rep in range(reps):
        for subject in (["ours", "peer"] if rep % 2 == 0 else ["peer", "ours"]):
            state = work / ("nodes-%s-%d" % (subject, rep))
            box = Sandbox(state)
            try:
                box.dir.mkdir(parents=True, exist_ok=True)
                info = subprocess.run([PY, "-m", "sandbox", "up", "--state-dir", str(state), "--nodes", str(nodes),
                                       "--no-controllers"], cwd=REPO, capture_output=True, text=True, check=True).stdout
                box.info = json.loads(info)
                row = {"subject": subject, "rep": rep}
                for phase in ("cold", "warm"):
                    log("%d nodes: %s rep %d %s" % (nodes, subject, rep, phase))
                    r = run_playbook(plays[subject], state, work / ("nodes-%s-%d-%s.log" % (subject, rep, phase)),
                                     work / ("nodes-%s-%d-%s.json" % (subject, rep, phase)))
                    row[phase] = r["seconds"]
                    row[phase + "_changed"] = sum(h["changed"] for h in r["recap"].values())
                    row[phase + "_hosts"] = len(r["recap"])
                    row[phase + "_load"] = r["load_before"][0]
                rows.append(row)
            finally:
                box.down()
                shutil.rmtree(state, ignore_errors=True)
    (out / "kubeconfig_nodes.json").write_text(json.dumps(rows, indent=1))
    L = ["# Extra: kubeconfig to %d sandbox nodes" % nodes, "",
         "Generated by `.venv/bin/python bench/run_bench.py --nodes-extra %d --reps %d` on %s UTC. Ours: "
         "`playbooks/kubeconfig.yml` (role kubeconfig: validates the master's kubeconfig, asks the server for its "
         "version, copies with checksum comparison); peer: `bench/peer/kubeconfig.yml` (slurp + file + copy). "
         "Default forks (5). Noisy: 2 shared cores." % (nodes, reps, time.strftime("%Y-%m-%d %H:%M", time.gmtime())), "",
         "| subject | phase | median s | min | max | n | changed (last run) | hosts |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for subject in ("ours", "peer"):
        for phase in ("cold", "warm"):
            v = [r[phase] for r in rows if r["subject"] == subject]
            if v:
                last = [r for r in rows if r["subject"] == subject][-1]
                L.append("| %s | %s | %.1f | %.1f | %.1f | %d | %d | %d |" % (subject, "re-run" if phase == "warm" else phase,
                         statistics.median(v), min(v), max(v), len(v), last[phase + "_changed"], last[phase + "_hosts"]))
    med = {(s_, p): statistics.median([r[p] for r in rows if r["subject"] == s_]) for s_ in ("ours", "peer")
           for p in ("cold", "warm") if any(r["subject"] == s_ for r in rows)}
    if ("ours", "cold") in med and ("peer", "cold") in med:
        L += ["", "ours/peer (median): cold %.2f, re-run %.2f." % (med[("ours", "cold")] / med[("peer", "cold")],
                                                                 med[("ours", "warm")] / med[("peer", "warm")])]
    L += ["", "Load average (1m) before each run: " + ", ".join("%s/%d %.2f/%.2f" % (r["subject"], r["rep"], r["cold_load"], r["warm_load"]) for r in rows)]
    (out / "kubeconfig_nodes.md").write_text("\n".join(L) + "\n")


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def task_profile(runs, phase, top=12):
    """Median (over reps) seconds per task (keyed by path + name, summed when a task runs more than once)."""
    per = {}
    for r in runs:
        sums = {}
        for t in r[phase]["tasks"]:
            key = (t["path"].replace(str(REPO) + "/", ""), t["name"], t["action"])
            sums[key] = sums.get(key, 0.0) + t["seconds"]
        for k, v in sums.items():
            per.setdefault(k, []).append(v)
    rows = sorted(((statistics.median(v), k) for k, v in per.items()), reverse=True)
    total = statistics.median(sum(t["seconds"] for t in r[phase]["tasks"]) for r in runs) if runs else 0
    return rows[:top], total, len(per)


def by_action(runs, phase):
    """{action: (median task count, median seconds)} over the repetitions."""
    per = {}
    for r in runs:
        acc = {}
        for t in r[phase]["tasks"]:
            n, sec = acc.get(t["action"], (0, 0.0))
            acc[t["action"]] = (n + 1, sec + t["seconds"])
        for a, v in acc.items():
            per.setdefault(a, []).append(v)
    return {a: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for a, v in per.items()}


def fmt_req(d):
    return ", ".join("%s %d" % (k, v) for k, v in sorted(d.items())) or "none"


def write_results(out, results, meta):
    ours = [r for r in results if r["subject"] == "ours"]
    peer = [r for r in results if r["subject"] == "peer"]
    s = {
        ("ours", "cold"): stats([r["cold"]["seconds"] for r in ours]),
        ("peer", "cold"): stats([r["cold"]["seconds"] for r in peer]),
        ("ours", "warm"): stats([r["warm"]["seconds"] for r in ours]),
        ("peer", "warm"): stats([r["warm"]["seconds"] for r in peer]),
        ("floor", "warm"): stats([r["floor"]["seconds"] for r in ours]),
        ("peer", "warm_on_change"): stats([r["warm_on_change"]["seconds"] for r in peer if "warm_on_change" in r]),
    }
    L = ["# Benchmark results (issue 8)", "",
         "Generated by `.venv/bin/python bench/run_bench.py --reps %d` on %s UTC (%s). Each repetition: ours and the "
         "peer interleaved (order alternating), each on a fresh sandbox. **The machine has %d cores, which the "
         "sandbox, Jenkins' stand-in and ansible-playbook share, and nothing keeps other work off it: the figures "
         "are noisy** (the 1-minute load average before each run is in the per-run table below)." % (meta["reps"], meta["started"], meta["host"], os.cpu_count()), ""]
    L += ["## Times (seconds, wall clock of ansible-playbook)", "",
          "| phase | subject | median | min | max | n | ours/peer (median) | ours/floor (median) |",
          "|---|---|---:|---:|---:|---:|---:|---:|"]

    def row(phase, subj, label, ratio_peer="", ratio_floor=""):
        x = s.get((subj, phase))
        if not x:
            L.append("| %s | %s | – | – | – | 0 | | |" % (label, subj))
            return
        L.append("| %s | %s | %.1f | %.1f | %.1f | %d | %s | %s |" % (label, subj, x["median"], x["min"], x["max"], x["n"],
                                                                        ratio_peer, ratio_floor))

    def ratio(a, b):
        return "%.2f" % (a["median"] / b["median"]) if a and b else "–"

    row("cold", "ours", "cold converge", ratio(s[("ours", "cold")], s[("peer", "cold")]))
    row("cold", "peer", "cold converge")
    row("warm", "ours", "no-change re-run", ratio(s[("ours", "warm")], s[("peer", "warm")]),
        ratio(s[("ours", "warm")], s[("floor", "warm")]))
    row("warm", "peer", "no-change re-run")
    row("warm_on_change", "peer", "no-change re-run, peer building only after a change",
        ratio(s[("ours", "warm")], s[("peer", "warm_on_change")]))
    row("warm", "floor", "floor (no-op tasks)")
    if ours and "floor" in ours[0]:
        L += ["", "Floor: %d debug task runs (as many task runs per host as ours' re-run executed, on the same "
              "inventory)." % ours[0]["floor"]["task_runs"]]

    L += ["", "## Requests per phase (from the sandbox request log; median over repetitions where they differ)", "",
          "Play = requests made by the play (Kubernetes user `kubernetes-admin`; Jenkins user `admin` and anonymous "
          "`/login` probes). In-cluster = what the cluster did in consequence (Jenkins' kubernetes plugin creating and "
          "deleting the agent pod, the agent connecting). Mutating = POST/PUT/PATCH/DELETE sent by the play.", "",
          "| subject | phase | Jenkins (play) | Kubernetes (play) | mutating (play) | k8s GET paths / max GETs of one path | in-cluster |",
          "|---|---|---|---|---:|---|---|"]
    for subj, runs in (("ours", ours), ("peer", peer)):
        for phase in ("cold", "warm", "warm_on_change"):
            if not runs or phase not in runs[len(runs) // 2]:
                continue
            r = runs[len(runs) // 2][phase]["requests"]  # one representative run (the middle one)
            muts = sum(v for part in ("jenkins", "k8s") for k, v in r[part].items() if k != "GET")
            L.append("| %s | %s | %s | %s | %d | %d / %d | %s |" % (
                subj, phase, fmt_req(r["jenkins"]), fmt_req(r["k8s"]), muts, r["k8s_get_paths"],
                r["k8s_max_reads_one_path"], fmt_req(r["in_cluster"])))
    L += ["", "Most-read Kubernetes paths in ours' no-change re-run (path: GETs): " + (
        ", ".join("`%s`: %d" % tuple(kv) for kv in ours[len(ours) // 2]["warm"]["requests"]["k8s_most_read"]) if ours else "–")]
    for subj, runs in (("ours", ours), ("peer", peer)):
        if runs and "mutating" in runs[len(runs) // 2]["warm"]["requests"]:
            muts = runs[len(runs) // 2]["warm"]["requests"]["mutating"]
            counted = {}
            for m in muts:
                counted[m] = counted.get(m, 0) + 1
            L += ["", "Non-GET requests of %s' no-change re-run: " % subj + ", ".join(
                "`%s`%s" % (m, " ×%d" % n if n > 1 else "") for m, n in sorted(counted.items()))]
    L += ["", "Test Connection is a POST (read-only: it lists pods) for both. Ours starts no smoke build in a "
          "no-change re-run (smoke_build_always: false: the build runs when the job, the cloud or the controller "
          "changed, or no build succeeded yet); the peer builds on every run, as a verification, and in the phase "
          "warm_on_change (peer_build_when=on_change) only when its apply, kubeconfig copy, cloud write or job task "
          "reported a change, as ours. See bench/README.md."]

    for subj, runs in (("ours", ours), ("peer", peer)):
        if not runs:
            continue
        rows, total, n = task_profile(runs, "warm")
        L += ["", "## Where %s' no-change re-run spends its time (median per task, %d distinct tasks, sum %.1fs)" % (subj, n, total),
              "", "| seconds | share | task | action | file |", "|---:|---:|---|---|---|"]
        for sec, (path, name, action) in rows:
            L.append("| %.2f | %.0f%% | %s | %s | %s |" % (sec, 100 * sec / total if total else 0, name.replace("|", "/"),
                                                          action, path))
    L += ["", "## By module in the no-change re-run (median over repetitions: task count, seconds, seconds per task)", "",
          "| action | ours: tasks | ours: s | ours: s/task | peer: tasks | peer: s | peer: s/task |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    by = {subj: by_action(runs, "warm") for subj, runs in (("ours", ours), ("peer", peer))}
    actions = sorted(set(by["ours"]) | set(by["peer"]), key=lambda a: -(by["ours"].get(a, (0, 0))[1] + by["peer"].get(a, (0, 0))[1]))
    for a in actions:
        cells = []
        for subj in ("ours", "peer"):
            n, sec = by[subj].get(a, (0, 0.0))
            cells += ["%d" % n, "%.2f" % sec, "%.2f" % (sec / n) if n else "–"]
        L.append("| %s | %s |" % (a, " | ".join(cells)))
    if ours and "floor" in ours[0]:
        fl = [r["floor"]["seconds"] / r["floor"]["task_runs"] for r in ours]
        L += ["", "Floor: %.3f s per no-op task run (median, wall time / task runs, including start-up)." % statistics.median(fl)]
    L += ["", "## Per run", "", "| rep | subject | cold s | re-run s | re-run s, peer building only after a change | floor s | "
          "changed in re-run | load avg (1m) before cold / re-run |",
          "|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        ch = sum(h["changed"] for h in r["warm"]["recap"].values())
        L.append("| %d | %s | %.1f | %.1f | %s | %s | %d | %.2f / %.2f |" % (
            r["rep"], r["subject"], r["cold"]["seconds"], r["warm"]["seconds"],
            "%.1f" % r["warm_on_change"]["seconds"] if "warm_on_change" in r else "",
            "%.1f" % r["floor"]["seconds"] if "floor" in r else "", ch, r["cold"]["load_before"][0], r["warm"]["load_before"][0]))
    L += ["", "Load average at start / end of the whole benchmark: %s / %s." % (meta["load_start"], meta["load_end"])]
    if meta.get("errors"):
        L += ["", "## Failed runs", ""] + ["* %s" % e for e in meta["errors"]]
    (out / "results.md").write_text("\n".join(L) + "\n")
    return s


def plot(out, results):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no converge.png (run scripts/setup.sh)")
        return
    series = [("ours", "cold"), ("peer", "cold"), ("ours", "warm"), ("peer", "warm"), ("peer", "warm_on_change"),
              ("ours", "floor")]
    labels = ["ours\ncold", "peer\ncold", "ours\nre-run", "peer\nre-run", "peer re-run,\nbuild on change",
              "floor\n(no-op tasks)"]
    colors = ["#1f77b4", "#ff7f0e", "#1f77b4", "#ff7f0e", "#ffbb78", "#7f7f7f"]
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, (subj, phase) in enumerate(series):
        vals = [r[phase]["seconds"] for r in results if r["subject"] == subj and phase in r]
        if not vals:
            continue
        med = statistics.median(vals)
        ax.bar(i, med, color=colors[i], alpha=0.8)
        ax.scatter([i] * len(vals), vals, color="black", s=12, zorder=3)
        ax.text(i, med, "%.1f" % med, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_ylabel("seconds (bar: median, dots: runs)")
    ax.set_title("kubeops.jenkins vs peer play on the sandbox (noisy: 2 cores, shared)")
    fig.tight_layout()
    fig.savefig(out / "converge.png", dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--only", choices=["ours", "peer"], help="run one subject only (debugging)")
    ap.add_argument("--keep", action="store_true", help="keep the sandbox state dirs (the logs stay in the temp dir)")
    ap.add_argument("--nodes-extra", type=int, metavar="N",
                    help="instead of the main benchmark: the kubeconfig play to N sandbox nodes (kubeconfig_nodes.md)")
    ap.add_argument("--from-json", help="only rewrite results.md and converge.png from a results.json")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        write_results(out, data["results"], data["meta"])
        plot(out, data["results"])
        return 0
    work = Path(tempfile.mkdtemp(prefix="kubeops-bench-", dir="/tmp"))
    if args.nodes_extra:
        kubeconfig_nodes(work, args.reps, args.nodes_extra, out)
        return 0
    meta = {"reps": args.reps, "started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "host": "%s, Python %s" % (os.uname().nodename, sys.version.split()[0]), "load_start": loadavg(),
            "errors": [], "work": str(work)}
    log("work dir %s" % work)
    password = secrets.token_urlsafe(18)
    manifests = render_manifests(work, password)
    results = []
    try:
        for rep in range(args.reps):
            order = ["ours", "peer"] if rep % 2 == 0 else ["peer", "ours"]
            for subject in order:
                if args.only and subject != args.only:
                    continue
                try:
                    results.append(one(subject, rep, work, manifests, password, args.keep))
                except Exception as exc:  # recorded in results.md, the other runs go on
                    log("FAILED: %s rep %d: %s" % (subject, rep, exc))
                    meta["errors"].append("%s rep %d: %s" % (subject, rep, exc))
    finally:
        meta["load_end"] = loadavg()
        (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
        write_results(out, results, meta)
        plot(out, results)
        log("results in %s (logs in %s)" % (out, work))
    return 1 if meta["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
