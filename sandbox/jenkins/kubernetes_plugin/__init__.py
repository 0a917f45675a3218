"""Kubernetes plugin emulation (sandbox only): JCasC cloud model, Test Connection, agent pods.

Importing this package registers its extensions with the core (``sandbox.jenkins.extension``):
* the JCasC configurator for ``jenkins.clouds[] - kubernetes:`` (``casc.configure_cloud`` /
  ``casc.export_cloud``), active only while the ``kubernetes`` plugin is installed;
* the Test Connection route (POST, ADMINISTER; the core answers a GET with @RequirePOST's 405).

The jenkins/jenkins runtime (``sandbox/runtimes/jenkins_controller.py``) gives each Jenkins
instance its pod's in-cluster context as ``jenkins.kubernetes_in_cluster``
(``kubeclient.InClusterContext``); provisioning and Test Connection use it.
"""

from sandbox.jenkins import extension

from . import casc, connection
from .casc import configure_cloud, export_cloud
from .connection import test_connection

PLUGIN = "kubernetes"

extension.register_cloud_configurator(
    "kubernetes", configure_cloud, export_cloud, plugin=PLUGIN,
    java_class="org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud",
    # DescribableAttribute#getSymbols for KubernetesCloud (no @Symbol): "kubernetes"
    # (KubernetesCloud minus Cloud), then the simple class name "kubernetesCloud".
    aliases=("kubernetesCloud",))
extension.register_route("POST", connection.PATH, connection.handle_post, permission="ADMINISTER", plugin=PLUGIN)

__all__ = ["configure_cloud", "export_cloud", "test_connection", "casc"]
