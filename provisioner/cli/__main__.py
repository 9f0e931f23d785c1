"""`python -m provisioner.cli`."""

from provisioner.cli import main

main()
