"""Paper reproductions on Hyperion, each one command that regenerates its tables and figures."""
