"""Images the sandbox "knows" (can pull), and the messages a kubelet shows for the others.

There is no registry and no container engine here. An image is pullable when its repository is in
KNOWN_REPOSITORIES (any tag or digest). Everything else fails the way containerd reports a missing
image, and the kubelet turns that into ErrImagePull / ImagePullBackOff
(kubernetes/kubernetes pkg/kubelet/images/image_manager.go, pkg/kubelet/images/types.go).
"""

import hashlib

DEFAULT_REGISTRY = "docker.io"

# repository (normalised, without registry "docker.io" / "library/") -> approximate size in bytes
KNOWN_REPOSITORIES = {
    "jenkins/jenkins": 283_000_000,
    "jenkins/inbound-agent": 165_000_000,
    "jenkins/jnlp-slave": 160_000_000,
    "jenkins/agent": 160_000_000,
    "jenkinsci/jnlp-slave": 160_000_000,
    "busybox": 2_150_000,
    "alpine": 3_400_000,
    "nginx": 67_000_000,
    "bitnami/kubectl": 80_000_000,
    "registry.k8s.io/pause": 320_000,
    "k8s.gcr.io/pause": 320_000,
}

# Additional repositories can be made known at run time (tests, other sandbox parts).
_extra = {}


def register_image(repository, size=50_000_000):
    """Make ``repository`` (e.g. ``example/app``) pullable."""
    _extra[normalise(repository)[0]] = size


def normalise(image):
    """Split an image reference the way containerd's reference.ParseNormalizedNamed does.

    Returns (repository, tag_or_digest, fully_qualified) where repository drops ``docker.io/``
    and ``library/`` so that ``busybox``, ``library/busybox`` and ``docker.io/library/busybox``
    are the same, and fully_qualified is ``docker.io/library/busybox:latest``.
    """
    ref = (image or "").strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, path = parts[0], "/".join(parts[1:])
    else:
        registry, path = DEFAULT_REGISTRY, ref
    if registry == DEFAULT_REGISTRY and "/" not in path:
        full_path = "library/" + path
    else:
        full_path = path
    if registry == DEFAULT_REGISTRY:
        repository = path[len("library/"):] if path.startswith("library/") else path
    else:
        repository = registry + "/" + path
    suffix = "@" + digest if digest else ":" + (tag or "latest")
    return repository, (digest or tag or "latest"), f"{registry}/{full_path}{suffix}"


def is_known(image):
    repository = normalise(image)[0]
    return repository in KNOWN_REPOSITORIES or repository in _extra


def image_size(image):
    repository = normalise(image)[0]
    return _extra.get(repository) or KNOWN_REPOSITORIES.get(repository, 0)


def image_id(image):
    """``docker.io/library/busybox@sha256:…`` as containerd reports in containerStatuses[].imageID.

    The digest is derived from the reference (there are no image bytes here); it is stable per tag.
    """
    _, _, full = normalise(image)
    name = full.split("@", 1)[0].rsplit(":", 1)[0] if "@" not in full else full.split("@", 1)[0]
    return f"{name}@sha256:{hashlib.sha256(full.encode()).hexdigest()}"


def pull_error_message(image):
    """The message containerd/CRI returns for an image that does not exist (kubelet event text).

    Format of kubelet's event: ``Failed to pull image "<image>": <CRI error>``
    (pkg/kubelet/images/image_manager.go: "Failed to pull image %q: %v").
    """
    _, _, full = normalise(image)
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and '
        f'unpack image "{full}": failed to resolve reference "{full}": {full}: not found'
    )
