"""Use cases: load through the store, call the domain, commit, then publish."""
