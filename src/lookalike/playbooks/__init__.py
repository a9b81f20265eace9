"""Built-in campaign playbooks (TOML files)."""
