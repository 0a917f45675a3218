#!/usr/bin/env bash
# What `make demo` runs (after `make setup`): the whole flow on the local sandbox.
#   1. start a sandbox in $KUBEOPS_SANDBOX_DIR (default .sandbox/demo) unless one is running there;
#   2. ansible-playbook -i inventories/sandbox playbooks/site.yml (log: <state dir>/site.log);
#   3. a short summary read back from the sandbox and Jenkins themselves (not from the play):
#      Jenkins URL, admin user, cloud Test Connection, last smoke build, agent pod created/deleted.
# Running it twice is fine: the second converge reports changed=0 and starts no smoke build (nothing
# changed; smoke_build_always=true builds on every run); the summary then shows the last build and
# checks that its agent pod is gone. Stop the sandbox with:
#   .venv/bin/python -m sandbox down --state-dir .sandbox/demo
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
STATE=${KUBEOPS_SANDBOX_DIR:-.sandbox/demo}
export KUBEOPS_SANDBOX_DIR=$STATE
export ANSIBLE_COLLECTIONS_PATH=$PWD/.collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_DEPRECATION_WARNINGS=false
export PATH=$PWD/.venv/bin:$PATH

say() { printf '[demo] %s\n' "$*" >&2; }

if [ ! -x "$PY" ] || [ ! -d .collections/ansible_collections/kubernetes/core ]; then
    say "no .venv/.collections yet: run 'make setup' (or scripts/setup.sh) first"
    exit 1
fi

running=$("$PY" -m sandbox status --state-dir "$STATE" 2>/dev/null \
          | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("running", False))' 2>/dev/null || echo False)
if [ "$running" != "True" ]; then
    say "starting a sandbox in $STATE"
    mkdir -p "$STATE"
    "$PY" -m sandbox up --state-dir "$STATE" >/dev/null
else
    say "reusing the sandbox running in $STATE"
fi

# request-log position before the play: the summary shows what this run did to agent pods
since=$("$PY" - "$STATE" <<'PYEOF'
import json, ssl, subprocess, sys, urllib.request
st = json.loads(subprocess.run([sys.executable, "-m", "sandbox", "status", "--state-dir", sys.argv[1]],
                               capture_output=True, text=True, check=True).stdout)
ctx = ssl.create_default_context(cafile=st["ca_file"])
req = urllib.request.Request(st["admin_url"] + "/requests", headers={"Authorization": "Bearer " + st["admin_token"]})
items = json.load(urllib.request.urlopen(req, context=ctx))["items"]
print(items[-1]["seq"] if items else 0)
PYEOF
)

say "running playbooks/site.yml (log: $STATE/site.log)"
started=$(date +%s)
set +e
ansible-playbook -i inventories/sandbox playbooks/site.yml 2>&1 | tee "$STATE/site.log"
rc=${PIPESTATUS[0]}
set -e
elapsed=$(( $(date +%s) - started ))
if [ "$rc" -ne 0 ]; then
    say "site.yml failed (rc=$rc); see $STATE/site.log"
    exit "$rc"
fi

"$PY" - "$STATE" "$since" "$elapsed" "$started" <<'PYEOF'
import base64, json, re, ssl, subprocess, sys, urllib.request
import jenkins
import requests
from kubernetes import client, config

state, since, elapsed, started = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
st = json.loads(subprocess.run([sys.executable, "-m", "sandbox", "status", "--state-dir", state],
                               capture_output=True, text=True, check=True).stdout)
api = client.ApiClient(config.load_kube_config(config_file=st["kubeconfig"]) or None)
core = client.CoreV1Api()
secret = core.read_namespaced_secret("jenkins-admin", "kube-ops")
user = base64.b64decode(secret.data["jenkins-admin-user"]).decode()
password = base64.b64decode(secret.data["jenkins-admin-password"]).decode()
url = next(p["url"] for s in st["services"] if s["namespace"] == "kube-ops" and s["name"] == "jenkins"
           for p in s["ports"] if p.get("url"))
server = jenkins.Jenkins(url, username=user, password=password, timeout=30)

# Test Connection, as the cloud's button does (form POST, crumb)
req = requests.Request("POST", url + "/descriptorByName/org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud/testConnection",
                       data={"name": "kubernetes", "serverUrl": "", "credentialsId": "", "serverCertificate": "",
                             "skipTlsVerify": "false", "namespace": "kube-ops", "connectTimeout": "5", "readTimeout": "15",
                             "useJenkinsProxy": "false"})
answer = server.jenkins_open(req)
cloud = re.sub(r"<[^>]+>", "", answer).strip()

job = "haimaxy-jnlp-smoke"
last = server.get_job_info(job)["lastCompletedBuild"]["number"]
build = server.get_build_info(job, last)
console = server.get_build_console_output(job, last)
ran_on = re.search(r"Building remotely on (\S+)", console)

ctx = ssl.create_default_context(cafile=st["ca_file"])
r = urllib.request.Request(st["admin_url"] + "/requests?since=%d" % since, headers={"Authorization": "Bearer " + st["admin_token"]})
items = json.load(urllib.request.urlopen(r, context=ctx))["items"]
pod_re = re.compile(r"^/api/v1/namespaces/kube-ops/pods/(haimaxy-jnlp-[a-z0-9]{5})$")
deleted = [pod_re.match(e["path"].split("?")[0]).group(1) for e in items
           if e["method"] == "DELETE" and pod_re.match(e["path"].split("?")[0])]
created = [e for e in items if e["method"] == "POST" and e["path"].split("?")[0] == "/api/v1/namespaces/kube-ops/pods"
           and e["status"] == 201]
left = [p.metadata.name for p in core.list_namespaced_pod("kube-ops", label_selector="jenkins/label=haimaxy-jnlp").items]
recap = open(state + "/site.log").read().split("PLAY RECAP")[-1]
changed = sum(int(x) for x in re.findall(r"changed=(\d+)", recap))

pod = ran_on.group(1) if ran_on else "?"
built_now = build["timestamp"] / 1000.0 >= started
print()
print("kubeops.jenkins demo summary (sandbox %s, site.yml in %ss, changed=%d)" % (state, elapsed, changed))
print("  Jenkins URL     : %s" % url)
print("  admin user      : %s (password in Secret kube-ops/jenkins-admin and %s/jenkins-admin-password)" % (user, state))
print("  cloud test      : %s" % cloud)
if built_now:
    print("  smoke build     : %s #%d %s, ran on agent %s" % (job, last, build["result"], pod))
    print("  agent pod       : %s created (%d pod create(s) this run), %s"
          % (pod, len(created), "deleted" if pod in deleted and pod not in left else "NOT deleted"))
    pod_ok = pod in deleted and pod not in left
else:
    print("  smoke build     : none this run (nothing changed; smoke_build_always=true builds on every run); "
          "last: %s #%d %s, ran on agent %s" % (job, last, build["result"], pod))
    print("  agent pod       : %s %s" % (pod, "gone (deleted after its build)" if pod not in left else "STILL THERE"))
    pod_ok = pod not in left
ok = build["result"] == "SUCCESS" and cloud.startswith("Connected") and pod_ok
sys.exit(0 if ok else 1)
PYEOF
