# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for get-pip.py, for ansible-test on machines that cannot reach its download host.

ansible-test bootstraps pip in each of its virtual environments by running the get-pip script
cached at ~/.ansible/test/cache/get_pip_<version>.py, fetched from a host that may be
unreachable. This file, copied there by `make sanity`, does the same job with the pip wheel
that ships with Python's ensurepip: it runs that pip to install the pip version ansible-test
asks for (from the package index, which is reachable).
"""

import glob
import os
import sys

import ensurepip


def main():
    # get-pip.py options that this pip has no use for; setuptools/wheel are simply not installed.
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
    wheels = sorted(glob.glob(os.path.join(bundled, "pip-*.whl")))
    if not wheels:
        sys.stderr.write("no pip wheel bundled with ensurepip in {0}\n".format(bundled))
        return 1
    # A wheel is a zip of importable modules: pip runs straight from it.
    sys.path.insert(0, wheels[-1])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    return pip_main(["install", "--upgrade", "--force-reinstall"] + args)


if __name__ == "__main__":
    sys.exit(main())
