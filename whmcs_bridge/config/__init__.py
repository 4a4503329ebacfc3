"""The configuration: the generic reader (reader.py), the core sections and loading (load.py). Each rule family
declares its own section in families/<name>/config.py."""
