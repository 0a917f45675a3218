"""Container runtimes of the sandbox's images (contract: docs/dev/architecture.md §3.2).

``register_all(cluster)`` registers, in ``cluster.runtimes``:

* ``jenkins-plugin-cli`` (priority 30): init containers of a ``jenkins/jenkins`` image whose command
  runs ``jenkins-plugin-cli`` (plugin_cli.py);
* ``jenkins-inbound-agent`` (priority 20): the Kubernetes plugin's agent container
  (inbound_agent.py; steps run through executor.py);
* ``jenkins-controller`` (priority 10): ``jenkins/jenkins`` containers (jenkins_controller.py).

Call it once from the control plane's start-up, after ``cluster.runtimes`` and
``cluster.resolver`` exist and before the kubelet starts containers.
"""

from . import inbound_agent, jenkins_controller, plugin_cli


def register_all(cluster):
    reg = cluster.runtimes
    reg.register("jenkins-plugin-cli", plugin_cli.matches, plugin_cli.start, priority=30)
    reg.register("jenkins-inbound-agent", inbound_agent.matches, inbound_agent.start, priority=20)
    reg.register("jenkins-controller", jenkins_controller.matches, jenkins_controller.start, priority=10)
    return reg
