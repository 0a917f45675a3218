# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Mirrors KUBE_ARGSPEC in plugins/module_utils/_jenkins/args.py; names as in kubernetes.core.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to the kubeconfig file used to reach the Kubernetes API (for the JCasC ConfigMap and for
        watching agent pods).
      - If not set, the value of the E(K8S_AUTH_KUBECONFIG) environment variable is used, then the
        in-cluster service account, then C(~/.kube/config).
    type: path
  context:
    description:
      - Name of the kubeconfig context to use.
      - If not set, the value of the E(K8S_AUTH_CONTEXT) environment variable is used, else the
        kubeconfig's current context.
    type: str
requirements:
  - kubernetes >= 24.2.0 (Python library)
"""
