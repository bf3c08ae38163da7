"""Git smart HTTP for each algorithm's repository (dulwich), at ``/git/<owner>/<algo>.git``.

    repos.py      the bare repositories on disk: create, read master, export a commit, delete
    smarthttp.py  the smart HTTP protocol for one repository
    backend.py    GitBackend: who may use a repository, and the build a push starts (state and logic)
    routes.py     ``/git/...`` (HTTP only)
"""
