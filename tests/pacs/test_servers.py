"""SERVER strings, saved servers and remembered secrets (no server needed)."""

from __future__ import annotations

import json

import pytest

from usannotate.pacs.credentials import remember_secret, with_known_secret
from usannotate.pacs.errors import PacsServerSpecError
from usannotate.pacs.servers import (
    DicomWebServer,
    DimseServer,
    parse_server,
    redact,
    save_server,
    saved_servers,
    servers_path,
)


def test_dicomweb_url_with_credentials_keeps_them_out_of_the_url_and_the_repr():
    server = parse_server("https://alice:p%40ss@pacs.example.org:8443/dicom-web/")
    assert isinstance(server, DicomWebServer)
    assert server.base_url == "https://pacs.example.org:8443/dicom-web"
    assert (server.username, server.password) == ("alice", "p@ss")
    assert "p@ss" not in repr(server)
    assert "p%40ss" not in repr(server)
    assert server.display == "https://alice@pacs.example.org:8443/dicom-web"
    assert server.verify_tls is True


def test_dimse_url_with_options():
    server = parse_server("dicom://ORTHANC@10.0.0.5:4242?calling=WS1&retrieve=move&move_port=11113")
    assert server == DimseServer(
        host="10.0.0.5",
        port=4242,
        called_aet="ORTHANC",
        calling_aet="WS1",
        retrieve="move",
        move_port=11113,
    )
    assert parse_server("dicom://PACS@host").port == 104


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("dicom://host:104", "AE title"),
        ("dicom://PACS@host:104?retrieve=move", "move_port"),
        ("dicom://THIS_AE_TITLE_IS_TOO_LONG@host:104", "1 to 16"),
        ("dicom://PACS@host:104?colour=blue", "unknown option"),
        ("ftp://bob:hunter2@host/x", "unknown scheme"),
        ("http://bob:hunter2@host:port/x", "port"),
        ("nowhere", "saved server"),
    ],
)
def test_bad_server_strings_say_why_and_never_the_password(text, says):
    with pytest.raises(PacsServerSpecError) as caught:
        parse_server(text, saved={})
    assert says in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_redact_cuts_passwords_from_urls_and_known_secrets():
    assert redact("GET http://bob:hunter2@h/x failed") == "GET http://bob@h/x failed"
    assert redact("token abc.def refused", "abc.def") == "token *** refused"


def test_saved_server_has_no_secret_in_its_file_and_reads_back_by_name():
    server = parse_server("http://alice:secret-pw@127.0.0.1:8042/dicom-web")
    save_server("ward", server)
    text = servers_path().read_text(encoding="utf-8")
    assert "secret-pw" not in text
    assert json.loads(text)["ward"]["username"] == "alice"
    loaded = parse_server("ward")
    assert loaded.name == "ward"
    assert loaded.password is None
    assert loaded.needs_secret
    assert saved_servers()["ward"].base_url == server.base_url


def test_remembered_secret_comes_from_the_keyring(isolated_settings):
    server = parse_server("http://alice@127.0.0.1:8042/dicom-web")
    assert with_known_secret(server).password is None
    assert remember_secret(server, "from-keyring")
    assert with_known_secret(server).password == "from-keyring"
    assert "from-keyring" in isolated_settings.values()  # the test keyring, not a file
    assert not any("from-keyring" in p.read_text() for p in servers_path().parent.glob("*"))
