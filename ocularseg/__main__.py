"""``python -m ocularseg`` runs the CLI."""

from ocularseg.cli.app import main

if __name__ == "__main__":
    main()
