"""Jenkins controller stand-in (sandbox only, never shipped).

``instance.JenkinsInstance`` is one controller; ``http`` its HTTP surface; ``casc`` JCasC;
``plugins`` the plugin manager, update center and the local catalog (``catalog/plugins.json``);
``model`` jobs, builds, queue and the built-in node; ``security`` users, tokens, crumbs,
authorization; ``stapler`` the JSON export rules; ``extension`` the contract for plugins such as
``kubernetes_plugin``.  Authority for every behaviour: ``/work/shared/reference/jenkins-api.md``.

Not emulated (say so rather than pretend): pipeline execution (``flow-definition`` jobs are
stored, their builds fail with a message), folders, Job DSL (the ``jobs:`` JCasC root is an
unknown root element, as without the job-dsl plugin), the Groovy script console (``/script``,
``/scriptText`` answer 501), SCM checkout, matrix/role authorization strategies, remote (http)
JCasC sources, the real remoting protocol (a line protocol stands in for JNLP4-connect),
persistence of the queue and of cloud-provisioned agent nodes across restarts.
"""
