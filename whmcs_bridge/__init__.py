"""whmcs-bridge: a rules daemon installed beside WHMCS."""

__version__ = "0.1.0"
