import base64
import datetime as dt

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from kubelite.client import pki
from kubelite.bootstrap import join as joinmod
from kubelite.bootstrap.join import JoinError, check_discovery
from kubelite.bootstrap.server import cluster_info_kubeconfig, kubeconfig_ca
from kubelite.bootstrap.tokens import Token, ca_cert_hash, sign_detached

CA = pki.new_ca("cluster-ca")
TOKEN = Token.parse("abcdef.0123456789abcdef")
CONTENT = cluster_info_kubeconfig("https://198.18.0.1:6443", CA.cert_pem)


def cm(**sigs):
    return {"data": {"kubeconfig": CONTENT, **{f"jws-kubeconfig-{k}": v for k, v in sigs.items()}}}


def test_cluster_info_kubeconfig_carries_the_ca():
    doc = yaml.safe_load(CONTENT)
    assert doc["clusters"][0]["cluster"]["server"] == "https://198.18.0.1:6443"
    assert kubeconfig_ca(CONTENT) == CA.cert_pem
    assert kubeconfig_ca("not: [yaml") is None


def test_signature_verifies_the_ca():
    d = check_discovery(cm(abcdef=sign_detached(CONTENT, TOKEN)), TOKEN, [])
    assert d.ca_pem == CA.cert_pem and d.verified_by == "signature"


def test_pin_verifies_the_ca():
    assert check_discovery(cm(), TOKEN, [ca_cert_hash(CA.cert)]).verified_by == "hash"


def test_wrong_pin_is_refused():
    with pytest.raises(JoinError, match="does not match the pinned"):
        check_discovery(cm(abcdef=sign_detached(CONTENT, TOKEN)), TOKEN, ["sha256:" + "0" * 64])


def test_wrong_secret_is_refused():
    with pytest.raises(JoinError, match="join token is wrong"):
        check_discovery(cm(abcdef=sign_detached(CONTENT, Token("abcdef", "1" * 16))), TOKEN, [])


def test_unknown_token_id_is_refused_when_others_sign():
    with pytest.raises(JoinError, match="not valid for this cluster"):
        check_discovery(cm(zzzzzz=sign_detached(CONTENT, Token("zzzzzz", "1" * 16))), TOKEN, [])


def test_unsigned_unpinned_is_trusted_on_first_use():
    assert check_discovery(cm(), TOKEN, []).verified_by == "tofu"


def test_a_tampered_kubeconfig_fails_its_signature():
    sig = sign_detached(CONTENT, TOKEN)
    other = cluster_info_kubeconfig("https://198.18.0.1:6443", pki.new_ca("evil").cert_pem)
    with pytest.raises(JoinError, match="does not verify"):
        check_discovery({"data": {"kubeconfig": other, "jws-kubeconfig-abcdef": sig}}, TOKEN, [])


def test_no_kubeconfig():
    with pytest.raises(JoinError, match="has no"):
        check_discovery({"data": {}}, TOKEN, [])


def test_csr_and_kubeconfig_shape(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    req = x509.load_pem_x509_csr(joinmod.build_csr(key, "n1"))
    assert req.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
    obj = joinmod.csr_object(joinmod.build_csr(key, "n1"))
    assert obj["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet"
    assert obj["spec"]["usages"] == ["digital signature", "client auth"]
    assert "username" not in obj["spec"]  # the server says who asked
    cert = pki.sign(CA, common_name="system:node:n1", organizations=["system:nodes"], client=True)
    path = tmp_path / "k"
    joinmod.write_private(path, joinmod.node_kubeconfig("https://x", CA.cert_pem, cert.cert_pem, cert.key_pem, "n1"))
    assert path.stat().st_mode & 0o777 == 0o600
    assert joinmod.reusable(path, "n1", [], dt.timedelta(hours=1))
    assert joinmod.reusable(path, "n1", [ca_cert_hash(CA.cert)], dt.timedelta(hours=1))
    assert not joinmod.reusable(path, "n2", [], dt.timedelta(hours=1))            # another node
    assert not joinmod.reusable(path, "n1", ["sha256:" + "0" * 64], dt.timedelta(hours=1))  # another CA
    assert not joinmod.reusable(path, "n1", [], dt.timedelta(days=400))           # about to expire
    assert not joinmod.reusable(tmp_path / "missing", "n1", [], dt.timedelta(hours=1))
    doc = yaml.safe_load(path.read_text())
    assert base64.b64decode(doc["users"][0]["user"]["client-key-data"]) == cert.key_pem
