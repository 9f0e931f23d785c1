"""The built-in lab: a simulated school network of real daemons on one machine."""
