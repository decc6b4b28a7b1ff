"""Stands in for pip's get-pip.py when ansible-test runs sanity tests.

ansible-test makes each sanity test a virtual environment without pip and
puts pip into it by running a get-pip.py that it downloads from a host of
the Ansible project; CI and developers here reach PyPI but not that host.
tests/run puts this file where ansible-test caches the download, so that
pip comes from Python's own ensurepip instead, then is brought to the
version ansible-test asked for from PyPI.

ansible-test runs it as get-pip.py is run: with pip's options and
requirements (pip==X.Y) as arguments, and get-pip's own --no-setuptools and
--no-wheel, which pip does not know.
"""

import ensurepip
import os
import subprocess
import sys

OWN_OPTIONS = ('--no-setuptools', '--no-wheel')


def main():
    args = [a for a in sys.argv[1:] if a not in OWN_OPTIONS]
    # ensurepip points PIP_CONFIG_FILE at /dev/null for the rest of the
    # process; pip from PyPI needs the machine's configuration (its index,
    # its certificates), so it runs with the environment from before.
    env = dict(os.environ)
    ensurepip.bootstrap(upgrade=True)
    pip = [sys.executable, '-m', 'pip']
    subprocess.check_call(pip + ['install', '--quiet'] + args, env=env)
    # ensurepip brings setuptools on older Pythons; get-pip would not have.
    if '--no-setuptools' in sys.argv:
        subprocess.call(pip + ['uninstall', '--yes', '--quiet', 'setuptools'], env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == '__main__':
    main()
