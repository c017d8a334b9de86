"""The command line (`python -m pipeline …`): one module per command, the parser in `main.py`."""
