"""Background jobs: simulations queued by people, run by a worker process, watched from a page."""
