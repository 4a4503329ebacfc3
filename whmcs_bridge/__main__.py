"""Allow `python -m whmcs_bridge`."""

from whmcs_bridge.cli.app import main

main()
