"""The Data API (``data://``): see ``backend`` for what is and is not emulated.

    backend.py   DataBackend: collections and their ACLs, what a caller may read or write
                 (state and logic)
    paths.py     what a data URI names, pseudonyms resolved, every segment checked
    acl.py       the three read ACLs of user collections
    storage.py   files on disk: atomic uploads and deletes, listings (no users, no permissions)
    routes.py    ``/v1/data``, ``/v1/connector/...``, ``/v1/hostedData`` (HTTP only)
"""
