# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

import pytest

from ansible_collections.kubeops.jenkins.plugins.modules import jenkins_job
from ansible_collections.kubeops.jenkins.tests.unit.fixtures.fake_jenkins import (  # pylint: disable=unused-import
    answer, fake_jenkins, run_module)


class JobStore:
    """Jobs as Jenkins keeps them: config.xml re-serialised the way Jenkins does on save."""

    def __init__(self, fake):
        self.jobs = {}
        self.builds = {}
        fake.on("POST", "/createItem", handler=self.create)

    @staticmethod
    def reserialise(xml):
        # Jenkins writes XML 1.1, adds plugin attributes and default elements.
        xml = re.sub(r"^<\?xml[^>]*\?>", "<?xml version='1.1' encoding='UTF-8'?>", xml.strip())
        xml = xml.replace("<hudson.tasks.Shell>", '<hudson.tasks.Shell plugin="core@2.578">')
        return xml.replace("</project>", "  <blockBuildWhenUpstreamBuilding>false</blockBuildWhenUpstreamBuilding>\n</project>")

    def register(self, fake, name, xml):
        self.jobs[name] = self.reserialise(xml)
        path = "/job/%s" % name

        def config(request):
            if name not in self.jobs:
                return answer(404, "<html>Not found</html>", content_type="text/html")
            if request.method == "GET":
                return answer(200, self.jobs[name], content_type="application/xml")
            self.jobs[name] = self.reserialise(request.body)
            return answer(200, "")

        def delete(request):  # pylint: disable=unused-argument
            del self.jobs[name]
            return answer(302, "", headers={"Location": "http://jenkins.test:8080/"})

        def builds(request):  # pylint: disable=unused-argument
            if name not in self.jobs:
                return answer(404, "<html>Not found</html>", content_type="text/html")
            assert request.query["tree"] == "lastBuild[number,result],lastSuccessfulBuild[number]"
            return answer(200, self.builds.get(name, {"_class": "hudson.model.FreeStyleProject",
                                                      "lastBuild": None, "lastSuccessfulBuild": None}))

        fake.on("GET", path + "/config.xml", handler=config)
        fake.on("GET", path + "/api/json", handler=builds)
        fake.on("POST", path + "/config.xml", handler=config)
        fake.on("POST", path + "/doDelete", handler=delete)

    def create(self, request):
        name = request.query["name"]
        if name in self.jobs:
            return answer(400, "<html>exists</html>", headers={"X-Error": "A job already exists with the name \u2018%s\u2019" % name},
                          content_type="text/html")
        assert request.headers["Content-Type"].startswith("application/xml")
        self.register(self.fake, name, request.body)
        return answer(200, "")


@pytest.fixture
def store(fake_jenkins):
    s = JobStore(fake_jenkins)
    s.fake = fake_jenkins
    fake_jenkins.on("GET", "/job/smoke/config.xml", answer(404, "<html>Not found</html>", content_type="text/html"))
    return s


SPEC = dict(name="smoke", description="smoke test", label="haimaxy-jnlp",
            shell=["docker info", "kubectl get pods"], build_discarder=dict(num_to_keep=5))


def test_full_cycle(fake_jenkins, store):
    # create, check mode first: no write
    result, failed = run_module(jenkins_job.main, SPEC, check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert fake_jenkins.mutating() == []
    assert result["diff"]["before"] == "" and "<assignedNode>haimaxy-jnlp</assignedNode>" in result["diff"]["after"]
    # create for real: a new job has no builds, and they are not asked for
    result, failed = run_module(jenkins_job.main, SPEC)
    assert not failed and result["changed"]
    assert [r.path for r in fake_jenkins.mutating()] == ["/createItem"]
    assert result["last_build"] is None and result["last_successful_build"] is None
    assert "/job/smoke/api/json" not in [r.path for r in fake_jenkins.requests]
    stored = store.jobs["smoke"]
    assert "<assignedNode>haimaxy-jnlp</assignedNode>" in stored and "<canRoam>false</canRoam>" in stored
    assert stored.index("docker info") < stored.index("kubectl get pods")
    assert "<numToKeep>5</numToKeep>" in stored
    # create again: Jenkins' re-serialisation is not a change
    before = len(fake_jenkins.mutating())
    result, failed = run_module(jenkins_job.main, SPEC, diff=True)
    assert not failed and not result["changed"]
    assert len(fake_jenkins.mutating()) == before
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["last_build"] is None and result["last_successful_build"] is None
    # an existing job reports its builds (a failed one after a success here), also in check mode
    store.builds["smoke"] = {"lastBuild": {"_class": "hudson.model.FreeStyleBuild", "number": 4, "result": "FAILURE"},
                             "lastSuccessfulBuild": {"_class": "hudson.model.FreeStyleBuild", "number": 3}}
    for check_mode in (False, True):
        result, failed = run_module(jenkins_job.main, SPEC, check_mode=check_mode)
        assert not failed and not result["changed"]
        assert result["last_build"] == {"number": 4, "result": "FAILURE"}
        assert result["last_successful_build"] == 3
    # modify: check mode, then for real
    changed_spec = dict(SPEC, shell=["docker info"], concurrent=True)
    result, failed = run_module(jenkins_job.main, changed_spec, check_mode=True, diff=True)
    assert result["changed"] and len(fake_jenkins.mutating()) == before
    assert "kubectl get pods" in result["diff"]["before"] and "kubectl get pods" not in result["diff"]["after"]
    result, failed = run_module(jenkins_job.main, changed_spec)
    assert result["changed"]
    assert fake_jenkins.mutating()[-1].path == "/job/smoke/config.xml"
    assert "kubectl" not in store.jobs["smoke"] and "<concurrentBuild>true</concurrentBuild>" in store.jobs["smoke"]
    result, failed = run_module(jenkins_job.main, changed_spec)
    assert not result["changed"]
    # delete: check mode, real, absent again
    count = len(fake_jenkins.mutating())
    result, failed = run_module(jenkins_job.main, dict(name="smoke", state="absent"), check_mode=True)
    assert result["changed"] and len(fake_jenkins.mutating()) == count and "smoke" in store.jobs
    result, failed = run_module(jenkins_job.main, dict(name="smoke", state="absent"))
    assert result["changed"] and "smoke" not in store.jobs
    assert fake_jenkins.mutating()[-1].path == "/job/smoke/doDelete"
    result, failed = run_module(jenkins_job.main, dict(name="smoke", state="absent"))
    assert not failed and not result["changed"]


def test_raw_config_xml(fake_jenkins, store):
    xml = "<?xml version='1.0' encoding='UTF-8'?><project><description>raw</description><builders/></project>"
    result, failed = run_module(jenkins_job.main, dict(name="smoke", config_xml=xml))
    assert result["changed"] and "<description>raw</description>" in store.jobs["smoke"]
    result, failed = run_module(jenkins_job.main, dict(name="smoke", config_xml=xml))
    assert not failed and not result["changed"]


def test_create_error_message(fake_jenkins, store):
    fake_jenkins.on("POST", "/createItem", answer(400, "<html><body>error</body></html>", content_type="text/html",
                                                  headers={"X-Error": "\u2018/\u2019 is an unsafe character"}))
    result, failed = run_module(jenkins_job.main, SPEC)
    assert failed
    assert result["msg"].startswith("Failed to create job 'smoke': HTTP 400")
    assert "unsafe character" in result["msg"]


def test_permission_error(fake_jenkins):
    fake_jenkins.on("GET", "/job/smoke/config.xml", answer(403, "<html><body>admin is missing the Job/ExtendedRead "
                                                                "permission</body></html>", content_type="text/html"))
    result, failed = run_module(jenkins_job.main, SPEC)
    assert failed and "Failed to read the configuration of job 'smoke': HTTP 403" in result["msg"]
    assert "s3cr3t-token" not in str(result)


@pytest.mark.parametrize("args, message", [
    (dict(SPEC, config_xml="<project/>"), "mutually exclusive"),
    (dict(name="bad/../x"), "Invalid job name"),
    (dict(name="a", parameters=[dict(name="P", type="choice")]), "needs choices"),
    (dict(name="a", parameters=[dict(name="P", choices=["x"])]), "only valid with type choice"),
    (dict(name="a", parameters=[dict(name="P"), dict(name="P")]), "Duplicate parameter names: P"),
    (dict(name="a", parameters=[dict(name="P", bogus=1)]), "bogus"),
    (dict(name="a", config_xml="<project>"), "not well-formed"),
    (dict(name="a", parameters=[dict(name="B", type="boolean", default="maybe")]), "boolean default"),
])
def test_bad_input_rejected_before_any_request(fake_jenkins, args, message):
    result, failed = run_module(jenkins_job.main, args)
    assert failed and message in result["msg"]
    assert fake_jenkins.requests == []
