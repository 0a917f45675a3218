# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: this file is part of the collection's internal
# module_utils and may change at any time without notice.

"""One exception hierarchy for everything that talks to Jenkins.

Every message reads "Failed to <action> <target>: HTTP <status> <reason> (X-Error: ...): <excerpt>"
and is scrubbed of secrets before it is stored, so str(exc) is always safe to show.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

EXCERPT_LIMIT = 300
REDACTED = "********"

# Header values and URL parts that carry secrets, whatever the caller registered.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:basic|bearer|token)\s+)?[^\s,;'\"]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{8,}"), r"\1 " + REDACTED),
    (re.compile(r"(?i)((?:jenkins-crumb|crumb)[\"']?\s*[:=]\s*[\"']?)[0-9a-f]{16,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)([?&][^=&#\s]*(?:token|password|secret|crumb)[^=&#\s]*=)[^&#\s]+"), r"\1" + REDACTED),
    (re.compile(r"(://[^/@\s:]+:)[^/@\s]+(@)"), r"\1" + REDACTED + r"\2"),
)


def redact(text, secrets=()):
    """Return text with every known secret and every secret-shaped header value replaced."""
    if text is None:
        return None
    text = str(text)
    for secret in _secret_variants(secrets):
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _secret_variants(secrets):
    """Registered secrets, longest first (so a secret containing another is replaced whole).

    Secrets shorter than 3 characters are ignored: replacing every "a" in a message protects nothing.
    """
    variants = {str(s) for s in secrets if s is not None and len(str(s)) >= 3}
    return sorted(variants, key=len, reverse=True)


def basic_auth_value(username, secret):
    """The base64 part of an Authorization: Basic header, to be registered as a secret as well."""
    pair = "%s:%s" % (username or "", secret)
    return base64.b64encode(pair.encode("utf-8")).decode("ascii")


class _TextExtractor(HTMLParser):
    """Collects visible text, skipping head, scripts and styles; optionally only inside #main-panel."""

    _SKIP = ("head", "script", "style", "noscript", "template")
    _BLOCK = ("p", "div", "li", "br", "h1", "h2", "h3", "pre", "tr", "section", "header", "footer")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks = []
        self._skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag in self._BLOCK:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag in self._BLOCK:
            self.chunks.append("\n")

    def handle_data(self, data):
        if not self._skip_depth:
            self.chunks.append(data)


def html_to_text(html):
    """Visible text of an HTML page (or fragment), whitespace collapsed."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # pylint: disable=broad-except  # malformed HTML: fall back to a crude strip
        return " ".join(re.sub(r"<[^>]*>", " ", html).split())
    return " ".join("".join(parser.chunks).split())


_MAIN_PANEL = re.compile(r"<[^>]+id=[\"']main-panel[\"'][^>]*>", re.IGNORECASE)
_PANEL_END = re.compile(r"<footer\b|</main>", re.IGNORECASE)


def page_main_text(html):
    """Text of the page's main panel when Jenkins' layout is recognised, else the whole page's text."""
    match = _MAIN_PANEL.search(html)
    if match:
        end = _PANEL_END.search(html, match.end())
        return html_to_text(html[match.end():end.start() if end else len(html)])
    return html_to_text(html)


def looks_like_html(text, content_type=None):
    if content_type and "html" in content_type.lower():
        return True
    head = text.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or head.startswith("<html") or "<body" in head


def body_excerpt(text, content_type=None, limit=EXCERPT_LIMIT, secrets=()):
    """A short, secret-free, single-line excerpt of a response body (HTML stripped)."""
    if not text:
        return ""
    if looks_like_html(text, content_type):
        text = page_main_text(text)
    else:
        text = " ".join(text.split())
    text = redact(text, secrets)
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "\u2026"
    return text


class JenkinsError(Exception):
    """Base class. Attributes describe the failed call; str(exc) is the scrubbed message."""

    def __init__(self, message=None, action=None, target=None, status=None, reason=None,
                 x_error=None, body_excerpt=None, url=None, hint=None, secrets=()):  # pylint: disable=redefined-outer-name
        self.action = action
        self.target = target
        self.status = status
        self.reason = reason
        self.x_error = redact(x_error, secrets) if x_error else None
        self.body_excerpt = redact(body_excerpt, secrets) if body_excerpt else None
        self.url = redact(url, secrets) if url else None
        self.hint = hint
        if message is None:
            message = self._compose()
        self.message = redact(message, secrets)
        super().__init__(self.message)

    def _compose(self):
        what = "Failed to %s" % (self.action or "call Jenkins")
        if self.target:
            what += " %s" % self.target
        parts = []
        if self.status is not None:
            parts.append(("HTTP %s %s" % (self.status, self.reason or "")).rstrip())
        if self.x_error:
            parts.append("(X-Error: %s)" % self.x_error)
        message = what + (": " + " ".join(parts) if parts else "")
        if self.body_excerpt and self.body_excerpt != self.x_error:
            message += ": %s" % self.body_excerpt
        if self.hint:
            message += " (%s)" % self.hint
        return message

    def to_result(self):
        """Fields a module returns next to msg when it fails."""
        result = {}
        for key in ("status", "x_error", "url", "body_excerpt", "action", "target"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        return result


class JenkinsAuthError(JenkinsError):
    """HTTP 401: Jenkins rejected the user/token (or password) pair."""


class JenkinsPermissionError(JenkinsError):
    """HTTP 403: authenticated (or anonymous) user lacks a permission, or the CSRF crumb was refused."""


class JenkinsNotFound(JenkinsError):
    """HTTP 404."""


class JenkinsConflict(JenkinsError):
    """HTTP 409."""


class JenkinsHTTPError(JenkinsError):
    """Any other unexpected HTTP status, or a response that could not be understood."""


class JenkinsTimeout(JenkinsError):
    """A request timed out, or Jenkins did not become ready in time."""


class JenkinsConnectionError(JenkinsError):
    """The request did not get an HTTP answer: refused, reset, DNS, TLS."""


class JenkinsCascBootError(JenkinsError):
    """Jenkins serves the configuration-as-code "Error loading configuration" page (boot failure)."""

    def __init__(self, casc_message, **kwargs):
        self.casc_message = casc_message
        super().__init__(**kwargs)

    def to_result(self):
        result = super().to_result()
        result["casc_error"] = self.casc_message
        return result


_BY_STATUS = {
    401: JenkinsAuthError,
    403: JenkinsPermissionError,
    404: JenkinsNotFound,
    409: JenkinsConflict,
}

_HINTS = {
    401: "check username and token/password",
}


def error_class_for_status(status):
    return _BY_STATUS.get(status, JenkinsHTTPError)


def error_for_status(status, reason=None, action=None, target=None, x_error=None, body_excerpt=None,  # pylint: disable=redefined-outer-name
                     url=None, secrets=()):
    """Build the JenkinsError subclass that matches an HTTP status."""
    cls = error_class_for_status(status)
    return cls(action=action, target=target, status=status, reason=reason, x_error=x_error,
               body_excerpt=body_excerpt, url=url, hint=_HINTS.get(status), secrets=secrets)
