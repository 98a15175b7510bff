"""The labelled parser corpus (messages.yaml) and its evaluation (evaluate.py)."""
