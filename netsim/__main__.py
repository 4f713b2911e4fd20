"""``python -m netsim`` entry point."""

from netsim.cli import main

if __name__ == "__main__":
    main()
