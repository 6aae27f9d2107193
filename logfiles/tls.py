"""HTTPS: a throw-away CA and a certificate for this machine made at start, or a given pair, checked.

Made with trustme (which uses `cryptography`), never by hand: the CA signs one server
certificate for `localhost`, `127.0.0.1` and `::1`; the CA's certificate is written where a
client can be pointed at it (`curl --cacert`, `requests` `verify=`), and the server's
certificate and key go to a private directory the server loads them from. A given
certificate and key are read and matched here, so a bad pair stops start-up with one line
(ConfigError) rather than a traceback in every worker.

The servers call this once, in the process that forks the workers (gunicorn's master,
`logfiles-stub serve`), so every worker serves the same certificate.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass

from .config import Settings
from .errors import ConfigError

# The names a client on this machine reaches the stub by: the certificate made at start is
# valid for these only. A stub reached by another name (bound to 0.0.0.0, in a container)
# needs a certificate for that name, given with LOGFILES_TLS_CERT/KEY.
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
CA_FILE_NAME = "logfiles-ca.pem"

# What this process made, by CA file, with the CA's certificate. gunicorn reads its
# configuration again on SIGHUP, in the same master: the clients still trust the CA they
# read at start, so the reloaded server keeps the certificate (and the CA file is put back).
_made: dict[str, tuple[ServerCertificate, bytes]] = {}


@dataclass(frozen=True, slots=True)
class ServerCertificate:
    """What a server needs to speak TLS, and the CA a client needs to trust it."""

    cert_file: str  # PEM: the server's certificate, then any intermediates
    key_file: str  # PEM: its private key
    ca_file: str | None  # the throw-away CA's certificate; None for a given certificate

    def server_context(self) -> ssl.SSLContext:
        """A server-side context with this certificate, for servers other than gunicorn."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def announcement(self) -> str:
        """The start-up line: where the certificate is, and how a client trusts it."""
        if self.ca_file is None:
            return f"logfiles: serving https with the certificate {self.cert_file} (key {self.key_file})"
        names = ", ".join(LOCAL_NAMES)
        return (
            f"logfiles: serving https with a certificate for {names} from a throw-away CA "
            f"made at start; trust it with its certificate: {self.ca_file} (curl --cacert {self.ca_file})"
        )


def default_ca_file() -> str:
    """Where the CA's certificate goes when LOGFILES_TLS_CA_FILE is unset."""
    return os.path.join(tempfile.gettempdir(), CA_FILE_NAME)


def server_certificate(settings: Settings, directory: str | None = None) -> ServerCertificate | None:
    """The certificate to serve under `settings`; None for plain http. ConfigError if it cannot be.

    A given pair is checked and served from where it is. Otherwise a CA and a certificate
    are made, the key and certificate written to `directory` (default: a new private one,
    removed when this process exits) and the CA to LOGFILES_TLS_CA_FILE.
    """
    if not settings.serves_tls:
        return None
    if settings.tls_cert is not None and settings.tls_key is not None:
        check_pair(settings.tls_cert, settings.tls_key)
        return ServerCertificate(os.path.abspath(settings.tls_cert), os.path.abspath(settings.tls_key), None)
    ca_file = os.path.abspath(settings.tls_ca_file or default_ca_file())
    if directory is None and ca_file in _made:
        kept, ca_pem = _made[ca_file]
        if os.path.exists(kept.cert_file) and os.path.exists(kept.key_file):
            _write_ca(ca_file, ca_pem)
            return kept
    try:
        certificate, ca_pem = _make(ca_file, private_directory() if directory is None else directory)
    except OSError as exc:  # the temp dir full or read-only: the CA file has its own message
        raise ConfigError(
            "LOGFILES_TLS",
            f"cannot write the server's certificate and key to {exc.filename!r}: {_reason(exc)}",
        ) from None
    if directory is None:
        _made[ca_file] = (certificate, ca_pem)
    return certificate


def _make(ca_file: str, directory: str) -> tuple[ServerCertificate, bytes]:
    """A new CA (its certificate written to `ca_file`) and a certificate for LOCAL_NAMES in `directory`."""
    import trustme  # only when TLS is on: it imports cryptography, a tenth of a second

    authority = trustme.CA(organization_name="logfiles-stub")
    leaf = authority.issue_cert(*LOCAL_NAMES, common_name="localhost")
    cert_file = os.path.join(directory, "server-cert.pem")
    key_file = os.path.join(directory, "server-key.pem")
    _write(key_file, leaf.private_key_pem.bytes(), 0o600)
    _write(cert_file, b"".join(blob.bytes() for blob in leaf.cert_chain_pems), 0o600)
    ca_pem = authority.cert_pem.bytes()
    _write_ca(ca_file, ca_pem)
    return ServerCertificate(cert_file, key_file, ca_file), ca_pem


def _write_ca(ca_file: str, ca_pem: bytes) -> None:
    try:
        write_atomically(ca_file, ca_pem)
    except OSError as exc:
        raise ConfigError(
            "LOGFILES_TLS_CA_FILE", f"cannot write the CA certificate to {ca_file!r}: {_reason(exc)}"
        ) from None


def write_atomically(path: str, data: bytes) -> None:
    """Write `path` through a temporary file and a rename: a client never reads half a CA.

    The rename also replaces a symlink at `path` rather than writing through it. Mode 0644:
    a CA certificate is public, and a client may run as another user (or in a container).
    """
    handle, temporary = tempfile.mkstemp(
        dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def private_directory() -> str:
    """A new 0700 directory for the server's key, removed when this process exits normally.

    gunicorn's workers are forks of the master and run its exit handlers when they exit; the
    directory goes only with the process that made it, or a worker that is replaced would take
    the key away from the next one.
    """
    directory = tempfile.mkdtemp(prefix="logfiles-tls-")  # mode 0700
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(directory, ignore_errors=True)

    atexit.register(remove)
    return directory


def check_pair(cert_file: str, key_file: str) -> None:
    """A given certificate and key: readable, PEM, unencrypted, and each other's; else ConfigError."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_private_key,
    )

    cert_data = _read("LOGFILES_TLS_CERT", cert_file)
    key_data = _read("LOGFILES_TLS_KEY", key_file)
    try:
        certificates = x509.load_pem_x509_certificates(cert_data)
    except ValueError:
        raise ConfigError("LOGFILES_TLS_CERT", f"{cert_file!r} holds no PEM certificate") from None
    try:
        key = load_pem_private_key(key_data, password=None)
    except TypeError:  # cryptography's word for "encrypted, and no password was given"
        raise ConfigError(
            "LOGFILES_TLS_KEY",
            f"{key_file!r} is encrypted; give the key unencrypted (the server cannot ask for a passphrase)",
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError("LOGFILES_TLS_KEY", f"{key_file!r} holds no PEM private key") from None
    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if certificates[0].public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise ConfigError(
            "LOGFILES_TLS_KEY",
            f"{key_file!r} is not the key of the certificate in {cert_file!r} "
            "(the first certificate there must be the server's)",
        )
    try:  # what the server will do; OpenSSL may still refuse what cryptography read
        ServerCertificate(cert_file, key_file, None).server_context()
    except ssl.SSLError as exc:
        raise ConfigError(
            "LOGFILES_TLS_CERT", f"OpenSSL cannot serve {cert_file!r} with {key_file!r}: {exc.reason or exc}"
        ) from None


def _read(variable: str, path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise ConfigError(variable, f"cannot read {path!r}: {_reason(exc)}") from None


def _write(path: str, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
