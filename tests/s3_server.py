"""A real S3-compatible server on loopback for the storage tests and benchmarks: moto's
standalone server (``moto[server]``), started as a subprocess on a free port, and a boto3
client that reads objects back independently of the Rust client under test."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

REGION = "us-east-1"
#: moto accepts any credentials; the recorder is given these explicitly.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tls(NamedTuple):
    """A certificate authority and a server certificate it signed, PEM files."""

    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path, name: str = "test") -> Tls:
    """A fresh certificate authority ``name`` and a certificate it signed for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def build(subject: str, issuer: str, key: Any, signer: Any, ca: bool) -> x509.Certificate:
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            b = b.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
        else:
            b = b.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        return b.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca_name = f"{name} certificate authority"
    tls = Tls(folder / f"{name}-ca.pem", folder / f"{name}-cert.pem", folder / f"{name}-key.pem")
    pem = serialization.Encoding.PEM
    tls.ca.write_bytes(build(ca_name, ca_name, ca_key, ca_key, True).public_bytes(pem))
    tls.cert.write_bytes(build("127.0.0.1", ca_name, key, ca_key, False).public_bytes(pem))
    tls.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tls


class S3Server:
    """``moto_server`` on 127.0.0.1: :meth:`start`, :meth:`kill`, :meth:`client`. With ``tls``
    it serves HTTPS with that certificate."""

    def __init__(self, port: int | None = None, tls: Tls | None = None) -> None:
        self.port = port or free_port()
        self.tls = tls
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        moto = Path(sys.executable).with_name("moto_server")
        args = [str(moto), "-H", "127.0.0.1", "-p", str(self.port)]
        context = None
        if self.tls:
            args += ["-c", str(self.tls.cert), "-k", str(self.tls.key)]
            context = ssl.create_default_context(cafile=self.tls.ca)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(
                    f"{self.endpoint}/moto-api/data.json", timeout=1, context=context
                ).close()
                return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint} in {timeout} s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def options(self) -> dict[str, str | bool]:
        """``storage_options`` for the recorder (object_store's configuration keys)."""
        return {
            "aws_endpoint": self.endpoint,
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
            "aws_region": REGION,
            "aws_allow_http": self.tls is None,
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            verify=str(self.tls.ca) if self.tls else None,
        )

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self.client().get_object(Bucket=bucket, Key=key)["Body"].read())

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def environment_without_aws() -> dict[str, str]:
    """The environment less any ``AWS_*`` variable, for a child that must use explicit ones."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
