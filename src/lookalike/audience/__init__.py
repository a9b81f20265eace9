"""Audiences: seeds, scoring, explanations, expansion, comparison and playbooks."""
