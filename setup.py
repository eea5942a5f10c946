"""The optional C extension, ``aiohttp_rpc._speedups``; everything else is in pyproject.toml.

Optional: without a C compiler the package installs without it and uses the pure-Python twins
(aiohttp_rpc/_native.py). Declared here because setuptools' pyproject form for extensions is still experimental
and warns on every build.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension('aiohttp_rpc._speedups', sources=['aiohttp_rpc/_speedups.c'], optional=True)])
