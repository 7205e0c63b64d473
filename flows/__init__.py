"""Thin Bytewax wiring of the Pitboss dataflow: sources, steps and sinks."""
