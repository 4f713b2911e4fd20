"""netsim: discrete-event simulation of distributed deep-learning communication."""

__version__ = "0.1.0"
