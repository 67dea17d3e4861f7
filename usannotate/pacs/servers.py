"""PACS servers: DICOMweb (base URL, basic auth or a token) or DIMSE (host, port, AE titles).

``parse_server`` reads what a user or a script gives as SERVER: ``http(s)://[user:password@]
host[:port]/path`` (DICOMweb), ``dicom://AET@host:port`` (DIMSE; options in the query:
``?calling=OURAET&retrieve=move&move_port=11113``), or the name of a server saved in the
settings (``saved_servers``). Passwords never leave these objects in a message: every
description is :func:`redact`-ed, and ``repr`` hides them.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import platformdirs

from usannotate._atomic import write_atomically
from usannotate.pacs.errors import PacsServerSpecError

#: Our AE title when the server description gives none.
DEFAULT_CALLING_AET = "USANNOTATE"
DEFAULT_DIMSE_PORT = 104
#: Seconds to wait for a connection, and for each answer, on every call.
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_READ_TIMEOUT_S = 30.0
SERVERS_FILE_NAME = "pacs_servers.json"
_AET = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # 16 printable chars, no backslash


@dataclass(frozen=True)
class DicomWebServer:
    """A DICOMweb service: ``base_url`` (no credentials in it) is the root of QIDO-RS,
    WADO-RS and STOW-RS (``.../dicom-web``).

    ``username`` / ``password`` give HTTP basic authentication, ``token`` a bearer token
    (one or the other). ``verify_tls`` is True (the system's certificates), False (never
    by default: the user must ask) or the path of a CA bundle.
    """

    base_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    verify_tls: bool | str = True
    name: str | None = None
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S

    @property
    def protocol(self) -> str:
        """``"dicomweb"``."""
        return "dicomweb"

    @property
    def display(self) -> str:
        """How messages name the server: its saved name, or the URL with the user only."""
        if self.name:
            return self.name
        parts = urllib.parse.urlsplit(self.base_url)
        user = f"{self.username}@" if self.username else ""
        return f"{parts.scheme}://{user}{parts.netloc}{parts.path}"

    @property
    def needs_secret(self) -> bool:
        """A user name without its password (ask it, or read it from the keyring)."""
        return bool(self.username) and self.password is None

    @property
    def secret_key(self) -> str:
        """The keyring entry's user field for this server's secret."""
        return f"{self.username or ''}@{self.base_url}"

    def with_secret(self, secret: str | None) -> DicomWebServer:
        """The same server with its password (or token, when it has no user name)."""
        if self.username:
            return replace(self, password=secret)
        return replace(self, token=secret)


@dataclass(frozen=True)
class DimseServer:
    """A DIMSE peer (C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE).

    ``called_aet`` is the server's AE title, ``calling_aet`` ours. Retrieval is C-GET by
    default; ``retrieve="move"`` uses C-MOVE into a storage SCP we start on
    ``move_port`` (the server must know our AE title at that port).
    """

    host: str
    port: int
    called_aet: str
    calling_aet: str = DEFAULT_CALLING_AET
    retrieve: str = "get"
    move_port: int | None = None
    name: str | None = None
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S

    @property
    def protocol(self) -> str:
        """``"dimse"``."""
        return "dimse"

    @property
    def display(self) -> str:
        """How messages name the server."""
        return self.name or f"dicom://{self.called_aet}@{self.host}:{self.port}"

    @property
    def needs_secret(self) -> bool:
        """DIMSE has no password."""
        return False


Server = DicomWebServer | DimseServer


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with any ``user:password@`` of a URL cut to ``user@`` and every secret
    given replaced by ``***`` (for messages built from other libraries' errors)."""
    text = re.sub(r"(\w+://[^/\s:@]*):[^/\s@]*@", r"\1@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            quoted = urllib.parse.quote(secret, safe="")
            if quoted != secret:
                text = text.replace(quoted, "***")
    return text


def parse_server(text: str, saved: dict[str, Server] | None = None) -> Server:
    """The server ``text`` names (see the module's docstring).

    Raises
    ------
    PacsServerSpecError
        Neither a URL we read nor a saved name; the message never quotes a password.
    """
    text = text.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("http", "https"):
        return _parse_dicomweb(text)
    if scheme == "dicom":
        return _parse_dimse(text)
    if scheme:
        raise PacsServerSpecError(
            f"{redact(text)}: unknown scheme {scheme!r} (use http://, https:// or "
            "dicom://AET@host:port)"
        )
    servers = saved if saved is not None else saved_servers()
    if text in servers:
        return servers[text]
    known = ", ".join(sorted(servers)) or "none saved"
    raise PacsServerSpecError(
        f"{text!r} is neither a URL (http://, https://, dicom://AET@host:port) nor a "
        f"saved server ({known})"
    )


def _parse_dicomweb(text: str) -> DicomWebServer:
    parts = urllib.parse.urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        raise PacsServerSpecError(f"{redact(text)}: the port is not a number") from None
    if not parts.hostname:
        raise PacsServerSpecError(f"{redact(text)}: no host in the URL")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{port}" if port else host
    base = urllib.parse.urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    return DicomWebServer(base_url=base, username=user or None, password=password)


def _parse_dimse(text: str) -> DimseServer:
    parts = urllib.parse.urlsplit(text)
    if not parts.username:
        raise PacsServerSpecError(
            f"{redact(text)}: say the server's AE title: dicom://AET@host:port"
        )
    called = urllib.parse.unquote(parts.username)
    if not parts.hostname:
        raise PacsServerSpecError(f"{redact(text)}: no host (dicom://AET@host:port)")
    try:
        port = parts.port or DEFAULT_DIMSE_PORT
    except ValueError:
        raise PacsServerSpecError(f"{redact(text)}: the port is not a number") from None
    options = dict(urllib.parse.parse_qsl(parts.query))
    calling = options.pop("calling", DEFAULT_CALLING_AET)
    retrieve = options.pop("retrieve", "get")
    move_port = options.pop("move_port", None)
    if options:
        raise PacsServerSpecError(
            f"{redact(text)}: unknown option {sorted(options)[0]!r} (calling, retrieve, move_port)"
        )
    for which, aet in (("server", called), ("calling", calling)):
        if not _AET.match(aet):
            raise PacsServerSpecError(
                f"{redact(text)}: the {which} AE title must be 1 to 16 printable characters"
            )
    if retrieve not in ("get", "move"):
        raise PacsServerSpecError(f"{redact(text)}: retrieve must be get or move")
    if move_port is not None and not move_port.isdigit():
        raise PacsServerSpecError(f"{redact(text)}: move_port must be a port number")
    if retrieve == "move" and move_port is None:
        raise PacsServerSpecError(
            f"{redact(text)}: C-MOVE needs the port the server sends to (move_port=...)"
        )
    return DimseServer(
        host=parts.hostname,
        port=port,
        called_aet=called,
        calling_aet=calling,
        retrieve=retrieve,
        move_port=int(move_port) if move_port else None,
    )


# ------------------------------------------------------------------ saved servers
def servers_path() -> Path:
    """The settings file of the saved servers (no secrets in it: those are in the keyring)."""
    return Path(platformdirs.user_config_dir("usannotate", appauthor=False)) / SERVERS_FILE_NAME


def _to_json(server: Server) -> dict:
    data = asdict(server)
    data.pop("password", None)
    data.pop("token", None)
    data.pop("name", None)
    data["protocol"] = server.protocol
    return data


def _from_json(name: str, data: dict) -> Server:
    data = dict(data)
    protocol = data.pop("protocol", None)
    data.pop("password", None)  # never read a secret from a file
    data.pop("token", None)
    try:
        if protocol == "dicomweb":
            return DicomWebServer(name=name, **data)
        if protocol == "dimse":
            return DimseServer(name=name, **data)
    except TypeError:
        pass
    raise PacsServerSpecError(f"saved server {name!r}: not a server description")


def saved_servers(path: Path | None = None) -> dict[str, Server]:
    """The saved servers by name (empty if none saved; a damaged file reads as empty)."""
    path = path or servers_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    servers = {}
    for name, data in raw.items():
        if isinstance(data, dict):
            try:
                servers[str(name)] = _from_json(str(name), data)
            except PacsServerSpecError:
                continue
    return servers


def save_server(name: str, server: Server, path: Path | None = None) -> Server:
    """Save (or replace) ``server`` under ``name``, without its secret; returns it named."""
    if not name.strip() or "://" in name:
        raise PacsServerSpecError("a server's name must be a short word, not a URL")
    path = path or servers_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    servers = saved_servers(path)
    named = replace(server, name=name)
    servers[name] = named
    text = json.dumps({n: _to_json(s) for n, s in sorted(servers.items())}, indent=2)
    write_atomically(path, (text + "\n").encode("utf-8"))
    return named


def forget_server(name: str, path: Path | None = None) -> None:
    """Remove a saved server (and nothing else)."""
    path = path or servers_path()
    servers = saved_servers(path)
    if servers.pop(name, None) is not None:
        text = json.dumps({n: _to_json(s) for n, s in sorted(servers.items())}, indent=2)
        write_atomically(path, (text + "\n").encode("utf-8"))
