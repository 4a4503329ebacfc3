"""The message catalogue: every text the bridge writes to a client, a third party or staff, by message
id and language (spec.py: what a message is; render.py: Jinja2 + Babel; catalogue.py: templates and their
checks; load.py: the shipped files and the configuration's templates)."""
