# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Mirrors CONNECTION_ARGSPEC in plugins/module_utils/_jenkins/args.py (validate-modules keeps them equal).
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Jenkins controller, including the context path if Jenkins runs under a
        prefix, for example V(http://jenkins.kube-ops.svc.cluster.local:8080) or
        V(https://ci.example.com/jenkins).
      - Must use the V(http) or V(https) scheme and must not contain credentials or a query string.
      - If not set, the value of the E(JENKINS_URL) environment variable is used.
    type: str
    required: true
  username:
    description:
      - Jenkins user to authenticate as, with O(token) or O(password).
      - Leave unset (together with O(token) and O(password)) for anonymous access.
      - If not set, the value of the E(JENKINS_USERNAME) environment variable is used.
    type: str
  token:
    description:
      - API token of O(username). Recommended; requests authenticated by an API token need no CSRF crumb.
      - Mutually exclusive with O(password).
      - If neither O(token) nor O(password) is set, the value of the E(JENKINS_TOKEN) environment variable
        is used (an option set in the task always wins over the environment).
    type: str
  password:
    description:
      - Password of O(username). With a password, the modules fetch a CSRF crumb and keep the
        HTTP session cookie it is bound to.
      - Mutually exclusive with O(token).
      - If neither O(token) nor O(password) is set and E(JENKINS_TOKEN) is empty, the value of the
        E(JENKINS_PASSWORD) environment variable is used.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificate of an V(https) O(url).
      - Set O(ca_path) instead of disabling verification when Jenkins uses a private CA.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the Jenkins certificate.
    type: path
  timeout:
    description:
      - Timeout in seconds for each HTTP request to Jenkins. Must be greater than 0.
      - Idempotent requests (GET) are retried with exponential backoff on connection errors and on
        HTTP 502, 503 and 504; a POST is retried only when the connection was refused.
    type: int
    default: 30
notes:
  - "Connection options can be set once per play with C(module_defaults) and the action group
    C(group/kubeops.jenkins.jenkins)."
"""
