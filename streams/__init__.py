"""Stream sources for the webcast relay: adapters behind one interface, HLS parsing and health.

Pure and transport-free: nothing here imports the database or socket.io layers, so the server
can validate an organiser's source, tell browsers how to play it and probe its health.
"""
