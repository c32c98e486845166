"""Reference training runs that learners execute directly (``python -m hyperion.examples.mnist``)."""
