"""Storage errors. The API server's generic store translates them into Status errors once.

Hierarchy::

    StorageError
      KeyExists        -- create of a key that exists
      Compacted        -- a read or watch at a revision that compaction removed
      Unavailable      -- the datastore cannot be reached
"""


class StorageError(Exception):
    pass


class KeyExists(StorageError):
    def __init__(self, key: str):
        super().__init__(f"key exists: {key}")
        self.key = key


class Compacted(StorageError):
    def __init__(self, requested: int, compacted: int):
        super().__init__(f"required revision {requested} has been compacted (compacted revision {compacted})")
        self.requested = requested
        self.compacted = compacted


class Unavailable(StorageError):
    pass
