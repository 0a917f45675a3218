"""KubernetesCloud at run time: provisioning, launching, retention (sandbox emulation).

Sources (jenkinsci/kubernetes-plugin a82d78a0, src/main/java/org/csanchez/jenkins/plugins/kubernetes/):
* KubernetesCloud#canProvision / #provision / #getTemplatesFor, PodTemplateUtils#getTemplateByLabel
* KubernetesProvisioningLimits (in-memory counts per cloud and per template id, initialised from
  the existing KubernetesSlave nodes, released by NodeListenerImpl#onDeleted) — the current plugin
  does *not* count pods in the namespace any more.
* KubernetesSlave (name, description, labels, mode, 1 executor, #_terminate, #deleteSlavePod,
  #createLauncher "Agent … is provisioned from template …" + pod YAML with the secret masked)
* KubernetesLauncher#launch: build pod, GET it, create it ("Created Pod: <cloud> <ns>/<pod>"),
  waitUntilReady(slaveConnectTimeout), then poll once a second for the agent to come online
  ("Waiting for agent to connect (n/max): pod" every 30 s), terminal pod phases / terminated
  containers fail fast, timeout "Agent is not connected after N seconds, status: <phase>";
  any failure: WARNING "Error in provisioning; agent=…, template=…" in the Jenkins log, node
  terminated (pod deleted per retention), the queue item keeps waiting (freestyle: no runUrl
  annotation, so PodUtils#cancelQueueItemFor finds nothing) and the cloud is asked again.
* Retention: idleMinutes == 0 -> OnceRetentionStrategy (terminate after the one build);
  idleMinutes > 0 -> CloudRetentionStrategy(idleMinutes).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback

from sandbox.jenkins.extension import Node

from . import model, podbuilder
from .kubeclient import KubernetesClient, KubernetesClientException
from .naming import slave_name
from .unwrap import unwrap

LOG = logging.getLogger("org.csanchez.jenkins.plugins.kubernetes")
REPORT_INTERVAL = 30.0       # KubernetesLauncher#REPORT_INTERVAL (ms 30000)
POLL_INTERVAL = 1.0          # Thread.sleep(1000)


def jenkins_log(jenkins, level, logger, message):
    """Write a record to the controller's system log (GET /log/all) if the core offers one."""
    getattr(logging.getLogger(logger), level.lower() if level != "SEVERE" else "error")(message)
    fn = getattr(jenkins, "log", None)      # JenkinsInstance#log("LEVEL\tlogger: message")
    if callable(fn):
        try:
            fn(f"{level}\t{logger}: {message}")
        except Exception:  # pragma: no cover - logging must never break provisioning
            LOG.debug("system log write failed", exc_info=True)


def in_cluster_of(jenkins):
    """The controller pod's in-cluster context, set by the jenkins/jenkins runtime."""
    return getattr(jenkins, "kubernetes_in_cluster", None)


def lookup_token_credential(jenkins, credentials_id):
    """Secret-text / token credential by id from the core's credential store, if any."""
    cred = None
    if callable(getattr(jenkins, "get_credentials", None)):
        cred = jenkins.get_credentials(credentials_id)
    if cred is None:
        return None
    if isinstance(cred, dict):
        return cred.get("secret") or cred.get("token") or cred.get("password")
    return getattr(cred, "secret", None) or getattr(cred, "token", None)


def connect(cloud, jenkins, *, server_url=None, namespace=None, credentials_id=None,
            server_certificate=None, skip_tls_verify=None, connect_timeout=None, read_timeout=None,
            use_cloud=True):
    """KubernetesCloud#connect / KubernetesFactoryAdapter#createClient."""
    if use_cloud:
        server_url = cloud.get("serverUrl")
        namespace = cloud.get("namespace")
        credentials_id = cloud.get("credentialsId")
        server_certificate = cloud.get("serverCertificate")
        skip_tls_verify = cloud.get("skipTlsVerify")
        connect_timeout = cloud.get("connectTimeout")
        read_timeout = cloud.get("readTimeout")
    token = None
    if credentials_id:
        token = lookup_token_credential(jenkins, credentials_id)
        if token is None:
            raise KubernetesClientException(
                f"No credentials found with id {credentials_id}", cause=None)
    return KubernetesClient(in_cluster_of(jenkins), server_url=server_url,
                            server_certificate=server_certificate, skip_tls_verify=bool(skip_tls_verify),
                            namespace=namespace, token=token, connect_timeout=connect_timeout,
                            read_timeout=read_timeout)


# ---------------------------------------------------------------------------------------------


class ProvisioningLimits:
    """KubernetesProvisioningLimits (one per Jenkins instance)."""

    def __init__(self, jenkins):
        self._lock = threading.Lock()
        self.cloud_counts = {}
        self.template_counts = {}
        for node in list(getattr(jenkins, "nodes", {}).values() if isinstance(getattr(jenkins, "nodes", None), dict)
                         else getattr(jenkins, "nodes", None) or []):
            if isinstance(node, KubernetesSlave):
                self.cloud_counts[node.cloud_name] = self.cloud_counts.get(node.cloud_name, 0) + 1
                self.template_counts[node.template.id] = self.template_counts.get(node.template.id, 0) + 1

    def register(self, cloud, template, n=1):
        with self._lock:
            g = self.cloud_counts.get(cloud.name, 0) + n
            if g > cloud.get("containerCap"):
                LOG.debug("%s global limit reached", cloud.name)
                return False
            t = self.template_counts.get(template.id, 0) + n
            if t > template.get("instanceCap"):
                LOG.debug("%s template limit reached", template.name)
                return False
            self.cloud_counts[cloud.name] = g
            self.template_counts[template.id] = t
            return True

    def unregister(self, cloud_name, template_id, n=1):
        with self._lock:
            self.cloud_counts[cloud_name] = max(0, self.cloud_counts.get(cloud_name, 0) - n)
            self.template_counts[template_id] = max(0, self.template_counts.get(template_id, 0) - n)


def _limits(jenkins):
    lim = getattr(jenkins, "_kubernetes_provisioning_limits", None)
    if lim is None:
        lim = ProvisioningLimits(jenkins)
        try:
            setattr(jenkins, "_kubernetes_provisioning_limits", lim)
        except AttributeError:  # pragma: no cover
            pass
    return lim


# ---------------------------------------------------------------------------------------------


class KubernetesCloudRuntime(model.KubernetesCloud):
    """The configured cloud as the core sees it (extension ``Cloud`` protocol)."""

    def _init(self, name=None):
        super()._init(name=name)
        self._disposed = False

    # -- hudson.slaves.Cloud ------------------------------------------------------------------
    def templates_for(self, label):
        """KubernetesCloud#getTemplatesFor (PodTemplateUtils#getTemplateByLabel per template)."""
        out = []
        for t in self.templates:
            if label is None or label.expression is None:
                if t.get_nodeUsageMode() == "NORMAL":
                    out.append(t)
            elif label.matches(t.label_atoms):
                out.append(t)
        return out

    def can_provision(self, label):
        return bool(self.templates_for(label))

    def provision(self, label, jenkins, excess_workload=1):
        limits = _limits(jenkins)
        nodes = []
        to_provision = max(0, int(excess_workload))
        for template in self.templates_for(label):
            while to_provision > 0 and limits.register(self, template, 1):
                # PlannedNodeBuilder gets getUnwrappedTemplate(podTemplate) (inheritFrom resolved)
                node = KubernetesSlave(self, unwrap(template, self.templates), jenkins, label)
                node.provisioned_by = self.name
                jenkins.add_node(node)
                nodes.append(node)
                to_provision -= 1
                node.start_launch()
            if nodes:
                return nodes
        return nodes

    def export(self):
        from .casc import export_cloud
        return export_cloud(self)

    def dispose(self):
        self._disposed = True

    def connect(self, jenkins):
        return connect(self, jenkins)


class KubernetesSlave(Node):
    node_class = "org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave"
    computer_class = "org.csanchez.jenkins.plugins.kubernetes.KubernetesComputer"
    jnlp_agent = True            # KubernetesLauncher extends JNLPLauncher
    launch_supported = False     # KubernetesLauncher#isLaunchSupported once launched
    manual_launch_allowed = False

    def __init__(self, cloud, template, jenkins, label=None):
        name = slave_name(template.name)
        agent = next((c for c in template.get("containers")
                      if c.get("name") == (template.get("agentContainer") or podbuilder.JNLP_NAME)), None)
        remote_fs = (agent.get("workingDir") if agent is not None else None) or model.DEFAULT_WORKING_DIR
        # KubernetesSlave.Builder#build: nodeDescription = template name, labels = template label
        super().__init__(name, labels=template.label or "", num_executors=1,
                         description=template.name or "", mode=template.get_nodeUsageMode(),
                         remote_fs=remote_fs)
        self._cloud = cloud
        self.cloud_name = cloud.name
        self._gen = getattr(jenkins, "_generation", None)
        self.template = template
        self.namespace = None
        self.pod = None
        self.launched = False
        self.terminated = False
        self._jenkins = jenkins
        self._builds_done = 0
        self._executables = set()
        self._term_lock = threading.Lock()

    @property
    def cloud(self):
        """KubernetesSlave#getKubernetesCloud: the cloud *by name* (a JCasC reload replaces the
        objects), else the one that provisioned us."""
        for _sym, c in list(getattr(getattr(self._jenkins, "config", None), "clouds", []) or []):
            if getattr(c, "name", None) == self.cloud_name and isinstance(c, KubernetesCloudRuntime):
                return c
        return self._cloud

    def _jvm_gone(self):
        """The controller instance that created this node stopped or restarted."""
        return getattr(self._jenkins, "_generation", None) != self._gen

    # -- hooks -----------------------------------------------------------------------------------
    def export_extra(self):
        return {}

    def on_build_start(self, build):
        key = (getattr(build, "job_name", ""), getattr(build, "number", 0))
        if key in self._executables:
            return
        self._executables.add(key)
        build.log(f"Agent {self.name} is provisioned from template {self.template.name}")
        if self.pod is not None and self.template.get_showRawYaml():
            text = podbuilder.pod_as_yaml(self.pod)
            build.log(podbuilder.mask_secret(text, self._jenkins.jnlp_mac(self.name)).rstrip("\n"))

    def task_completed(self, build):
        if self.template.get("idleMinutes") == 0:
            # OnceRetentionStrategy#taskCompleted -> done: setAcceptingTasks(false) before the executor is
            # released, so a queued build never lands on this agent while it is being terminated
            self.accepting_tasks = False

    def on_build_complete(self, build):
        self._builds_done += 1
        if self.template.get("idleMinutes") == 0:
            # OnceRetentionStrategy#done: stop accepting tasks, terminate on another thread
            threading.Thread(target=self.terminate, name=f"terminate {self.name}", daemon=True).start()
        else:
            self._start_idle_watch()

    # -- launch (KubernetesLauncher#launch) ------------------------------------------------------
    def start_launch(self):
        threading.Thread(target=self._launch, name=f"KubernetesLauncher {self.name}", daemon=True).start()

    def _jenkins_url(self):
        j = self._jenkins
        root = getattr(j, "root_url", None)
        root = root() if callable(root) else root
        return self.cloud.jenkins_url_or_null(root_url=root, env=getattr(j, "env", None) or {})

    def _launch(self):
        jenkins = self._jenkins
        template = self.template
        cloud = self.cloud
        status = None
        try:
            client = cloud.connect(jenkins)
            pod = podbuilder.build_pod(template, cloud, self.name, jenkins.jnlp_mac(self.name),
                                       self._jenkins_url())
            self.pod = pod
            namespace = next((s for s in (pod["metadata"].get("namespace"), template.get("namespace"),
                                          client.namespace) if s and str(s).strip()), None)
            pod["metadata"]["namespace"] = namespace
            self.namespace = namespace
            existing = client.get_pod(namespace, self.name)
            if existing is None:
                try:
                    created = client.create_pod(namespace, pod)
                except KubernetesClientException as exc:
                    if 400 <= exc.code < 500 and not (exc.code == 403 and "is forbidden: exceeded quota" in exc.message) \
                            and not (exc.code == 409 and "Operation cannot be fulfilled on resourcequotas" in exc.message):
                        # to the run listener (none for freestyle) + PodUtils#cancelQueueItemFor: needs
                        # the runUrl annotation, which only pipeline pods carry -> nothing cancelled.
                        pass
                    raise
                jenkins_log(jenkins, "INFO", "org.csanchez.jenkins.plugins.kubernetes.KubernetesLauncher",
                            f"Created Pod: {cloud.name} {namespace}/{self.name}")
                self.log(f"Created Pod: {cloud.name} {namespace}/{self.name}")
                # KubernetesSlave#assignPod got the *built* pod (what #createLauncher prints)
            else:
                self.log(f"Pod already exists: {cloud.name} {namespace}/{self.name}")
            timeout = template.get_slaveConnectTimeout()
            self._wait_until_ready(client, namespace, timeout)
            jenkins_log(jenkins, "INFO", "org.csanchez.jenkins.plugins.kubernetes.KubernetesLauncher",
                        f"Pod is running: {cloud.name} {namespace}/{self.name}")
            waited = 0
            last_report = time.monotonic()
            while waited < timeout:
                if self.terminated:
                    raise RuntimeError("Node was deleted, computer is null")
                if self._jvm_gone():
                    return      # the controller went away (restart/stop): the "JVM" is gone
                if self.online:
                    break
                p = client.get_pod(namespace, self.name)
                if p is None:
                    raise RuntimeError(f"java.lang.IllegalStateException: Pod no longer exists: {self.name}")
                status = (p.get("status") or {}).get("phase")
                if status in ("Succeeded", "Failed"):
                    raise RuntimeError(f"java.lang.IllegalStateException: Pod '{self.name}' is terminated. Status: {status}")
                errors = {}
                for cs in (p.get("status") or {}).get("containerStatuses") or []:
                    term = (cs.get("state") or {}).get("terminated")
                    if term is not None:
                        self.log(f"Container is terminated {self.name} [{cs.get('name')}]: "
                                 f"ContainerStateTerminated(exitCode={term.get('exitCode')}, reason={term.get('reason')})")
                        errors[cs.get("name")] = term.get("exitCode")
                if errors:
                    body = ", ".join(f"{k}={v}" for k, v in errors.items())
                    raise RuntimeError(
                        f"java.lang.IllegalStateException: Containers are terminated with exit codes: {{{body}}}")
                if time.monotonic() - last_report >= REPORT_INTERVAL:
                    self.log(f"Waiting for agent to connect ({waited}/{timeout}): {self.name}")
                    jenkins_log(jenkins, "INFO", "org.csanchez.jenkins.plugins.kubernetes.KubernetesLauncher",
                                f"Waiting for agent to connect ({waited}/{timeout}): {self.name}")
                    last_report = time.monotonic()
                time.sleep(POLL_INTERVAL)
                waited += 1
            if not self.online:
                raise RuntimeError(f"java.lang.IllegalStateException: Agent is not connected after {waited} "
                                   f"seconds, status: {status}")
            self.launched = True
            self._start_reaper()
            if self.template.get("idleMinutes") == 0:
                # OnceRetentionStrategy(cloud.retentionTimeout): an agent that never gets its task
                # (e.g. the queue item was cancelled) is terminated after that many idle minutes
                self._start_idle_watch(cloud.get("retentionTimeout"), once=True)
        except Exception as exc:    # KubernetesLauncher#launch catch (Throwable ex)
            if self.terminated or self._jvm_gone():
                return
            if isinstance(exc, KubernetesClientException):
                text = f"{'io.fabric8.kubernetes.client.KubernetesClientException'}: {exc.message}"
                if exc.cause and exc.cause[0] != "io.fabric8.kubernetes.client.KubernetesClientException":
                    text += f"\nCaused by: {exc.cause[0]}: {exc.cause[1]}"
            else:
                text = str(exc)
            trace = f"java.lang.RuntimeException: {text}\n\tat org.csanchez.jenkins.plugins.kubernetes.KubernetesLauncher.launch(KubernetesLauncher.java:325)"
            # SlaveComputer#_connect prints what the launcher threw to the computer log
            self.log("ERROR: Unexpected error in launching an agent. This is probably a bug in Jenkins\n" + trace)
            jenkins_log(jenkins, "WARNING", "org.csanchez.jenkins.plugins.kubernetes.KubernetesLauncher",
                        f"Error in provisioning; agent=KubernetesSlave name: {self.name}, template="
                        f"PodTemplate{{id='{template.id}', name='{template.name}', namespace='{template.get('namespace')}', "
                        f"label='{template.label}'}}\n{trace}")
            LOG.debug("launch failed: %s", traceback.format_exc())
            self.terminate()

    def _wait_until_ready(self, client, namespace, timeout):
        """fabric8 waitUntilReady: until every container is ready; timeout -> KubernetesClientException."""
        deadline = time.monotonic() + timeout
        while True:
            if self.terminated:
                raise RuntimeError("Node was deleted, computer is null")
            if self._jvm_gone():
                raise RuntimeError("Jenkins is shutting down")
            p = client.get_pod(namespace, self.name)
            if p is None:
                raise RuntimeError(f"java.lang.IllegalStateException: Pod no longer exists: {self.name}")
            st = p.get("status") or {}
            if st.get("phase") in ("Succeeded", "Failed"):
                return     # the launcher's loop reports the terminal phase
            if any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []):
                return
            if self.online:
                return
            if time.monotonic() >= deadline:
                raise KubernetesClientException(
                    f"Timed out waiting for [{timeout * 1000}] milliseconds for [Pod] with name:[{self.name}] "
                    f"in namespace [{namespace}].")
            time.sleep(POLL_INTERVAL)

    # -- Reaper (pod gone / agent disconnected -> node terminated) -------------------------------
    def _start_reaper(self):
        def watch():
            while not self.terminated and not self._jvm_gone():
                if not self.online:
                    cause = self.offline_cause or "Pod deleted"
                    jenkins_log(self._jenkins, "INFO", "org.csanchez.jenkins.plugins.kubernetes.pod.retention.Reaper",
                                f"{self.namespace}/{self.name} Pod just got deleted, or the agent disconnected: {cause}")
                    self.terminate()
                    return
                time.sleep(0.5)
        threading.Thread(target=watch, name=f"Reaper {self.name}", daemon=True).start()

    def _start_idle_watch(self, minutes=None, once=False):
        """CloudRetentionStrategy(idleMinutes) / OnceRetentionStrategy idle fallback: terminate
        after ``minutes`` idle (checked every second here; Jenkins checks once a minute)."""
        minutes = self.template.get("idleMinutes") if minutes is None else minutes
        if getattr(self, "_idle_watch", False):
            return
        self._idle_watch = True

        def watch():
            while not self.terminated and not self._jvm_gone():
                if once and self._builds_done:
                    return      # the one task ran; on_build_complete terminates
                if self.idle and time.time() - self.idle_since >= minutes * 60:
                    self.terminate()
                    return
                time.sleep(1.0)
        threading.Thread(target=watch, name=f"CloudRetentionStrategy {self.name}", daemon=True).start()

    # -- termination (AbstractCloudSlave#terminate -> KubernetesSlave#_terminate) ----------------
    def terminate(self):
        with self._term_lock:
            if self.terminated:
                return
            self.terminated = True
        jenkins = self._jenkins
        jenkins_log(jenkins, "INFO", "org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave",
                    f"Terminating Kubernetes instance for agent {self.name}")
        try:
            client = self.cloud.connect(jenkins)
        except Exception as exc:
            msg = (f"Failed to connect to cloud {self.cloud_name}. There may be leftover resources on the "
                   f"Kubernetes cluster.")
            self.log(f"FATAL: {msg}\n{exc}")
            jenkins_log(jenkins, "SEVERE", "org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave", msg)
            client = None
        if client is not None and self.namespace is not None:
            retention = self.template.get_podRetention()
            try:
                delete = retention.should_delete_pod(self.cloud, lambda: client.get_pod(self.namespace, self.name))
            except Exception:
                delete = True
            if delete:
                try:
                    if client.delete_pod(self.namespace, self.name):
                        msg = f"Terminated Kubernetes instance for agent {self.namespace}/{self.name}"
                        self.log(msg)
                        jenkins_log(jenkins, "INFO", "org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave", msg)
                    else:
                        msg = f"Failed to delete pod for agent {self.namespace}/{self.name}: not found"
                        self.log("ERROR: " + msg)
                        jenkins_log(jenkins, "WARNING", "org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave", msg)
                except KubernetesClientException as exc:
                    msg = f"Failed to delete pod for agent {self.namespace}/{self.name}: {exc.message}"
                    self.log("ERROR: " + msg)
                    jenkins_log(jenkins, "WARNING", "org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave", msg)
            else:
                jenkins_log(jenkins, "WARNING", "org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave",
                            f"Agent pod {self.name} was not deleted due to retention policy "
                            f"{type(retention).__name__}.")
        msg = f"Disconnected computer {self.name}"
        self.log(msg)
        jenkins_log(jenkins, "INFO", "org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave", msg)
        try:
            if self.online and callable(getattr(jenkins, "agent_disconnect", None)):
                jenkins.agent_disconnect(self.name, "Terminated")
        except Exception:  # pragma: no cover
            pass
        try:
            jenkins.remove_node(self.name)
        finally:
            # KubernetesProvisioningLimits.NodeListenerImpl#onDeleted
            _limits(jenkins).unregister(self.cloud_name, self.template.id, 1)
