"""Allow `python -m whmcs_bridge`."""

from whmcs_bridge.cli import main

main()
