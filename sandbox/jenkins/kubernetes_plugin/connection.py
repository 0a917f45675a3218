"""Test Connection: ``POST /descriptorByName/org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud/testConnection``.

KubernetesCloud.DescriptorImpl#doTestConnection (jenkinsci/kubernetes-plugin a82d78a0):
``@RequirePOST``, ADMINISTER, blank ``name`` -> "name is required"; builds a client with
KubernetesFactoryAdapter(serverUrl, namespace, serverCertificate, credentialsId, skipTlsVerify,
connectionTimeout, readTimeout) — note the Java parameter is ``connectionTimeout`` while the form
sends ``connectTimeout`` (so the connect timeout is 0 = none); then ``client.pods().list()`` and
``client.getVersion()``.  Success: ``Connected to Kubernetes <gitVersion>``; a
KubernetesClientException: ``Error testing connection <serverUrl>: <cause class>: <cause message>``
(or ``: <message>`` without a cause); anything else ``Error testing connection <serverUrl>: <message>``.
Rendered as a FormValidation fragment (hudson.util.FormValidation#respond): always 200,
``text/html;charset=UTF-8``, ``Content-Security-Policy: sandbox; default-src 'none';``, message
HTML-escaped.
"""

from __future__ import annotations

import html

from sandbox.jenkins.extension import RouteResponse

from .cloud import connect
from .kubeclient import KubernetesClientException

DESCRIPTOR = "org.csanchez.jenkins.plugins.kubernetes.KubernetesCloud"
PATH = f"/descriptorByName/{DESCRIPTOR}/testConnection"


def _bool(v):
    return str(v or "").strip().lower() in ("true", "on", "yes", "1")


def _int(v):
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return 0


def test_connection(form: dict, jenkins) -> tuple[bool, str]:
    """Returns (ok, message) exactly as the FormValidation message text."""
    name = form.get("name")
    if name is None or not str(name).strip():
        return False, "name is required"
    server_url = form.get("serverUrl")
    shown_url = "null" if server_url is None else server_url   # String.format("%s", null)
    try:
        client = connect(None, jenkins, server_url=(server_url or "").strip() or None,
                         namespace=(form.get("namespace") or "").strip() or None,
                         credentials_id=(form.get("credentialsId") or "").strip() or None,
                         server_certificate=(form.get("serverCertificate") or "") or None,
                         skip_tls_verify=_bool(form.get("skipTlsVerify")),
                         connect_timeout=_int(form.get("connectionTimeout")),
                         read_timeout=_int(form.get("readTimeout")) or None,
                         use_cloud=False)
        client.list_pods()
        version = client.get_version() or {}
        return True, f"Connected to Kubernetes {version.get('gitVersion')}"
    except KubernetesClientException as exc:
        detail = exc.cause_text() or exc.message
        return False, f"Error testing connection {shown_url}: {detail}"
    except Exception as exc:  # noqa: BLE001 - mirrors catch (Exception e)
        return False, f"Error testing connection {shown_url}: {exc}"


def render(ok: bool, message: str) -> RouteResponse:
    kind = "ok" if ok else "error"
    return RouteResponse(status=200, body=f'<div class="{kind}">{html.escape(message, quote=True)}</div>',
                         content_type="text/html;charset=UTF-8",
                         headers={"Content-Security-Policy": "sandbox; default-src 'none';"})


def handle_post(request, jenkins):
    ok, message = test_connection(request.form or {}, jenkins)
    return render(ok, message)
