"""API keys other than the master key: the keys file (KEYS_FILE) by hash, the KeyRing the proxy checks, the auth hook."""

from adapter.keys.file import HASH_PREFIX, Key, KeysError, hash_key, load_keys, save_keys
from adapter.keys.ring import KeyRing

__all__ = ["HASH_PREFIX", "Key", "KeyRing", "KeysError", "hash_key", "load_keys", "save_keys"]
