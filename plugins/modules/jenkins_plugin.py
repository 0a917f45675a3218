#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jenkins_plugin
short_description: Converge a set of Jenkins plugins over the remote API
version_added: 0.1.0
description:
  - Installs, upgrades or removes a whole set of plugins in one task, over HTTP only, so it works
    with a controller running in a pod (nothing is written to C(JENKINS_HOME) by this module).
  - Reads the installed plugins once, computes what is missing or older than asked, and sends one
    C(POST /pluginManager/installNecessaryPlugins) for all of them; Jenkins resolves dependencies.
    It then follows the update center's jobs and reports each plugin that failed with Jenkins' own
    error message. A plugin Jenkins did not schedule at all (unknown name, version not offered by
    the update site) is reported as failed too.
  - Restarts Jenkins only when Jenkins says a restart is needed to complete (or after a removal),
    as O(restart) asks, and waits until it is back.
  - A run with nothing to do sends no write request.
author:
  - kubeops.jenkins maintainers (@kubeops)
extends_documentation_fragment:
  - kubeops.jenkins.jenkins_connection
  - kubeops.jenkins.attributes
  - kubeops.jenkins.attributes.action_group
attributes:
  check_mode:
    support: full
    details: Reports exactly which of the listed plugins would be installed, upgraded or removed;
      dependencies Jenkins would add are only known after a real run.
  diff_mode:
    support: full
    details: The diff lists the plugin versions before and after.
  idempotent:
    support: full
options:
  name:
    description:
      - Plugins, as V(name) or V(name@version). A version is a minimum, as for Jenkins
        (C(installNecessaryPlugins)); an installed plugin newer than asked is kept (with a warning).
      - V(name@latest) is the same as V(name).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) installs missing plugins and upgrades those older than the version asked.
      - V(latest) also upgrades plugins for which the update site has a newer version.
      - V(absent) uninstalls the plugins (a restart completes the removal).
    type: str
    choices: [present, latest, absent]
    default: present
  restart:
    description:
      - What to do when Jenkins needs a restart to complete the change.
      - V(safe) waits for running builds (C(POST /safeRestart)), V(immediate) does not
        (C(POST /restart)), V(never) only reports RV(restart_required).
    type: str
    choices: [safe, immediate, never]
    default: safe
  install_timeout:
    description: Seconds to wait for the update center to finish the downloads.
    type: int
    default: 600
  restart_timeout:
    description: Seconds to wait for Jenkins to restart and be ready again.
    type: int
    default: 600
notes:
  - Needs the Overall/Administer permission.
  - Plugins are downloaded by Jenkins from its update sites; the controller needs access to them.
seealso:
  - module: kubeops.jenkins.jenkins_info
  - name: Jenkins plugin manager API
    description: C(installNecessaryPlugins) and the update center.
    link: https://www.jenkins.io/doc/book/managing/plugins/
"""

EXAMPLES = r"""
- name: Plugins for Kubernetes agents, in one task
  kubeops.jenkins.jenkins_plugin:
    url: http://jenkins.kube-ops.svc.cluster.local:8080
    username: admin
    token: "{{ jenkins_token }}"
    name:
      - kubernetes@4423.vb_59f230b_ce53
      - configuration-as-code
      - workflow-aggregator
  register: plugins

- name: Keep plugins up to date, restart only after running builds
  kubeops.jenkins.jenkins_plugin:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: [git, kubernetes]
    state: latest
    restart: safe

- name: Remove a plugin, restart later
  kubeops.jenkins.jenkins_plugin:
    url: "{{ jenkins_url }}"
    username: admin
    token: "{{ jenkins_token }}"
    name: [ant]
    state: absent
    restart: never
"""

RETURN = r"""
installed:
  description: Plugins newly installed (in check mode, the listed plugins that would be installed).
  returned: always
  type: list
  elements: str
  sample: [kubernetes, kubernetes-client-api]
upgraded:
  description: Plugins upgraded (in check mode, that would be upgraded).
  returned: always
  type: list
  elements: str
  sample: [git]
removed:
  description: Plugins uninstalled (in check mode, that would be uninstalled).
  returned: always
  type: list
  elements: str
  sample: []
failures:
  description:
    - Plugins that could not be installed, with Jenkins' error message (the task fails when this
      is not empty).
    - Named C(failures) because Ansible reserves C(failed) for the task status.
  returned: always
  type: list
  elements: dict
  sample: [{name: nosuchplugin, message: "Jenkins scheduled no installation for nosuchplugin@latest"}]
restart_required:
  description:
    - Jenkins still needs a restart to complete the change (O(restart=never)).
    - In check mode, predicted for upgrades and removals.
  returned: always
  type: bool
  sample: false
restarted:
  description: Jenkins was restarted by this task (in check mode, would be restarted).
  returned: always
  type: bool
  sample: true
plugins:
  description: Version of each listed plugin after the task (predicted in check mode).
  returned: always
  type: dict
  sample: {kubernetes: 4423.vb_59f230b_ce53, git: 5.7.0}
"""

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins import plugin_service
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import JenkinsError
from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.module import JenkinsModule


def argspec():
    return dict(
        name=dict(type="list", elements="str", required=True),
        state=dict(type="str", default="present", choices=["present", "latest", "absent"]),
        restart=dict(type="str", default="safe", choices=["safe", "immediate", "never"]),
        install_timeout=dict(type="int", default=600),
        restart_timeout=dict(type="int", default=600),
    )


def main():
    module = JenkinsModule(argument_spec=argspec(), supports_check_mode=True)
    for option in ("install_timeout", "restart_timeout"):
        if module.params[option] <= 0:
            module.fail_json(msg="%s must be greater than 0, got %s" % (option, module.params[option]))
    try:
        plugin_service.parse_specs(module.params["name"])
        result = plugin_service.ensure(module.client, module.params, check_mode=module.check_mode,
                                       diff=module._diff)
    except JenkinsError as exc:
        module.fail_from_exception(exc)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
