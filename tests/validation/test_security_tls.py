"""docs/security.md's mutual-TLS recipe works with the toolkit's engine (certificates made with openssl)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytest.importorskip("distributed", reason="the Dask executor is the optional 'distributed' extra")

import dask  # noqa: E402
from distributed import LocalCluster, Security  # noqa: E402

from validation.engine import Unit, make_executor, run_units  # noqa: E402


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA and one node certificate for 127.0.0.1, made exactly as docs/security.md shows."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make the test certificates")
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
             "-subj", "/CN=mid-test-ca", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj",
             "/CN=mid-node", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
             "node.pem", "-days", "1", "-extfile", "ext.cnf", cwd=d)
    return d


def _double(unit: Unit) -> int:
    return 2 * unit.index


def test_units_run_over_mutual_tls_and_a_client_without_a_certificate_is_refused(certificates):
    d = certificates
    node = {"cert": str(d / "node.pem"), "key": str(d / "node.key")}
    security = Security(tls_ca_file=str(d / "ca.pem"), require_encryption=True,
                        **{f"tls_{role}_{part}": path for role in ("scheduler", "worker", "client")
                           for part, path in node.items()})
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls", host="127.0.0.1",
                      security=security, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        with pytest.raises((TypeError, ValueError, OSError)):  # no credentials, no connection
            make_executor(1, address)
        with dask.config.set({"distributed.comm.tls.ca-file": str(d / "ca.pem"),
                              "distributed.comm.tls.client.cert": node["cert"],
                              "distributed.comm.tls.client.key": node["key"],
                              "distributed.comm.require-encryption": True}):
            executor = make_executor(1, address)
            try:
                report = run_units([Unit("tls", None, i, "i") for i in range(4)], _double, None,
                                   executor=executor, progress=False)
            finally:
                executor.close()
    assert report.results == {f"i={i}": 2 * i for i in range(4)}
