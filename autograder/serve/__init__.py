"""`autograder serve`: the service students submit notebooks to (see server.py)."""
