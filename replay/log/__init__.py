"""Recorded event logs: their formats, and the Bytewax source that reads them in event order."""
