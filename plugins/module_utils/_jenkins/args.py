# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""Shared argument specs. Each one is mirrored by a doc fragment (sanity keeps them equal):

* CONNECTION_ARGSPEC  <->  plugins/doc_fragments/jenkins_connection.py
* KUBE_ARGSPEC        <->  plugins/doc_fragments/kubernetes_auth.py
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

CONNECTION_ARGSPEC = dict(
    url=dict(type="str", required=True, fallback=(env_fallback, ["JENKINS_URL"])),
    username=dict(type="str", fallback=(env_fallback, ["JENKINS_USERNAME"])),
    # No env fallback here: JENKINS_TOKEN / JENKINS_PASSWORD are read by JenkinsModule only when the
    # task gives neither, so a credential in the environment (an AWX credential type) never collides
    # with a password set in the task ("parameters are mutually exclusive").
    token=dict(type="str", no_log=True),
    password=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="int", default=30),
)

# Secrets taken from the environment when the task sets neither (explicit options win).
CONNECTION_SECRET_ENV = (("token", "JENKINS_TOKEN"), ("password", "JENKINS_PASSWORD"))

CONNECTION_MUTUALLY_EXCLUSIVE = [
    ("token", "password"),
]

# A secret without a user cannot form a Basic Authorization header.
CONNECTION_REQUIRED_BY = {
    "token": "username",
    "password": "username",
}

KUBE_ARGSPEC = dict(
    kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
    context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
)
