"""The WHMCS emulator: the API over real HTTP, scenarios from the seed stories, a control API and a hook sender."""
