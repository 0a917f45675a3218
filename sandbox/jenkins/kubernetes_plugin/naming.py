"""Names and labels as the Kubernetes plugin computes them."""

import random
import re

# PodUtils#NAME_PATTERN (DNS-1123 subdomain without the length limit)
NAME_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz0123456789"   # PodUtils#generateRandomSuffix
DEFAULT_AGENT_PREFIX = "jenkins-agent"            # KubernetesSlave#DEFAULT_AGENT_PREFIX

_rng = random.SystemRandom()


def generate_random_suffix():
    """PodUtils#generateRandomSuffix: RandomStringUtils.random(5, "bcdfghjklmnpqrstvwxz0123456789")."""
    return "".join(_rng.choice(SUFFIX_CHARS) for _ in range(5))


def create_name_with_random_suffix(name):
    """PodUtils#createNameWithRandomSuffix: spaces/underscores -> '-', lower-cased, cut to
    62 - len(suffix) chars, then '-' + suffix."""
    suffix = generate_random_suffix()
    name = re.sub(r"[ _]", "-", name).lower()
    name = name[: min(len(name), 62 - len(suffix))]
    return f"{name}-{suffix}"


def slave_name(template_name):
    """KubernetesSlave#getSlaveName: template name (or jenkins-agent) + random suffix; falls back
    to jenkins-agent-xxxxx when the result is not a valid name."""
    name = template_name or DEFAULT_AGENT_PREFIX
    out = create_name_with_random_suffix(name)
    if not NAME_PATTERN.fullmatch(out):
        out = create_name_with_random_suffix(DEFAULT_AGENT_PREFIX)
    return out


def sanitize_label(text):
    """PodTemplateUtils#sanitizeLabel: keep the last 63-1-5 = 57 chars, replace chars outside
    [_a-zA-Z0-9-] with '_', replace a non-alphanumeric first / last char with 'x'."""
    if text is None:
        return None
    mx = 63 - 1 - 5
    label = text[len(text) - mx:] if len(text) > mx else text
    label = re.sub(r"[^_a-zA-Z0-9-]", "_", label)
    label = re.sub(r"^[^a-zA-Z0-9]", "x", label, count=1)
    label = re.sub(r"[^a-zA-Z0-9]$", "x", label, count=1)
    return label
