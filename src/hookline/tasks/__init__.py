"""One module per queue; each task is thin: load, call a service, record the outcome."""
