# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.kubeops.jenkins.plugins.module_utils._jenkins.errors import (
    JenkinsAuthError,
    JenkinsCascBootError,
    JenkinsConflict,
    JenkinsError,
    JenkinsHTTPError,
    JenkinsNotFound,
    JenkinsPermissionError,
    basic_auth_value,
    body_excerpt,
    error_for_status,
    html_to_text,
    redact,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures")

with open(os.path.join(FIXTURES, "pages.json"), encoding="utf-8") as _handle:
    PAGES = json.load(_handle)


@pytest.mark.parametrize("status, cls", [
    (401, JenkinsAuthError),
    (403, JenkinsPermissionError),
    (404, JenkinsNotFound),
    (409, JenkinsConflict),
    (400, JenkinsHTTPError),
    (500, JenkinsHTTPError),
    (503, JenkinsHTTPError),
])
def test_error_for_status_picks_the_class(status, cls):
    exc = error_for_status(status, reason="R", action="do", target="it")
    assert type(exc) is cls  # pylint: disable=unidiomatic-typecheck
    assert isinstance(exc, JenkinsError)
    assert exc.status == status


def test_message_format_with_all_parts():
    exc = error_for_status(403, reason="Forbidden", action="update", target="cloud 'k8s'", x_error="denied",
                           body_excerpt="alice is missing the Overall/Administer permission",
                           url="http://j:8080/configuration-as-code/apply")
    assert str(exc) == ("Failed to update cloud 'k8s': HTTP 403 Forbidden (X-Error: denied): "
                        "alice is missing the Overall/Administer permission")
    assert exc.to_result() == {
        "status": 403, "x_error": "denied", "url": "http://j:8080/configuration-as-code/apply",
        "body_excerpt": "alice is missing the Overall/Administer permission",
        "action": "update", "target": "cloud 'k8s'",
    }


def test_message_without_x_error_or_body():
    assert str(error_for_status(404, reason="Not Found", action="read", target="job 'x'")) == \
        "Failed to read job 'x': HTTP 404 Not Found"


def test_x_error_equal_to_body_is_not_repeated():
    exc = error_for_status(400, reason="Bad Request", action="create", target="job", x_error="exists",
                           body_excerpt="exists")
    assert str(exc) == "Failed to create job: HTTP 400 Bad Request (X-Error: exists)"


def test_401_message_carries_a_hint():
    assert str(error_for_status(401, reason="Unauthorized", action="read", target="/")).endswith(
        "(check username and token/password)")


def test_body_excerpt_strips_html_and_page_chrome():
    text = body_excerpt(PAGES["access_denied"], "text/html;charset=utf-8")
    assert text == "Access Denied alice is missing the Overall/Administer permission"


def test_body_excerpt_is_limited_to_300_chars():
    text = body_excerpt("x " * 1000, "text/plain")
    assert len(text) <= 300
    assert text.endswith("\u2026")


def test_body_excerpt_of_html_without_layout():
    assert body_excerpt(PAGES["login_required"], "text/html") == "Authentication required"


def test_html_to_text_skips_scripts_styles_and_head():
    assert html_to_text("<html><head><title>T</title><style>a{}</style></head><body><script>x()</script>"
                        "<p>one</p><p>two &amp; three</p></body></html>") == "one two & three"


@pytest.mark.parametrize("text, secret", [
    ("Authorization: Basic YWxpY2U6c2VjcmV0dG9rZW4=", "YWxpY2U6c2VjcmV0dG9rZW4="),
    ("authorization=Bearer abc.def.ghi", "abc.def.ghi"),
    ('{"crumb": "0123456789abcdef0123456789abcdef"}', "0123456789abcdef0123456789abcdef"),
    ("Jenkins-Crumb: 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
    ("http://j/reload-configuration-as-code/?casc-reload-token=podname-123", "podname-123"),
    ("http://j/x?password=hunter22&a=1", "hunter22"),
    ("http://alice:hunter22@j/x", "hunter22"),
])
def test_redact_removes_secret_shaped_values_without_being_told(text, secret):
    assert secret not in redact(text)


def test_redact_removes_registered_secrets_and_their_basic_form():
    secret = "s3cr3t-t0ken"
    encoded = basic_auth_value("alice", secret)
    text = redact("token %s header %s" % (secret, encoded), [secret, encoded])
    assert secret not in text and encoded not in text
    assert text.count("********") == 2


def test_redact_ignores_tiny_secrets():
    assert redact("a banana", ["a"]) == "a banana"


def test_exception_scrubs_every_attribute():
    secret = "tok-123456789"
    exc = error_for_status(500, reason="Server Error", action="post", target="x", x_error="bad " + secret,
                           body_excerpt="echo " + secret, url="http://j/x?token=" + secret, secrets=[secret])
    for value in (str(exc), exc.x_error, exc.body_excerpt, exc.url, json.dumps(exc.to_result())):
        assert secret not in value


def test_casc_boot_error_result_has_the_casc_message():
    exc = JenkinsCascBootError("Invalid configuration elements", message="Jenkins failed: Invalid", status=503)
    assert exc.to_result()["casc_error"] == "Invalid configuration elements"
    assert str(exc) == "Jenkins failed: Invalid"
