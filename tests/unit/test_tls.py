"""HTTPS settings and certificates: each bad value one ConfigError line; what is made is valid and trusted."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from logfiles import tls
from logfiles.config import Settings
from logfiles.errors import ConfigError
from logfiles.serving import TLS_CONTEXT_HOOK, tls_options

# --- the variables ------------------------------------------------------------------------------


def test_tls_is_off_by_default() -> None:
    settings = Settings.from_env({})
    assert not settings.serves_tls
    assert (settings.tls, settings.tls_ca_file, settings.tls_cert, settings.tls_key) == (
        None,
        None,
        None,
        None,
    )
    assert tls.server_certificate(settings) is None
    assert tls_options(settings) == {}


@pytest.mark.parametrize(
    ("env", "serves"),
    [
        ({"LOGFILES_TLS": "on"}, True),
        ({"LOGFILES_TLS": "off"}, False),
        ({"LOGFILES_TLS": " ON "}, True),
        ({"LOGFILES_TLS": ""}, False),
        ({"LOGFILES_TLS": "on", "LOGFILES_TLS_CA_FILE": "/x/ca.pem"}, True),
        ({"LOGFILES_TLS_CERT": "c.pem", "LOGFILES_TLS_KEY": "k.pem"}, True),  # giving them turns it on
        ({"LOGFILES_TLS": "on", "LOGFILES_TLS_CERT": "c.pem", "LOGFILES_TLS_KEY": "k.pem"}, True),
    ],
)
def test_good_combinations(env: dict[str, str], serves: bool) -> None:
    settings = Settings.from_env(env)
    assert settings.serves_tls is serves
    assert settings.tls_ca_file == env.get("LOGFILES_TLS_CA_FILE")
    assert settings.tls_cert == env.get("LOGFILES_TLS_CERT")


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({"LOGFILES_TLS": "maybe"}, "LOGFILES_TLS", "is not one of on/off"),
        ({"LOGFILES_TLS_CERT": "c.pem"}, "LOGFILES_TLS_KEY", "must be set when LOGFILES_TLS_CERT is"),
        ({"LOGFILES_TLS_KEY": "k.pem"}, "LOGFILES_TLS_CERT", "must be set when LOGFILES_TLS_KEY is"),
        (
            {"LOGFILES_TLS": "off", "LOGFILES_TLS_CERT": "c.pem", "LOGFILES_TLS_KEY": "k.pem"},
            "LOGFILES_TLS",
            "is off, but LOGFILES_TLS_CERT and LOGFILES_TLS_KEY are set",
        ),
        (
            {"LOGFILES_TLS_CA_FILE": "ca.pem", "LOGFILES_TLS_CERT": "c.pem", "LOGFILES_TLS_KEY": "k.pem"},
            "LOGFILES_TLS_CA_FILE",
            "with LOGFILES_TLS_CERT no CA is made",
        ),
        ({"LOGFILES_TLS_CA_FILE": "ca.pem"}, "LOGFILES_TLS_CA_FILE", "LOGFILES_TLS is not on"),
        (
            {"LOGFILES_TLS": "off", "LOGFILES_TLS_CA_FILE": "ca.pem"},
            "LOGFILES_TLS_CA_FILE",
            "LOGFILES_TLS is not on",
        ),
    ],
)
def test_bad_combination_is_one_line_naming_the_variable(
    env: dict[str, str], variable: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ") and words in str(info.value)
    assert "\n" not in str(info.value)


# --- the certificate made at start ----------------------------------------------------------------


def made(tmp_path: Path) -> tls.ServerCertificate:
    certificate = tls.server_certificate(
        Settings(tls=True, tls_ca_file=str(tmp_path / "ca.pem")), str(tmp_path / "private")
    )
    assert certificate is not None
    return certificate


@pytest.fixture
def private(tmp_path: Path) -> Path:
    directory = tmp_path / "private"
    directory.mkdir(mode=0o700)
    return directory


def test_made_certificate_names_this_machine_and_is_signed_by_the_written_ca(
    tmp_path: Path, private: Path
) -> None:
    certificate = made(tmp_path)
    assert certificate.ca_file == str(tmp_path / "ca.pem")
    assert Path(certificate.cert_file).parent == private
    assert Path(certificate.key_file).parent == private
    ca = x509.load_pem_x509_certificate(Path(certificate.ca_file).read_bytes())
    (leaf,) = x509.load_pem_x509_certificates(Path(certificate.cert_file).read_bytes())
    leaf.verify_directly_issued_by(ca)  # raises if the CA did not sign it
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    key = serialization.load_pem_private_key(Path(certificate.key_file).read_bytes(), None)
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key.public_key().public_bytes(*spki) == leaf.public_key().public_bytes(*spki)


def handshake(certificate: tls.ServerCertificate, name: str) -> object:
    """A real handshake, as `requests` or curl do it: trusting the CA file alone, checking `name`."""
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        thread = threading.Thread(target=serve_once, args=(certificate, server_side))
        thread.start()
        try:
            client = ssl.create_default_context(cafile=certificate.ca_file)
            with client.wrap_socket(client_side, server_hostname=name) as connection:
                return connection.getpeercert()
        finally:
            thread.join(10)


def serve_once(certificate: tls.ServerCertificate, sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the client refused us: its test says so
        certificate.server_context().wrap_socket(sock, server_side=True).close()


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_a_client_trusting_the_ca_file_verifies_the_server_by_that_name(
    tmp_path: Path, private: Path, name: str
) -> None:
    assert handshake(made(tmp_path), name)


def test_a_client_refuses_another_name(tmp_path: Path, private: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        handshake(made(tmp_path), "example.com")


def test_a_client_without_the_ca_refuses_the_server(tmp_path: Path, private: Path) -> None:
    certificate = made(tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(tls.ServerCertificate(certificate.cert_file, certificate.key_file, None), "localhost")


def test_files_are_private_and_the_ca_public(tmp_path: Path, private: Path) -> None:
    certificate = made(tmp_path)
    assert stat.S_IMODE(os.stat(certificate.key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(certificate.cert_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(certificate.ca_file)).st_mode) == 0o644


def test_ca_file_is_replaced_whole_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "ca.pem"
    target.write_text("old")
    elsewhere = tmp_path / "elsewhere.pem"
    elsewhere.write_text("not mine")
    link = tmp_path / "link.pem"
    link.symlink_to(elsewhere)
    tls.write_atomically(str(target), b"new")
    tls.write_atomically(str(link), b"new")
    assert target.read_bytes() == b"new"
    assert link.read_bytes() == b"new" and not link.is_symlink()
    assert elsewhere.read_text() == "not mine"  # the rename replaced the link, never wrote through it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.pem", "elsewhere.pem", "link.pem"]


def test_each_start_makes_a_new_ca(tmp_path: Path) -> None:
    settings = Settings(tls=True, tls_ca_file=str(tmp_path / "ca.pem"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = tls.server_certificate(settings, str(tmp_path / "a"))
    assert first is not None
    first_ca = Path(str(first.ca_file)).read_bytes()
    tls.server_certificate(settings, str(tmp_path / "b"))
    assert Path(str(first.ca_file)).read_bytes() != first_ca


def test_default_ca_file_is_in_the_temp_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # gettempdir() caches its first answer
    assert tls.default_ca_file() == str(tmp_path / "logfiles-ca.pem")
    (tmp_path / "private").mkdir()
    certificate = tls.server_certificate(Settings(tls=True), str(tmp_path / "private"))
    assert certificate is not None and certificate.ca_file == str(tmp_path / "logfiles-ca.pem")


@pytest.mark.parametrize(
    "ca_file",
    ["missing-dir/ca.pem", "is-a-dir"],
)
def test_ca_file_that_cannot_be_written_is_one_line(tmp_path: Path, private: Path, ca_file: str) -> None:
    (tmp_path / "is-a-dir").mkdir()
    path = tmp_path / ca_file
    with pytest.raises(ConfigError) as info:
        tls.server_certificate(Settings(tls=True, tls_ca_file=str(path)), str(private))
    assert info.value.variable == "LOGFILES_TLS_CA_FILE"
    assert str(info.value).startswith(f"LOGFILES_TLS_CA_FILE: cannot write the CA certificate to '{path}': ")
    assert "\n" not in str(info.value)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_private_directory_unwritable_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        tls.server_certificate(
            Settings(tls=True, tls_ca_file=str(tmp_path / "ca.pem")), str(tmp_path / "no-such-dir")
        )
    assert info.value.variable == "LOGFILES_TLS"
    assert "cannot write the server's certificate and key to" in str(info.value)


def test_private_directory_is_0700_and_goes_with_its_process_only() -> None:
    """A forked worker that exits (and runs the exit handlers) must leave the key to the master."""
    script = (
        "import os, sys\n"
        "from logfiles.tls import private_directory\n"
        "d = private_directory()\n"
        "print(d, oct(os.stat(d).st_mode & 0o777), flush=True)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    sys.exit(0)\n"  # runs the atexit handlers, as a gunicorn worker does
        "os.waitpid(pid, 0)\n"
        "print(os.path.isdir(d), flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    directory, mode, after_child = out
    assert mode == "0o700"
    assert after_child == "True"  # the child's exit left it
    assert not os.path.exists(directory)  # the owner's exit removed it


# --- a certificate and key given -----------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def given(
    tmp_path: Path, authority: trustme.CA, names: tuple[str, ...] = ("127.0.0.1",)
) -> tuple[Path, Path]:
    leaf = authority.issue_cert(*names)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    for n, blob in enumerate(leaf.cert_chain_pems):
        blob.write_to_path(cert, append=n > 0)
    leaf.private_key_pem.write_to_path(key)
    return cert, key


def test_given_pair_is_served_from_where_it_is(tmp_path: Path, authority: trustme.CA) -> None:
    cert, key = given(tmp_path, authority)
    certificate = tls.server_certificate(Settings(tls_cert=str(cert), tls_key=str(key)))
    assert certificate == tls.ServerCertificate(str(cert), str(key), None)
    assert "with the certificate" in certificate.announcement()


def test_given_chain_with_an_intermediate_is_accepted(tmp_path: Path, authority: trustme.CA) -> None:
    intermediate = authority.create_child_ca()
    cert, key = given(tmp_path, intermediate)
    assert len(x509.load_pem_x509_certificates(cert.read_bytes())) == 2
    tls.check_pair(str(cert), str(key))


def test_given_relative_paths_are_made_absolute(
    tmp_path: Path, authority: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    given(tmp_path, authority)
    monkeypatch.chdir(tmp_path)
    certificate = tls.server_certificate(Settings(tls_cert="cert.pem", tls_key="key.pem"))
    assert certificate is not None
    assert (certificate.cert_file, certificate.key_file) == (
        str(tmp_path / "cert.pem"),
        str(tmp_path / "key.pem"),
    )


def bad_pair(tmp_path: Path, authority: trustme.CA, case: str) -> tuple[Path, Path]:
    """The files for one bad case; the rest of the pair is good."""
    cert, key = given(tmp_path, authority)
    if case == "cert missing":
        cert.unlink()
    elif case == "key missing":
        key.unlink()
    elif case == "cert is a directory":
        cert.unlink()
        cert.mkdir()
    elif case == "cert not PEM":
        cert.write_text("hello")
    elif case == "cert is the key":
        cert.write_bytes(key.read_bytes())
    elif case == "key not PEM":
        key.write_text("hello")
    elif case == "key is the certificate":
        key.write_bytes(cert.read_bytes())
    elif case == "key encrypted":
        loaded = serialization.load_pem_private_key(key.read_bytes(), None)
        key.write_bytes(
            loaded.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
    elif case == "key of another certificate":
        authority.issue_cert("127.0.0.1").private_key_pem.write_to_path(key)
    return cert, key


@pytest.mark.parametrize(
    ("case", "variable", "words"),
    [
        ("cert missing", "LOGFILES_TLS_CERT", "No such file or directory"),
        ("key missing", "LOGFILES_TLS_KEY", "No such file or directory"),
        ("cert is a directory", "LOGFILES_TLS_CERT", "Is a directory"),
        ("cert not PEM", "LOGFILES_TLS_CERT", "holds no PEM certificate"),
        ("cert is the key", "LOGFILES_TLS_CERT", "holds no PEM certificate"),
        ("key not PEM", "LOGFILES_TLS_KEY", "holds no PEM private key"),
        ("key is the certificate", "LOGFILES_TLS_KEY", "holds no PEM private key"),
        ("key encrypted", "LOGFILES_TLS_KEY", "is encrypted"),
        ("key of another certificate", "LOGFILES_TLS_KEY", "is not the key of the certificate"),
    ],
)
def test_bad_given_pair_is_one_line_naming_the_variable(
    tmp_path: Path, authority: trustme.CA, case: str, variable: str, words: str
) -> None:
    cert, key = bad_pair(tmp_path, authority, case)
    with pytest.raises(ConfigError) as info:
        tls.server_certificate(Settings(tls_cert=str(cert), tls_key=str(key)))
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ") and words in str(info.value)
    assert "\n" not in str(info.value)


def test_a_pair_openssl_refuses_is_one_line(tmp_path: Path) -> None:
    """A 1024-bit RSA key reads fine but is under OpenSSL's security level: say so at start."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  # weak on purpose
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "weak.pem", tmp_path / "weak.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    try:
        tls.ServerCertificate(str(cert_file), str(key_file), None).server_context()
    except ssl.SSLError:
        pass
    else:
        pytest.skip("this OpenSSL serves 1024-bit RSA keys")
    with pytest.raises(ConfigError) as info:
        tls.check_pair(str(cert_file), str(key_file))
    assert str(info.value).startswith(
        f"LOGFILES_TLS_CERT: OpenSSL cannot serve '{cert_file}' with '{key_file}': "
    )
    assert "\n" not in str(info.value)


def test_the_certificate_made_is_kept_for_a_reload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn reads its configuration again on SIGHUP; its clients still trust the first CA."""
    directories = iter([tmp_path / "first", tmp_path / "second"])

    def private_directory() -> str:
        directory = next(directories)
        directory.mkdir()
        return str(directory)

    monkeypatch.setattr(tls, "private_directory", private_directory)
    settings = Settings(tls=True, tls_ca_file=str(tmp_path / "ca.pem"))
    first = tls.server_certificate(settings)
    assert first is not None
    ca_pem = (tmp_path / "ca.pem").read_bytes()
    (tmp_path / "ca.pem").unlink()
    assert tls.server_certificate(settings) == first
    assert (tmp_path / "ca.pem").read_bytes() == ca_pem  # put back
    os.unlink(first.key_file)  # its files gone: a new one is made
    second = tls.server_certificate(settings)
    assert second is not None and second != first
    assert (tmp_path / "ca.pem").read_bytes() != ca_pem


def test_unreadable_file_is_one_line(tmp_path: Path, authority: trustme.CA) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    cert, key = given(tmp_path, authority)
    key.chmod(0)
    with pytest.raises(ConfigError, match=r"^LOGFILES_TLS_KEY: cannot read .*: Permission denied$"):
        tls.check_pair(str(cert), str(key))


# --- what the servers are given -------------------------------------------------------------------


def test_tls_options_give_gunicorn_the_certificate_and_say_where_the_ca_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls, "private_directory", lambda: str(tmp_path))
    options = tls_options(Settings(tls=True, tls_ca_file=str(tmp_path / "ca.pem")))
    assert options == {
        "certfile": str(tmp_path / "server-cert.pem"),
        "keyfile": str(tmp_path / "server-key.pem"),
        "ssl_context": TLS_CONTEXT_HOOK,
    }
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and line.startswith("logfiles: serving https ")
    assert f"curl --cacert {tmp_path / 'ca.pem'}" in line


def test_the_context_hook_defers_the_handshake_to_the_worker() -> None:
    from gunicorn.config import Config

    from logfiles import worker

    config = Config()
    config.set("ssl_context", TLS_CONTEXT_HOOK)  # gunicorn imports the name as it would
    assert config.ssl_context is worker.ssl_context
    made_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context = worker.ssl_context(config, lambda: made_context)
    assert context.protocol == made_context.protocol  # everything else is gunicorn's context
    with socket.socket() as raw:
        wrapped = context.wrap_socket(raw, server_side=True)
        assert wrapped.do_handshake_on_connect is False
        wrapped.close()


# --- the worker's handshake ------------------------------------------------------------------------


class _Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str, *args: object) -> None:
        self.lines.append(("info", message % args))

    def debug(self, message: str, *args: object) -> None:
        self.lines.append(("debug", message % args))


class _Client:
    def __init__(self, outcome: BaseException | None = None, stall: bool = False) -> None:
        self.outcome = outcome
        self.stall = stall

    def do_handshake(self) -> None:
        if self.stall:
            import gevent

            gevent.sleep(60)
        if self.outcome is not None:
            raise self.outcome


@pytest.mark.parametrize(
    ("client", "ok", "logged"),
    [
        (_Client(), True, []),
        (
            _Client(ssl.SSLError(1, "[SSL: HTTP_REQUEST] http request")),
            False,
            [("info", "TLS handshake with 127.0.0.1:5000 failed: ")],
        ),
        (
            _Client(ssl.SSLEOFError(8, "EOF occurred")),
            False,
            [("debug", "TLS handshake with 127.0.0.1:5000 ended: ")],
        ),
        (
            _Client(ConnectionResetError(104, "Connection reset by peer")),
            False,
            [("debug", "TLS handshake with 127.0.0.1:5000 ended: ")],
        ),
        (_Client(stall=True), False, [("info", "Dropped 127.0.0.1:5000: no TLS handshake within 0.05 s")]),
    ],
)
def test_worker_handshake_is_bounded_and_a_failure_is_one_log_line(
    monkeypatch: pytest.MonkeyPatch, client: _Client, ok: bool, logged: list[tuple[str, str]]
) -> None:
    from logfiles import worker

    monkeypatch.setattr(worker, "HANDSHAKE_TIMEOUT", 0.05)
    instance = object.__new__(worker.Worker)  # no gunicorn arbiter: only the method is under test
    instance.log = _Log()
    assert instance.handshake(client, ("127.0.0.1", 5000)) is ok
    # Each expected line is a (level, start of the message): the error's own text follows.
    assert [
        (level, line[: len(start)])
        for (level, line), (_, start) in zip(instance.log.lines, logged, strict=False)
    ] == logged
    assert len(instance.log.lines) == len(logged)


def test_worker_names_a_unix_socket_peer_as_it_is() -> None:
    from logfiles.worker import _peer

    assert _peer("") == ""
    assert _peer(("::1", 8080, 0, 0)) == "::1:8080"


def test_worker_keeps_the_listeners_name_for_connections_it_accepted() -> None:
    """gunicorn asks it after the handshake; by then a stopping worker has closed the listener."""
    from logfiles.worker import _NamedListener

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        named = _NamedListener(sock)
        address = sock.getsockname()
        assert named.family == socket.AF_INET  # everything else is the listener's
    assert named.getsockname() == address  # closed now: the name stays
