"""SM3, HMAC-SM3, SM4 and SM2: standard vectors, tampering, and interoperability with the openssl CLI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ihos.security import _der, _sm2, gm
from ihos.security.gm import (
    IntegrityError,
    SM2PrivateKey,
    SM2PublicKey,
    hmac_sm3,
    sm3,
    sm4_cbc_decrypt,
    sm4_cbc_encrypt,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command line is not installed")

# GB/T 32918.5 example on the recommended curve (default ID 1234567812345678, message "message digest").
KAT_PRIVATE = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
KAT_PUBLIC = (
    "04"
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)
KAT_DIGEST = "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640"
KAT_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
KAT_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA


def flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


class TestSM3:
    def test_abc(self) -> None:
        assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"

    def test_64_bytes(self) -> None:
        assert sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


class TestHmacSM3:
    @pytest.mark.parametrize(
        ("key", "data", "expected"),
        [
            # GM/T 0042-2015 appendix D.3
            (
                bytes(range(1, 33)),
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" * 2,
                "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a",
            ),
            (
                bytes(range(1, 38)),
                b"\xcd" * 50,
                "220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae",
            ),
            (b"\x0b" * 32, b"Hi There", "c0ba18c68b90c88bc07de794bfc7d2c8d19ec31ed8773bc2b390c9604e0be11e"),
        ],
    )
    def test_vectors(self, key: bytes, data: bytes, expected: str) -> None:
        assert hmac_sm3(key, data).hex() == expected


KEY_0002 = bytes.fromhex("0123456789abcdeffedcba9876543210")


class TestSM4CBC:
    def test_gmt_0002_block(self) -> None:
        # With a zero IV the first CBC block is the bare block cipher: the GM/T 0002 example.
        ciphertext = sm4_cbc_encrypt(KEY_0002, bytes(16), KEY_0002)
        assert ciphertext[:16].hex() == "681edf34d206965e86b3e94f536e4246"
        assert len(ciphertext) == 32  # a whole block of PKCS#7 padding follows
        assert sm4_cbc_decrypt(KEY_0002, bytes(16), ciphertext) == KEY_0002

    @pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100])
    def test_round_trip(self, size: int) -> None:
        iv = bytes(range(16))
        plaintext = bytes(range(size))
        ciphertext = sm4_cbc_encrypt(KEY_0002, iv, plaintext)
        assert len(ciphertext) == (size // 16 + 1) * 16
        assert sm4_cbc_decrypt(KEY_0002, iv, ciphertext) == plaintext

    def test_bad_padding_is_refused(self) -> None:
        # A block that decrypts to something ending in 0x00, which is never valid PKCS#7.
        encryptor = Cipher(algorithms.SM4(KEY_0002), modes.CBC(bytes(16))).encryptor()
        ciphertext = encryptor.update(b"A" * 15 + b"\x00") + encryptor.finalize()
        with pytest.raises(IntegrityError):
            sm4_cbc_decrypt(KEY_0002, bytes(16), ciphertext)

    def test_partial_block_is_refused(self) -> None:
        with pytest.raises(IntegrityError):
            sm4_cbc_decrypt(KEY_0002, bytes(16), b"x" * 17)

    def test_key_must_be_16_bytes(self) -> None:
        with pytest.raises(ValueError, match="16 bytes"):
            sm4_cbc_encrypt(b"short", bytes(16), b"data")


# RFC 8998 appendix A.1
GCM_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
GCM_NONCE = bytes.fromhex("00001234567800000000ABCD")
GCM_AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
GCM_PLAINTEXT = bytes.fromhex(
    "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
)
GCM_CIPHERTEXT = bytes.fromhex(
    "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
)
GCM_TAG = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")


class TestSM4GCM:
    def test_rfc8998_encrypt(self) -> None:
        assert sm4_gcm_encrypt(GCM_KEY, GCM_NONCE, GCM_PLAINTEXT, GCM_AAD) == GCM_CIPHERTEXT + GCM_TAG

    def test_rfc8998_decrypt(self) -> None:
        assert sm4_gcm_decrypt(GCM_KEY, GCM_NONCE, GCM_CIPHERTEXT + GCM_TAG, GCM_AAD) == GCM_PLAINTEXT

    @pytest.mark.parametrize("index", [0, len(GCM_CIPHERTEXT) - 1, len(GCM_CIPHERTEXT), -1])
    def test_altered_ciphertext_or_tag_is_refused(self, index: int) -> None:
        with pytest.raises(IntegrityError):
            sm4_gcm_decrypt(GCM_KEY, GCM_NONCE, flip(GCM_CIPHERTEXT + GCM_TAG, index), GCM_AAD)

    def test_other_aad_is_refused(self) -> None:
        with pytest.raises(IntegrityError):
            sm4_gcm_decrypt(GCM_KEY, GCM_NONCE, GCM_CIPHERTEXT + GCM_TAG, flip(GCM_AAD, 0))

    def test_other_nonce_is_refused(self) -> None:
        with pytest.raises(IntegrityError):
            sm4_gcm_decrypt(GCM_KEY, flip(GCM_NONCE, 11), GCM_CIPHERTEXT + GCM_TAG, GCM_AAD)

    def test_truncated_data_is_refused(self) -> None:
        with pytest.raises(IntegrityError):
            sm4_gcm_decrypt(GCM_KEY, GCM_NONCE, GCM_TAG[:15])

    def test_empty_plaintext_is_just_a_tag(self) -> None:
        sealed = sm4_gcm_encrypt(GCM_KEY, GCM_NONCE, b"")
        assert len(sealed) == 16
        assert sm4_gcm_decrypt(GCM_KEY, GCM_NONCE, sealed) == b""

    def test_nonce_must_be_12_bytes(self) -> None:
        with pytest.raises(ValueError, match="12 bytes"):
            sm4_gcm_encrypt(GCM_KEY, bytes(16), b"data")


@pytest.fixture(scope="module")
def alice() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


class TestSM2Signature:
    def test_known_answer(self, sm2_backend: str) -> None:
        key = SM2PrivateKey.from_hex(KAT_PRIVATE)
        assert key.public_key().to_hex() == KAT_PUBLIC
        assert sm3(gm.sm2_z(key.public_key()) + b"message digest").hex() == KAT_DIGEST
        signature = _sm2.encode_signature(KAT_R, KAT_S)
        assert key.public_key().verify(signature, b"message digest") is True
        assert key.public_key().verify(signature, b"message digesT") is False

    def test_round_trip(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        signature = alice.sign(b"prescription 42")
        assert alice.public_key().verify(signature, b"prescription 42") is True

    def test_signatures_are_randomised(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        assert alice.sign(b"same") != alice.sign(b"same")

    def test_other_message_is_refused(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        signature = alice.sign(b"prescription 42")
        assert alice.public_key().verify(signature, b"prescription 43") is False

    def test_altered_signature_is_refused(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        signature = alice.sign(b"prescription 42")
        assert alice.public_key().verify(flip(signature, len(signature) - 1), b"prescription 42") is False
        assert alice.public_key().verify(flip(signature, 10), b"prescription 42") is False

    def test_other_uid_is_refused(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        signature = alice.sign(b"prescription 42", uid=b"doctor-7@hospital")
        assert alice.public_key().verify(signature, b"prescription 42", uid=b"doctor-7@hospital") is True
        assert alice.public_key().verify(signature, b"prescription 42") is False

    def test_other_key_is_refused(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        signature = alice.sign(b"prescription 42")
        assert SM2PrivateKey.generate().public_key().verify(signature, b"prescription 42") is False

    def test_loose_encodings_are_refused(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        signature = alice.sign(b"m")
        r, s = _sm2.decode_signature(signature)
        padded_r = _der.encode(_der.INTEGER, b"\x00" + _der.encode_integer(r)[2:])
        variants = [
            signature + b"\x00",  # trailing byte
            _der.encode_sequence(padded_r, _der.encode_integer(s)),  # non-minimal integer
            _sm2.encode_signature(r, s + _sm2.N),  # s out of range
            _sm2.encode_signature(0, s),
            b"",
            b"\x30\x00",
        ]
        for variant in variants:
            assert alice.public_key().verify(variant, b"m") is False, variant.hex()

    def test_raw_form_round_trips(self, alice: SM2PrivateKey) -> None:
        signature = alice.sign(b"m")
        raw = gm.signature_to_raw(signature)
        assert len(raw) == 64
        assert gm.signature_from_raw(raw) == signature


class TestSM2Encryption:
    def test_round_trip(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        ciphertext = alice.public_key().encrypt(b"0123456789abcdef")
        parsed = _sm2.decode_ciphertext(ciphertext)
        assert len(parsed.cipher) == 16
        assert alice.decrypt(ciphertext) == b"0123456789abcdef"

    @pytest.mark.parametrize("size", [1, 255])
    def test_size_limits(self, sm2_backend: str, alice: SM2PrivateKey, size: int) -> None:
        assert alice.decrypt(alice.public_key().encrypt(b"k" * size)) == b"k" * size

    @pytest.mark.parametrize("size", [0, 256])
    def test_sizes_outside_the_limits_are_refused(self, alice: SM2PrivateKey, size: int) -> None:
        with pytest.raises(ValueError, match="1 to 255 bytes"):
            alice.public_key().encrypt(b"k" * size)

    def test_altered_ciphertext_is_refused(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        ciphertext = alice.public_key().encrypt(b"0123456789abcdef")
        parsed = _sm2.decode_ciphertext(ciphertext)
        variants = [
            flip(ciphertext, len(ciphertext) - 1),  # C2
            _sm2.encode_ciphertext(_sm2.Ciphertext(parsed.x, parsed.y, flip(parsed.hash, 0), parsed.cipher)),
            _sm2.encode_ciphertext(_sm2.Ciphertext(parsed.x ^ 1, parsed.y, parsed.hash, parsed.cipher)),
            _sm2.encode_ciphertext(_sm2.Ciphertext(_sm2.GX, _sm2.GY, parsed.hash, parsed.cipher)),
            _sm2.encode_ciphertext(_sm2.Ciphertext(parsed.x, parsed.y, parsed.hash, parsed.cipher[:-1])),
            ciphertext + b"\x00",
            b"not der",
        ]
        for variant in variants:
            with pytest.raises(IntegrityError):
                alice.decrypt(variant)

    def test_other_key_cannot_decrypt(self, sm2_backend: str, alice: SM2PrivateKey) -> None:
        ciphertext = alice.public_key().encrypt(b"0123456789abcdef")
        with pytest.raises(IntegrityError):
            SM2PrivateKey.generate().decrypt(ciphertext)

    def test_raw_form_round_trips(self, alice: SM2PrivateKey) -> None:
        ciphertext = alice.public_key().encrypt(b"secret")
        raw = gm.ciphertext_to_raw(ciphertext)
        assert raw[0] == 4
        assert len(raw) == 1 + 64 + 32 + 6
        assert gm.ciphertext_from_raw(raw) == ciphertext
        assert alice.decrypt(gm.ciphertext_from_raw(raw)) == b"secret"


class TestSM2Keys:
    def test_generated_keys_work_on_either_backend(self, sm2_backend: str) -> None:
        key = SM2PrivateKey.generate()
        for backend in gm.BACKENDS:
            gm.use_backend(backend)
            assert key.public_key().verify(key.sign(b"m"), b"m") is True
        gm.use_backend(sm2_backend)

    def test_pem_round_trip(self, alice: SM2PrivateKey) -> None:
        pem = alice.to_pem()
        assert pem.startswith("-----BEGIN PRIVATE KEY-----\n")
        again = SM2PrivateKey.from_pem(pem.encode())
        assert again.to_hex() == alice.to_hex()
        assert SM2PublicKey.from_pem(alice.public_key().to_pem()) == alice.public_key()

    def test_hex_forms(self, alice: SM2PrivateKey) -> None:
        public = alice.public_key()
        assert len(public.to_hex()) == 130
        assert public.to_hex().startswith("04")
        assert SM2PublicKey.from_hex(public.to_hex()) == public
        assert SM2PublicKey.from_hex(public.to_hex()[2:]) == public
        assert SM2PrivateKey.from_hex(alice.to_hex()).public_key() == public

    def test_compressed_public_key(self, alice: SM2PrivateKey) -> None:
        raw = alice.public_key().to_bytes()
        prefix = 2 + raw[-1] % 2
        assert SM2PublicKey.from_bytes(bytes([prefix]) + raw[1:33]) == alice.public_key()

    def test_point_off_the_curve_is_refused(self, alice: SM2PrivateKey) -> None:
        with pytest.raises(ValueError, match="not a point on the SM2 curve"):
            SM2PublicKey.from_hex(flip(alice.public_key().to_bytes(), 64).hex())

    @pytest.mark.parametrize("scalar", [0, _sm2.N - 1, _sm2.N])
    def test_private_scalar_out_of_range_is_refused(self, scalar: int) -> None:
        with pytest.raises(ValueError, match=r"\[1, n-2\]"):
            SM2PrivateKey(scalar.to_bytes(32, "big"))

    def test_mismatched_public_key_is_refused(self, alice: SM2PrivateKey) -> None:
        with pytest.raises(ValueError, match="does not belong"):
            SM2PrivateKey(bytes.fromhex(alice.to_hex()), SM2PrivateKey.generate().public_key())

    def test_repr_hides_the_secret(self, alice: SM2PrivateKey) -> None:
        assert alice.to_hex() not in repr(alice)
        assert repr(alice).startswith("SM2PrivateKey(public=SM2PublicKey(04")

    def test_other_pem_labels_are_refused(self, alice: SM2PrivateKey) -> None:
        with pytest.raises(ValueError, match="expected a PUBLIC KEY"):
            SM2PublicKey.from_pem(alice.to_pem())
        with pytest.raises(ValueError, match="ENCRYPTED PRIVATE KEY"):
            SM2PrivateKey.from_pem(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----"
            )


# -- interoperability with the openssl command line --------------------------------------------------


def openssl(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run(  # noqa: S603 (fixed arguments, test files only)
        [OPENSSL, *map(str, args)], input=stdin, capture_output=True, check=False, timeout=30
    )


@pytest.fixture(scope="module")
def openssl_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An SM2 key pair made by ``openssl genpkey``: (private PEM path, public PEM path)."""
    if OPENSSL is None:
        pytest.skip("the openssl command line is not installed")
    folder = tmp_path_factory.mktemp("openssl")
    private, public = folder / "private.pem", folder / "public.pem"
    assert openssl("genpkey", "-algorithm", "SM2", "-out", private).returncode == 0
    assert openssl("pkey", "-in", private, "-pubout", "-out", public).returncode == 0
    return private, public


SIGN_OPTIONS = ("-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")


@needs_openssl
class TestOpenSSLInterop:
    def test_we_read_and_write_openssl_pem_byte_for_byte(self, openssl_key: tuple[Path, Path]) -> None:
        private_pem, public_pem = openssl_key
        key = SM2PrivateKey.from_pem(private_pem.read_text())
        assert key.to_pem() == private_pem.read_text()
        assert key.public_key().to_pem() == public_pem.read_text()

    def test_openssl_reads_our_keys(self, alice: SM2PrivateKey, tmp_path: Path) -> None:
        (tmp_path / "ours.pem").write_text(alice.to_pem())
        result = openssl("pkey", "-in", tmp_path / "ours.pem", "-pubout")
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode() == alice.public_key().to_pem()

    def test_openssl_verifies_our_signature(
        self, sm2_backend: str, alice: SM2PrivateKey, tmp_path: Path
    ) -> None:
        (tmp_path / "public.pem").write_text(alice.public_key().to_pem())
        (tmp_path / "message").write_bytes(b"prescription 42")
        (tmp_path / "signature").write_bytes(alice.sign(b"prescription 42"))
        verify = ("pkeyutl", "-verify", "-pubin", "-inkey", tmp_path / "public.pem", "-sigfile")
        result = openssl(*verify, tmp_path / "signature", "-in", tmp_path / "message", *SIGN_OPTIONS)
        assert result.returncode == 0, result.stderr
        assert b"Signature Verified Successfully" in result.stdout

        (tmp_path / "message").write_bytes(b"prescription 43")
        result = openssl(*verify, tmp_path / "signature", "-in", tmp_path / "message", *SIGN_OPTIONS)
        assert result.returncode == 1
        assert b"Signature Verification Failure" in result.stdout

    def test_we_verify_openssl_signatures(
        self, sm2_backend: str, openssl_key: tuple[Path, Path], tmp_path: Path
    ) -> None:
        private_pem, public_pem = openssl_key
        (tmp_path / "message").write_bytes(b"prescription 42")
        result = openssl(
            "pkeyutl", "-sign", "-inkey", private_pem, "-in", tmp_path / "message", *SIGN_OPTIONS
        )
        assert result.returncode == 0, result.stderr
        public = SM2PublicKey.from_pem(public_pem.read_bytes())
        assert public.verify(result.stdout, b"prescription 42") is True
        assert public.verify(result.stdout, b"prescription 43") is False
        assert public.verify(flip(result.stdout, len(result.stdout) - 1), b"prescription 42") is False

    def test_openssl_decrypts_what_we_encrypt(
        self, sm2_backend: str, openssl_key: tuple[Path, Path], tmp_path: Path
    ) -> None:
        private_pem, public_pem = openssl_key
        ciphertext = SM2PublicKey.from_pem(public_pem.read_text()).encrypt(b"0123456789abcdef")
        (tmp_path / "ciphertext").write_bytes(ciphertext)
        result = openssl("pkeyutl", "-decrypt", "-inkey", private_pem, "-in", tmp_path / "ciphertext")
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"0123456789abcdef"

    def test_we_decrypt_what_openssl_encrypts(
        self, sm2_backend: str, alice: SM2PrivateKey, tmp_path: Path
    ) -> None:
        (tmp_path / "public.pem").write_text(alice.public_key().to_pem())
        result = openssl(
            "pkeyutl", "-encrypt", "-pubin", "-inkey", tmp_path / "public.pem", stdin=b"session key 1234"
        )
        assert result.returncode == 0, result.stderr
        assert alice.decrypt(result.stdout) == b"session key 1234"
        with pytest.raises(IntegrityError):
            alice.decrypt(flip(result.stdout, len(result.stdout) - 1))
