"""Personal data at rest: sealed with AES-256-GCM (the `cryptography` library), found
again through a keyed blind index, never decrypted in SQL.

Why not pgcrypto: its functions take the key as an SQL argument, so the key would pass
through statement logs and pg_stat_activity; here it never leaves the service process.

Keys are 32 random bytes, base64url: JINWEI_PERSONAL_DATA_KEY (or the file
JINWEI_PERSONAL_DATA_KEY_FILE, default var/personal-data-key, which `make run` creates)
seals; JINWEI_PERSONAL_DATA_KEY_PREVIOUS (comma-separated) still opens what older keys
sealed, until `python -m services.cadres.cli rekey` has sealed everything anew. Lose
every key and the sealed data is gone: back the key up like a database password.

    sealed = protector.seal("330102199001011234", purpose=b"people.id_number")
    protector.open(sealed, purpose=b"people.id_number")
    protector.index("330102199001011234")        # the current key's index (stored)
    protector.indexes("330102199001011234")      # every key's (to look it up mid-rotation)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nameko.extensions import DependencyProvider

from shared.platform import config

NONCE_BYTES = 12
KEY_ID_BYTES = 4


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _raw(key: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode())
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("a personal-data key is 32 bytes, base64url-encoded "
                         "(python -c 'import shared.platform.personal_data as p; print(p.new_key())')")
    return raw


class Protector:
    def __init__(self, keys: tuple[str, ...]):
        if not keys:
            raise ValueError("no personal-data key: set JINWEI_PERSONAL_DATA_KEY or "
                             "JINWEI_PERSONAL_DATA_KEY_FILE (make run creates var/personal-data-key)")
        raws = [_raw(k) for k in keys]
        # A key's id (stored in front of what it sealed) picks the key that opens it.
        self._sealers = {hashlib.sha256(raw).digest()[:KEY_ID_BYTES]: AESGCM(raw) for raw in raws}
        self._current = hashlib.sha256(raws[0]).digest()[:KEY_ID_BYTES]
        # The index key is derived, so the sealing key itself never hashes the data.
        self._index_keys = [hmac.new(raw, b"jinwei blind index v1", hashlib.sha256).digest()
                            for raw in raws]

    def seal(self, plaintext: str, *, purpose: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return (self._current + nonce
                + self._sealers[self._current].encrypt(nonce, plaintext.encode(), purpose))

    def open(self, sealed: bytes, *, purpose: bytes) -> str:
        sealed = bytes(sealed)
        key_id, nonce = sealed[:KEY_ID_BYTES], sealed[KEY_ID_BYTES:KEY_ID_BYTES + NONCE_BYTES]
        sealer = self._sealers.get(key_id)
        if sealer is None:
            raise LookupError("sealed with a key that is no longer configured "
                              "(add it to JINWEI_PERSONAL_DATA_KEY_PREVIOUS)")
        return sealer.decrypt(nonce, sealed[KEY_ID_BYTES + NONCE_BYTES:], purpose).decode()

    def sealed_with_current_key(self, sealed: bytes) -> bool:
        return bytes(sealed[:KEY_ID_BYTES]) == self._current

    def index(self, plaintext: str) -> bytes:
        return self.indexes(plaintext)[0]

    def indexes(self, plaintext: str) -> list[bytes]:
        return [hmac.new(key, plaintext.encode(), hashlib.sha256).digest()
                for key in self._index_keys]


class PersonalData(DependencyProvider):
    """`self.personal_data`: the Protector, from the settings' keys; the service does not
    start without one."""

    def setup(self):
        settings: config.Settings = self.container.config["JINWEI"]
        self.protector = Protector(settings.personal_data_keys)

    def get_dependency(self, worker_ctx):
        return self.protector
