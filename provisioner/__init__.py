"""provisioner: roll out, check and report the IT of a city's schools."""

__version__ = "0.1.0"
