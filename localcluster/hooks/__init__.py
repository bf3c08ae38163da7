"""Test hooks, apart from the emulated API (as moto keeps ``/moto-api``): ``/localcluster/...``."""
