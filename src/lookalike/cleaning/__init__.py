"""Cleaning of raw CRM exports: one module per kind of dirt, and the table cleaner."""
