"""A real Orthanc PACS for the tests and benchmarks: started on free loopback ports, stopped.

The Debian packages ``orthanc`` and ``orthanc-dicomweb`` (``.ci/setup`` installs them where
apt exists) give the server and its DICOMweb plugin; the Debian service is not used (it
does not start in containers, and its ports may be taken): each :class:`Orthanc` writes
its own configuration (loopback only, DICOMweb on, HTTP basic authentication on, our AE
title registered for C-FIND / C-GET / C-MOVE) into a temporary folder and runs
``Orthanc CONFIG.json`` as a child process.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

USER = "sonographer"
PASSWORD = "s3cret-Pass"
#: Orthanc's own AE title, and the one our client uses (registered in Orthanc for C-MOVE).
ORTHANC_AET = "ORTHANCTEST"
CLIENT_AET = "USANNOTATE"
#: Where Debian puts the DICOMweb plugin (``dpkg -L orthanc-dicomweb``).
PLUGIN_CANDIDATES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)


class OrthancMissing(RuntimeError):
    """Orthanc or its DICOMweb plugin is not installed."""


def orthanc_binary() -> str:
    """The Orthanc executable, or :class:`OrthancMissing` saying how to install it."""
    binary = shutil.which("Orthanc") or (
        "/usr/sbin/Orthanc" if os.path.exists("/usr/sbin/Orthanc") else None
    )
    if binary is None:
        raise OrthancMissing(
            "Orthanc is not installed: the PACS tests need the real server "
            "(apt-get install orthanc orthanc-dicomweb, as .ci/setup does)"
        )
    return binary


def dicomweb_plugin() -> str:
    """The DICOMweb plugin's path, or :class:`OrthancMissing`."""
    for path in PLUGIN_CANDIDATES:
        if os.path.exists(path):
            return path
    raise OrthancMissing(
        "the Orthanc DICOMweb plugin is not installed (apt-get install orthanc-dicomweb)"
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Orthanc:
    """One Orthanc process with its own storage in ``folder``.

    ``client_port`` is the port of our storage SCP that Orthanc sends C-MOVE results to
    (registered as :data:`CLIENT_AET`).
    """

    folder: Path
    http_port: int = field(default_factory=free_port)
    dicom_port: int = field(default_factory=free_port)
    client_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        """The HTTP root (Orthanc's REST API)."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        """The DICOMweb root, without credentials."""
        return f"{self.base_url}/dicom-web"

    @property
    def dicomweb_url_with_password(self) -> str:
        """The DICOMweb root with the user and password in it (as scripts write it)."""
        return f"http://{USER}:{PASSWORD}@127.0.0.1:{self.http_port}/dicom-web"

    @property
    def dimse_url(self) -> str:
        """``dicom://AET@host:port`` of Orthanc's DICOM port."""
        return f"dicom://{ORTHANC_AET}@127.0.0.1:{self.dicom_port}"

    def config(self) -> dict:
        """Orthanc's configuration: loopback only, DICOMweb and authentication on."""
        storage = self.folder / "storage"
        return {
            "Name": "usannotate-test",
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "Plugins": [dicomweb_plugin()],
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": ORTHANC_AET,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {USER: PASSWORD},
            "DicomCheckCalledAet": True,
            "DicomModalities": {
                "usannotate": {
                    "AET": CLIENT_AET,
                    "Host": "127.0.0.1",
                    "Port": self.client_port,
                    "AllowEcho": True,
                    "AllowFind": True,
                    "AllowGet": True,
                    "AllowMove": True,
                    "AllowStore": True,
                }
            },
            "DicomWeb": {
                "Enable": True,
                "Root": "/dicom-web/",
                "Host": f"127.0.0.1:{self.http_port}",
            },
            "HttpTimeout": 10,
            "DicomScuTimeout": 10,
            "StableAge": 1,
            "SaveJobs": False,
            "ConcurrentJobs": 2,
        }

    def start(self, timeout_s: float = 30.0) -> Orthanc:
        """Start the process and wait until its REST API answers."""
        binary = orthanc_binary()
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "orthanc.json"
        config.write_text(json.dumps(self.config(), indent=2), encoding="utf-8")
        log = open(self.folder / "orthanc.log", "wb")  # noqa: SIM115 (kept for the process)
        self.process = subprocess.Popen(
            [binary, "--logdir=" + str(self.folder), str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start: see {self.folder / 'orthanc.log'}")
            with contextlib.suppress(OSError):
                if self.rest("GET", "/system").get("DicomAet") == ORTHANC_AET:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("Orthanc did not answer within 30 s")

    def stop(self) -> None:
        """Stop the process (and wait for it)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def restart(self) -> None:
        """Start the same server again (same ports, same storage)."""
        self.stop()
        self.start()

    def _auth(self) -> str:
        return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def rest(self, method: str, path: str, body: bytes | None = None) -> dict | list:
        """Call Orthanc's REST API (authenticated); the JSON answer."""
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method=method,
            headers={"Authorization": self._auth()},
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            data = response.read()
        return json.loads(data) if data else {}

    def upload(self, path: Path | str) -> str:
        """Store one DICOM file through the REST API; Orthanc's instance id."""
        answer = self.rest("POST", "/instances", Path(path).read_bytes())
        assert isinstance(answer, dict)
        return str(answer["ID"])

    def __enter__(self) -> Orthanc:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
