# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""JenkinsModule: AnsibleModule plus the connection options, a lazily built client and one place
that turns a JenkinsError into a failure. The only file under _jenkins/ that imports AnsibleModule."""

from __future__ import annotations

import copy
import os
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.args import (
    CONNECTION_ARGSPEC,
    CONNECTION_MUTUALLY_EXCLUSIVE,
    CONNECTION_REQUIRED_BY,
    CONNECTION_SECRET_ENV,
)
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.client import JenkinsClient
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError, redact


class JenkinsModule(AnsibleModule):
    """AnsibleModule with CONNECTION_ARGSPEC merged in.

    module.client         JenkinsClient built on first use from the connection options
    module.fail_from_exception(exc, **extra)   fail_json with a scrubbed message and the error's fields
    """

    def __init__(self, argument_spec=None, mutually_exclusive=None, required_by=None, **kwargs):
        spec = copy.deepcopy(CONNECTION_ARGSPEC)
        spec.update(argument_spec or {})
        exclusive = list(CONNECTION_MUTUALLY_EXCLUSIVE) + list(mutually_exclusive or [])
        needed = dict(CONNECTION_REQUIRED_BY)
        needed.update(required_by or {})
        super().__init__(argument_spec=spec, mutually_exclusive=exclusive, required_by=needed, **kwargs)
        self._client = None
        self._secret_from_environment()
        self._validate_connection()

    def _secret_from_environment(self):
        """Take JENKINS_TOKEN, else JENKINS_PASSWORD, when the task sets neither token nor password."""
        if self.params.get("token") or self.params.get("password"):
            return
        for option, variable in CONNECTION_SECRET_ENV:
            value = os.environ.get(variable)
            if value:
                self.no_log_values.add(value)
                if not self.params.get("username"):
                    self.fail_json(msg="%s is set in the environment but username (or JENKINS_USERNAME) is not" % variable)
                self.params[option] = value
                return

    def _validate_connection(self):
        """Reject bad connection options before any request is sent."""
        url = self.params["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail_json(msg="url must be an http:// or https:// URL with a host name, got %r"
                           % redact(url, self.secrets))
        if parts.username or parts.password:
            self.fail_json(msg="url must not contain credentials; use username and token (or password)")
        if parts.query or parts.fragment:
            self.fail_json(msg="url must not contain a query string or fragment: %r" % redact(url, self.secrets))
        if self.params["timeout"] <= 0:
            self.fail_json(msg="timeout must be greater than 0, got %s" % self.params["timeout"])
        ca_path = self.params.get("ca_path")
        if ca_path and not os.path.exists(ca_path):
            self.fail_json(msg="ca_path %s does not exist" % ca_path)

    @property
    def secrets(self):
        return [self.params.get(name) for name in ("token", "password") if self.params.get(name)]

    @property
    def client(self):
        if self._client is None:
            self._client = JenkinsClient(
                self.params["url"],
                username=self.params.get("username"),
                token=self.params.get("token"),
                password=self.params.get("password"),
                validate_certs=self.params["validate_certs"],
                ca_path=self.params.get("ca_path"),
                timeout=self.params["timeout"],
            )
        return self._client

    def fail_from_exception(self, exc, **extra):
        """Fail the task from a JenkinsError (or any exception), never echoing a secret."""
        secrets = list(self.secrets)
        if self._client is not None:
            secrets.extend(self._client.secrets)
        result = {}
        if isinstance(exc, JenkinsError):
            result.update(exc.to_result())
            result["error_class"] = exc.__class__.__name__
        result.update(extra)
        result = {key: redact(value, secrets) if isinstance(value, str) else value for key, value in result.items()}
        self.fail_json(msg=redact(str(exc), secrets), **result)
