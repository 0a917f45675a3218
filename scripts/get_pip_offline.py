# Stand-in for the get-pip.py bootstrap script that ansible-test downloads on first use.
# ansible-test runs it as `python get_pip.py --disable-pip-version-check pip==X --no-setuptools --no-wheel`
# inside a fresh virtual environment (ansible_test/_util/target/setup/requirements.py#bootstrap).
# Offline, we install pip from the interpreter's own ensurepip wheel instead, then let that pip
# fetch the pinned version from the package index that this machine can reach; if that fails,
# the bundled pip is kept.
import glob
import os
import subprocess
import sys
import ensurepip

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    bundled = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
    if not bundled:
        sys.exit("no pip wheel bundled with this Python's ensurepip")
    env = dict(os.environ, PYTHONPATH=bundled[0])
    base = [sys.executable, "-m", "pip", "install", "--quiet"]
    if subprocess.call(base + args, env=env) == 0:
        return 0
    # Pinned version unavailable: install the bundled pip itself.
    return subprocess.call(base + ["--disable-pip-version-check", bundled[0]], env=env)


if __name__ == "__main__":
    sys.exit(main())
