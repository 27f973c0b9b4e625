//! pki-core against vectors made by OpenSSL 3.0, gpgsm 2.2 and NSS 3.87
//! (`fixtures/pki/{ossl,msg}`, made by `fixtures/pki/regenerate.sh`; every file and command is
//! described in `fixtures/pki/NOTES.md`). No external tool runs here: the vectors are checked in.
//!
//! - every envelope opens to `msg/entity.txt`, and fails the same way (`DecryptionFailed`)
//!   whether its ciphertext, its encrypted key or the private key is wrong;
//! - every signature verifies against `ossl/root.pem`, and a changed content or signature is
//!   reported as such;
//! - path validation gives the verdict OpenSSL gives (or the documented stricter one) for each
//!   negative certificate; OpenSSL's CRL and CSR are read;
//! - BER variants (indefinite lengths, content in many chunks) read like the originals;
//! - truncated, random, malformed and mutated inputs give errors (or invalid verdicts), never
//!   panics (`PKI_FIXTURE_MUTATIONS=N` for a longer mutation run).
//!

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::OnceLock,
};

use cms::{
    authenveloped_data::AuthEnvelopedData,
    content_info::ContentInfo,
    enveloped_data::{EncryptedContentInfo, EnvelopedData, RecipientInfo, RecipientInfos},
    signed_data::SignedData,
};
use der::{
    Any, Decode, DecodePem, Encode,
    asn1::{ObjectIdentifier, OctetString, SetOfVec},
};
use pki_core::{
    Error, PrivateKey, PublicKey, UnixTime,
    cms::{Opened, SignatureStatus},
    crl, csr,
    path::{self, Failure, Usage, Verdict},
};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use x509_cert::Certificate;

/// 2027-01-15T08:00:00Z: inside every fixture's validity except `expired.pem`'s.
const T: UnixTime = UnixTime(1_800_000_000);

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki/", $path))
    };
}

const ENTITY: &[u8] = fixture!("msg/entity.txt");

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed([1; 32])
}

// ---------------------------------------------------------------------------------------------
// The hierarchy.

struct Pki {
    root: Certificate,
    inter: Certificate,
    alice_rsa: Certificate,
    alice_rsa_key: PrivateKey,
    alice_ec: Certificate,
    alice_ec_key: PrivateKey,
    /// The key of every negative end-entity certificate: "a different RSA key" below.
    other_key: PrivateKey,
    expired: Certificate,
    no_eku: Certificate,
    wrong_eku: Certificate,
    outsider: Certificate,
    ku_sign_only: Certificate,
    sub_ca: Certificate,
    under_sub: Certificate,
    other_root: Certificate,
    contact: Certificate,
    subdomain: Certificate,
    upper_domain: Certificate,
    dn_email: Certificate,
}

fn cert(pem: &[u8]) -> Certificate {
    Certificate::from_pem(pem).expect("fixture certificate")
}

fn key(pem: &[u8]) -> PrivateKey {
    PrivateKey::from_pkcs8_pem(std::str::from_utf8(pem).unwrap()).expect("fixture key")
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| Pki {
        root: cert(fixture!("ossl/root.pem")),
        inter: cert(fixture!("ossl/inter.pem")),
        alice_rsa: cert(fixture!("ossl/alice-rsa.pem")),
        alice_rsa_key: key(fixture!("ossl/alice-rsa.key")),
        alice_ec: cert(fixture!("ossl/alice-ec.pem")),
        alice_ec_key: key(fixture!("ossl/alice-ec.key")),
        other_key: key(fixture!("ossl/other.key")),
        expired: cert(fixture!("ossl/expired.pem")),
        no_eku: cert(fixture!("ossl/no-eku.pem")),
        wrong_eku: cert(fixture!("ossl/wrong-eku.pem")),
        outsider: cert(fixture!("ossl/outsider.pem")),
        ku_sign_only: cert(fixture!("ossl/ku-sign-only.pem")),
        sub_ca: cert(fixture!("ossl/sub-ca.pem")),
        under_sub: cert(fixture!("ossl/under-sub.pem")),
        other_root: cert(fixture!("ossl/other-root.pem")),
        contact: cert(fixture!("ossl/contact.pem")),
        subdomain: cert(fixture!("ossl/subdomain.pem")),
        upper_domain: cert(fixture!("ossl/upper-domain.pem")),
        dn_email: cert(fixture!("ossl/dn-email.pem")),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    AliceRsa,
    AliceEc,
}

impl Who {
    fn cert(self) -> &'static Certificate {
        match self {
            Who::AliceRsa => &pki().alice_rsa,
            Who::AliceEc => &pki().alice_ec,
        }
    }
    fn key(self) -> &'static PrivateKey {
        match self {
            Who::AliceRsa => &pki().alice_rsa_key,
            Who::AliceEc => &pki().alice_ec_key,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The messages.

struct Envelope {
    name: &'static str,
    der: &'static [u8],
    to: Who,
    /// Content cipher and key transport/agreement, as `pki_core::oid_names` spells them.
    cipher: &'static str,
    key_alg: &'static str,
    authenticated: bool,
}

const RSA_V15: &str = "rsaEncryption";
const OAEP: &str = "rsaes-OAEP";
const ECDH_SHA1KDF: &str = "1.3.133.16.840.63.0.2";
const ECDH_SHA256KDF: &str = "1.3.132.1.11.1";

const ENVELOPES: &[Envelope] = &[
    Envelope {
        name: "ossl-aes256",
        der: fixture!("msg/ossl-aes256.p7m"),
        to: Who::AliceRsa,
        cipher: "aes256-CBC",
        key_alg: RSA_V15,
        authenticated: false,
    },
    Envelope {
        name: "ossl-aes256-stream",
        der: fixture!("msg/ossl-aes256-stream.p7m"),
        to: Who::AliceRsa,
        cipher: "aes256-CBC",
        key_alg: RSA_V15,
        authenticated: false,
    },
    Envelope {
        name: "ossl-oaep",
        der: fixture!("msg/ossl-oaep.p7m"),
        to: Who::AliceRsa,
        cipher: "aes256-CBC",
        key_alg: OAEP,
        authenticated: false,
    },
    Envelope {
        name: "ossl-oaep-sha256",
        der: fixture!("msg/ossl-oaep-sha256.p7m"),
        to: Who::AliceRsa,
        cipher: "aes256-CBC",
        key_alg: OAEP,
        authenticated: false,
    },
    Envelope {
        name: "ossl-gcm",
        der: fixture!("msg/ossl-gcm.p7m"),
        to: Who::AliceRsa,
        cipher: "aes256-GCM",
        key_alg: RSA_V15,
        authenticated: true,
    },
    Envelope {
        name: "ossl-ecdh",
        der: fixture!("msg/ossl-ecdh.p7m"),
        to: Who::AliceEc,
        cipher: "aes256-CBC",
        key_alg: ECDH_SHA1KDF,
        authenticated: false,
    },
    Envelope {
        name: "ossl-ecdh-stream",
        der: fixture!("msg/ossl-ecdh-stream.p7m"),
        to: Who::AliceEc,
        cipher: "aes128-CBC",
        key_alg: ECDH_SHA1KDF,
        authenticated: false,
    },
    Envelope {
        name: "ossl-ecdh-sha256",
        der: fixture!("msg/ossl-ecdh-sha256.p7m"),
        to: Who::AliceEc,
        cipher: "aes256-CBC",
        key_alg: ECDH_SHA256KDF,
        authenticated: false,
    },
    Envelope {
        name: "ossl-keyid",
        der: fixture!("msg/ossl-keyid.p7m"),
        to: Who::AliceRsa,
        cipher: "aes256-CBC",
        key_alg: RSA_V15,
        authenticated: false,
    },
    Envelope {
        name: "ossl-ecdh-keyid",
        der: fixture!("msg/ossl-ecdh-keyid.p7m"),
        to: Who::AliceEc,
        cipher: "aes256-CBC",
        key_alg: ECDH_SHA1KDF,
        authenticated: false,
    },
    Envelope {
        name: "gpgsm-enc",
        der: fixture!("msg/gpgsm-enc.p7m"),
        to: Who::AliceRsa,
        cipher: "aes128-CBC",
        key_alg: RSA_V15,
        authenticated: false,
    },
    Envelope {
        name: "nss-enc",
        der: fixture!("msg/nss-enc.p7m"),
        to: Who::AliceRsa,
        cipher: "aes128-CBC",
        key_alg: RSA_V15,
        authenticated: false,
    },
];

struct Signature {
    name: &'static str,
    der: &'static [u8],
    detached: bool,
    by: Who,
    /// Signed attributes present (all but `-noattr`).
    attrs: bool,
}

const SIGNATURES: &[Signature] = &[
    Signature {
        name: "ossl-detached",
        der: fixture!("msg/ossl-detached.p7s"),
        detached: true,
        by: Who::AliceRsa,
        attrs: true,
    },
    Signature {
        name: "ossl-opaque",
        der: fixture!("msg/ossl-opaque.p7m"),
        detached: false,
        by: Who::AliceRsa,
        attrs: true,
    },
    Signature {
        name: "ossl-opaque-stream",
        der: fixture!("msg/ossl-opaque-stream.p7m"),
        detached: false,
        by: Who::AliceRsa,
        attrs: true,
    },
    Signature {
        name: "ossl-ec-detached",
        der: fixture!("msg/ossl-ec-detached.p7s"),
        detached: true,
        by: Who::AliceEc,
        attrs: true,
    },
    Signature {
        name: "ossl-keyid-detached",
        der: fixture!("msg/ossl-keyid-detached.p7s"),
        detached: true,
        by: Who::AliceRsa,
        attrs: true,
    },
    Signature {
        name: "ossl-noattr-detached",
        der: fixture!("msg/ossl-noattr-detached.p7s"),
        detached: true,
        by: Who::AliceRsa,
        attrs: false,
    },
    Signature {
        name: "gpgsm-detached",
        der: fixture!("msg/gpgsm-detached.p7s"),
        detached: true,
        by: Who::AliceRsa,
        attrs: true,
    },
    Signature {
        name: "gpgsm-opaque",
        der: fixture!("msg/gpgsm-opaque.p7m"),
        detached: false,
        by: Who::AliceRsa,
        attrs: true,
    },
    Signature {
        name: "nss-detached",
        der: fixture!("msg/nss-detached.p7s"),
        detached: true,
        by: Who::AliceRsa,
        attrs: true,
    },
    Signature {
        name: "nss-opaque",
        der: fixture!("msg/nss-opaque.p7m"),
        detached: false,
        by: Who::AliceRsa,
        attrs: true,
    },
];

// ---------------------------------------------------------------------------------------------
// Reading the fixtures with the `cms` crate's types, to find the bytes to tamper with.

const CT_ENVELOPED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");

fn inner<T: for<'a> Decode<'a, Error = der::Error>>(input: &[u8]) -> (ObjectIdentifier, T) {
    let ci = ContentInfo::from_der(input).or_else(|_| ContentInfo::from_ber(input)).expect("ContentInfo");
    let inner = ci.content.to_der().unwrap();
    (ci.content_type, T::from_der(&inner).or_else(|_| T::from_ber(&inner)).expect("CMS content"))
}

/// The encrypted content and our RecipientInfo's encrypted key of an envelope.
fn envelope_parts(input: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let ci = ContentInfo::from_der(input).or_else(|_| ContentInfo::from_ber(input)).unwrap();
    let (infos, eci) = if ci.content_type == CT_ENVELOPED_DATA {
        let (_, ed): (_, EnvelopedData) = inner(input);
        (ed.recip_infos, ed.encrypted_content)
    } else {
        let (_, aed): (_, AuthEnvelopedData) = inner(input);
        (aed.recip_infos, aed.auth_encrypted_content_info)
    };
    assert_eq!(infos.0.len(), 1, "one recipient expected");
    let enc_key = match infos.0.iter().next().unwrap() {
        RecipientInfo::Ktri(k) => k.enc_key.as_bytes().to_vec(),
        RecipientInfo::Kari(k) => k.recipient_enc_keys[0].enc_key.as_bytes().to_vec(),
        other => panic!("unexpected RecipientInfo {other:?}"),
    };
    (eci.encrypted_content.expect("encrypted content").as_bytes().to_vec(), enc_key)
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    let mut hits = haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i);
    let first = hits.next().expect("bytes not found in the fixture");
    assert!(hits.next().is_none(), "bytes found twice in the fixture");
    first
}

/// `input` with the byte at `offset` inside the (unique) occurrence of `needle` XORed with `mask`.
fn flip(input: &[u8], needle: &[u8], offset: usize, mask: u8) -> Vec<u8> {
    let at = find(input, needle) + offset;
    let mut out = input.to_vec();
    out[at] ^= mask;
    out
}

/// An envelope with one byte of its encrypted content changed so that decryption cannot
/// succeed: for CBC, the last byte of the next-to-last block, which flips the padding byte
/// (0x01..=0x10) to 0x81..=0x90; for GCM, the first byte (the tag fails).
fn tamper_ciphertext(e: &Envelope) -> Vec<u8> {
    let (ct, _) = envelope_parts(e.der);
    if e.authenticated {
        flip(e.der, &ct[..16], 0, 0x01)
    } else {
        assert!(ct.len() >= 32 && ct.len() % 16 == 0, "{}: CBC ciphertext of {} octets", e.name, ct.len());
        // The block alone: BER writers (OpenSSL -stream, gpgsm, NSS) put the last block in a
        // chunk of its own.
        flip(e.der, &ct[ct.len() - 32..ct.len() - 16], 15, 0x80)
    }
}

/// Keys that are wrong for a message (tampered encrypted key, other private key) must fail like
/// a wrong key: `DecryptionFailed` and nothing else. With AES-CBC and no MAC, a wrong content
/// key still yields valid padding about once in 256 tries, and then garbage comes out: that is
/// the nature of CBC and the reason the check is a tally rather than per case.
#[derive(Default)]
struct Rejections {
    total: usize,
    garbage: Vec<String>,
}

impl Rejections {
    #[track_caller]
    fn record(&mut self, label: &str, r: pki_core::Result<Opened>, integrity_protected: bool) {
        self.total += 1;
        match r {
            Err(Error::DecryptionFailed) => {}
            Ok(o) if !integrity_protected && o.content != ENTITY => self.garbage.push(label.to_string()),
            Ok(o) => panic!("{label}: opened ({} octets) although the key material is wrong", o.content.len()),
            Err(e) => panic!("{label}: {e:?}, expected DecryptionFailed (any other error is an oracle)"),
        }
    }

    #[track_caller]
    fn check(&self) {
        assert!(self.total > 0);
        eprintln!(
            "{} wrong-key cases, {} passed the CBC padding check: {:?}",
            self.total,
            self.garbage.len(),
            self.garbage
        );
        let allowed = (self.total / 16).max(1);
        assert!(
            self.garbage.len() <= allowed,
            "{} of {} wrong-key cases passed the CBC padding check (expected about 1 in 256): {:?}",
            self.garbage.len(),
            self.total,
            self.garbage
        );
    }
}

// ---------------------------------------------------------------------------------------------
// cms::open

#[test]
fn every_envelope_opens_to_the_entity() {
    let lf = ENTITY.iter().filter(|b| **b == b'\n').count();
    assert!(lf == 5 && ENTITY.windows(2).filter(|w| *w == b"\r\n").count() == lf, "entity.txt must be CRLF");
    for e in ENVELOPES {
        let opened = pki_core::cms::open(e.der, e.to.cert(), e.to.key(), &mut rng())
            .unwrap_or_else(|err| panic!("{}: {err:?}", e.name));
        assert_eq!(opened.content, ENTITY, "{}", e.name);
        assert_eq!(opened.authenticated, e.authenticated, "{}", e.name);
        assert_eq!(
            pki_core::oid_names(&[opened.content_cipher, opened.key_algorithm]),
            [e.cipher, e.key_alg],
            "{}",
            e.name
        );
    }
}

#[test]
fn another_certificate_is_no_matching_recipient() {
    let p = pki();
    for e in ENVELOPES {
        // Same issuer, other serial numbers (and for the EC envelopes, another key type).
        let others: [(&Certificate, &PrivateKey); 2] = match e.to {
            Who::AliceRsa => [(&p.no_eku, &p.other_key), (&p.alice_ec, &p.alice_ec_key)],
            Who::AliceEc => [(&p.alice_rsa, &p.alice_rsa_key), (&p.outsider, &p.other_key)],
        };
        for (c, k) in others {
            let r = pki_core::cms::open(e.der, c, k, &mut rng());
            assert!(matches!(r, Err(Error::NoMatchingRecipient)), "{}: {r:?}", e.name);
        }
    }
}

#[test]
fn tampered_ciphertext_is_decryption_failed() {
    for e in ENVELOPES {
        let bad = tamper_ciphertext(e);
        let r = pki_core::cms::open(&bad, e.to.cert(), e.to.key(), &mut rng());
        assert!(matches!(r, Err(Error::DecryptionFailed)), "{}: {r:?}", e.name);
    }
}

#[test]
fn tampered_encrypted_key_is_decryption_failed() {
    let mut tally = Rejections::default();
    for e in ENVELOPES {
        let (_, enc_key) = envelope_parts(e.der);
        let n = enc_key.len();
        // First and last octets (an RSA ciphertext may then exceed the modulus), and inside.
        for offset in [0, 1, n / 4, n / 2, 3 * n / 4, n - 1] {
            let bad = flip(e.der, &enc_key, offset, 0x04);
            let r = pki_core::cms::open(&bad, e.to.cert(), e.to.key(), &mut rng());
            // ECDH wraps the content key with AES key wrap, whose integrity check always fails.
            tally.record(
                &format!("{} (encrypted key octet {offset})", e.name),
                r,
                e.authenticated || e.to == Who::AliceEc,
            );
        }
    }
    tally.check();
}

/// Implicit rejection: a wrong RSA private key behind the right certificate gives the same
/// `DecryptionFailed` as a tampered ciphertext, for PKCS#1 v1.5 and OAEP alike.
#[test]
fn wrong_rsa_key_behind_the_right_certificate_is_decryption_failed() {
    let p = pki();
    let mut tally = Rejections::default();
    for e in ENVELOPES.iter().filter(|e| e.to == Who::AliceRsa) {
        let r = pki_core::cms::open(e.der, &p.alice_rsa, &p.other_key, &mut rng());
        tally.record(e.name, r, e.authenticated);
        // The same, with the encrypted key tampered as well: still the one error.
        let (_, enc_key) = envelope_parts(e.der);
        let bad = flip(e.der, &enc_key, enc_key.len() / 2, 0x10);
        tally.record(
            &format!("{} (tampered key)", e.name),
            pki_core::cms::open(&bad, &p.alice_rsa, &p.other_key, &mut rng()),
            e.authenticated,
        );
    }
    tally.check();
    // An EC recipient's private key that is not the certificate's: the KEK differs, the key
    // unwrap fails.
    let wrong_ec = PrivateKey::generate(pki_core::KeyAlgorithm::P256, &mut rng()).unwrap();
    for e in ENVELOPES.iter().filter(|e| e.to == Who::AliceEc) {
        let r = pki_core::cms::open(e.der, &p.alice_ec, &wrong_ec, &mut rng());
        assert!(matches!(r, Err(Error::DecryptionFailed)), "{}: {r:?}", e.name);
    }
}

/// A change to an envelope: its encrypted content info, its encrypted key, its MAC (if any).
type Change<'a> = &'a dyn Fn(&mut EncryptedContentInfo, &mut Vec<u8>, Option<&mut Vec<u8>>);

/// Re-encodes an envelope (as DER) after `f` has changed its encrypted content info, its one
/// encrypted key and (for AuthEnvelopedData) its MAC.
fn rebuild(input: &[u8], f: Change<'_>) -> Vec<u8> {
    fn with_key(infos: &RecipientInfos, f: &mut dyn FnMut(&mut Vec<u8>)) -> RecipientInfos {
        let mut list: Vec<RecipientInfo> = infos.0.iter().cloned().collect();
        let slot = match &mut list[0] {
            RecipientInfo::Ktri(k) => &mut k.enc_key,
            RecipientInfo::Kari(k) => &mut k.recipient_enc_keys[0].enc_key,
            other => panic!("unexpected RecipientInfo {other:?}"),
        };
        let mut bytes = slot.as_bytes().to_vec();
        f(&mut bytes);
        *slot = OctetString::new(bytes).unwrap();
        RecipientInfos(SetOfVec::try_from(list).unwrap())
    }
    let ci = ContentInfo::from_der(input).or_else(|_| ContentInfo::from_ber(input)).unwrap();
    let content = if ci.content_type == CT_ENVELOPED_DATA {
        let (_, mut ed): (_, EnvelopedData) = inner(input);
        let mut eci = ed.encrypted_content.clone();
        ed.recip_infos = with_key(&ed.recip_infos, &mut |key| f(&mut eci, key, None));
        ed.encrypted_content = eci;
        Any::encode_from(&ed).unwrap()
    } else {
        let (_, mut aed): (_, AuthEnvelopedData) = inner(input);
        let mut eci = aed.auth_encrypted_content_info.clone();
        let mut mac = aed.mac.as_bytes().to_vec();
        aed.recip_infos = with_key(&aed.recip_infos, &mut |key| f(&mut eci, key, Some(&mut mac)));
        aed.auth_encrypted_content_info = eci;
        aed.mac = OctetString::new(mac).unwrap();
        Any::encode_from(&aed).unwrap()
    };
    ContentInfo { content_type: ci.content_type, content }.to_der().unwrap()
}

fn set_ciphertext(eci: &mut EncryptedContentInfo, f: impl FnOnce(&mut Vec<u8>)) {
    let mut ct = eci.encrypted_content.as_ref().unwrap().as_bytes().to_vec();
    f(&mut ct);
    eci.encrypted_content = Some(OctetString::new(ct).unwrap());
}

/// Broken structure (lengths, parameters, algorithms) is an error, never a panic; a broken
/// encrypted key or ciphertext is still the one `DecryptionFailed`.
#[test]
fn malformed_envelopes_are_errors() {
    let key_cases: [(&str, Change<'static>); 4] = [
        ("empty encrypted key", &|_, k, _| k.clear()),
        ("encrypted key one octet longer", &|_, k, _| k.push(0)),
        ("encrypted key one octet shorter", &|_, k, _| {
            k.pop();
        }),
        ("encrypted key all zero", &|_, k, _| k.iter_mut().for_each(|b| *b = 0)),
    ];
    let content_cases: [(&str, Change<'static>); 3] = [
        ("ciphertext one octet shorter", &|e, _, _| {
            set_ciphertext(e, |c| {
                c.pop();
            })
        }),
        ("ciphertext one block shorter", &|e, _, _| set_ciphertext(e, |c| c.truncate(c.len() - 16))),
        ("empty ciphertext", &|e, _, _| set_ciphertext(e, Vec::clear)),
    ];
    let structure_cases: [(&str, Change<'static>); 5] = [
        ("no ciphertext (detached)", &|e, _, _| e.encrypted_content = None),
        ("no cipher parameters", &|e, _, _| e.content_enc_alg.parameters = None),
        ("cipher parameters not an OCTET STRING or SEQUENCE", &|e, _, _| {
            e.content_enc_alg.parameters = Some(Any::encode_from(&der::asn1::Null).unwrap());
        }),
        ("3DES content cipher", &|e, _, _| e.content_enc_alg.oid = ObjectIdentifier::new_unwrap("1.2.840.113549.3.7")),
        ("8-octet MAC", &|_, _, m| {
            if let Some(m) = m {
                m.truncate(8);
            }
        }),
    ];
    let mut tally = Rejections::default();
    for e in ENVELOPES {
        for (label, change) in key_cases.iter().chain(&content_cases) {
            let msg = rebuild(e.der, *change);
            let r = catch_unwind(AssertUnwindSafe(|| pki_core::cms::open(&msg, e.to.cert(), e.to.key(), &mut rng())))
                .unwrap_or_else(|_| panic!("{}: {label}: panicked", e.name));
            // A content of the wrong length cannot decrypt; a key of the wrong length is a
            // wrong key.
            let protected = e.authenticated || e.to == Who::AliceEc || label.contains("ciphertext");
            tally.record(&format!("{}: {label}", e.name), r, protected);
        }
        for (label, change) in &structure_cases {
            if *label == "8-octet MAC" && !e.authenticated {
                continue;
            }
            let msg = rebuild(e.der, *change);
            let r = catch_unwind(AssertUnwindSafe(|| pki_core::cms::open(&msg, e.to.cert(), e.to.key(), &mut rng())))
                .unwrap_or_else(|_| panic!("{}: {label}: panicked", e.name));
            assert!(r.is_err(), "{}: {label}: opened", e.name);
        }
    }
    tally.check();
}

/// An envelope whose RSA-OAEP encrypted key does not decode, and whose content is encrypted
/// under SHA-256 of that encrypted key: the key pki-core falls back to when OAEP decoding fails.
/// Anyone can compute it, so whether OAEP decoding failed shows in whether the message opens:
/// exactly the oracle that implicit rejection is there to prevent. It must fail like every
/// other wrong key.
#[test]
fn failed_oaep_decoding_does_not_fall_back_to_a_public_key() {
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
    use sha2::Digest;
    let p = pki();
    let mut garbage = vec![0u8; 256];
    rng().fill_bytes(&mut garbage);
    garbage[0] = 0; // below the modulus: the RSA operation runs, OAEP decoding fails
    let fallback = sha2::Sha256::digest(&garbage);
    let iv = [7u8; 16];
    let ct =
        cbc::Encryptor::<aes::Aes256>::new_from_slices(&fallback, &iv).unwrap().encrypt_padded_vec::<Pkcs7>(ENTITY);
    let msg = rebuild(fixture!("msg/ossl-oaep.p7m"), &|eci, key, _| {
        key.clone_from(&garbage);
        eci.content_enc_alg.parameters = Some(Any::encode_from(&OctetString::new(iv.to_vec()).unwrap()).unwrap());
        eci.encrypted_content = Some(OctetString::new(ct.clone()).unwrap());
    });
    let r = pki_core::cms::open(&msg, &p.alice_rsa, &p.alice_rsa_key, &mut rng());
    assert!(
        matches!(r, Err(Error::DecryptionFailed)),
        "opened: {:?}",
        r.map(|o| String::from_utf8_lossy(&o.content).into_owned())
    );
}

const MULTI: &[u8] = fixture!("msg/ossl-multi.p7m");
const PSS: &[u8] = fixture!("msg/ossl-pss-detached.p7s");

/// One message for both of alice's certificates: a KeyTransRecipientInfo and a
/// KeyAgreeRecipientInfo side by side.
#[test]
fn one_envelope_for_two_recipients() {
    let p = pki();
    for (who, key_alg) in [(Who::AliceRsa, RSA_V15), (Who::AliceEc, ECDH_SHA1KDF)] {
        let opened = pki_core::cms::open(MULTI, who.cert(), who.key(), &mut rng()).unwrap();
        assert_eq!(opened.content, ENTITY, "{who:?}");
        assert_eq!(pki_core::oid_names(&[opened.key_algorithm]), [key_alg], "{who:?}");
    }
    let r = pki_core::cms::open(MULTI, &p.no_eku, &p.other_key, &mut rng());
    assert!(matches!(r, Err(Error::NoMatchingRecipient)), "{r:?}");
    let mut tally = Rejections::default();
    tally.record("multi, wrong RSA key", pki_core::cms::open(MULTI, &p.alice_rsa, &p.other_key, &mut rng()), false);
    tally.check();
}

// ---------------------------------------------------------------------------------------------
// cms::verify

fn signer_signature(input: &[u8]) -> Vec<u8> {
    let (_, sd): (_, SignedData) = inner(input);
    assert_eq!(sd.signer_infos.0.len(), 1);
    sd.signer_infos.0.iter().next().unwrap().signature.as_bytes().to_vec()
}

#[test]
fn every_signature_verifies() {
    let p = pki();
    for s in SIGNATURES {
        let report = pki_core::cms::verify(s.der, s.detached.then_some(ENTITY), &p.root, T)
            .unwrap_or_else(|e| panic!("{}: {e:?}", s.name));
        assert!(report.is_valid(), "{}: {:?}", s.name, report.signers);
        assert_eq!(report.content, ENTITY, "{}", s.name);
        assert_eq!(report.signers.len(), 1, "{}", s.name);
        let signer = &report.signers[0];
        assert_eq!(signer.cert.as_ref(), Some(s.by.cert()), "{}: signer certificate", s.name);
        assert_eq!(signer.signing_time.is_some(), s.attrs, "{}: signingTime", s.name);
        assert_eq!(!signer.capabilities.is_empty(), s.attrs, "{}: SMIMECapabilities", s.name);
        match &signer.chain {
            Verdict::Valid { path } => {
                assert_eq!(path.as_slice(), [s.by.cert().clone(), p.inter.clone()], "{}", s.name)
            }
            other => panic!("{}: {other:?}", s.name),
        }
    }
}

#[test]
fn tampered_content_is_digest_mismatch() {
    let p = pki();
    let mut changed = ENTITY.to_vec();
    let at = find(&changed, b"Hello");
    changed[at] = b'J';
    for s in SIGNATURES {
        let report = if s.detached {
            pki_core::cms::verify(s.der, Some(&changed), &p.root, T)
        } else {
            let bad = flip(s.der, ENTITY, at, b'H' ^ b'J');
            pki_core::cms::verify(&bad, None, &p.root, T)
        }
        .unwrap_or_else(|e| panic!("{}: {e:?}", s.name));
        // Without signed attributes there is no messageDigest: the signature itself fails.
        let want = if s.attrs { SignatureStatus::DigestMismatch } else { SignatureStatus::BadSignature };
        assert_eq!(report.signers[0].signature, want, "{}", s.name);
        assert!(!report.is_valid(), "{}", s.name);
    }
}

#[test]
fn flipped_signature_byte_is_bad_signature() {
    let p = pki();
    for s in SIGNATURES {
        let sig = signer_signature(s.der);
        for offset in [sig.len() / 2, sig.len() - 1] {
            let bad = flip(s.der, &sig, offset, 0x01);
            let report = pki_core::cms::verify(&bad, s.detached.then_some(ENTITY), &p.root, T)
                .unwrap_or_else(|e| panic!("{}: {e:?}", s.name));
            assert_eq!(report.signers[0].signature, SignatureStatus::BadSignature, "{} (octet {offset})", s.name);
            assert!(!report.is_valid(), "{}", s.name);
        }
    }
}

#[test]
fn signatures_under_another_root_or_after_expiry_are_not_valid() {
    let p = pki();
    for s in SIGNATURES {
        let content = s.detached.then_some(ENTITY);
        let report = pki_core::cms::verify(s.der, content, &p.other_root, T).unwrap();
        assert_eq!(report.signers[0].signature, SignatureStatus::Valid, "{}", s.name);
        assert!(
            matches!(&report.signers[0].chain, Verdict::Invalid { failure: Failure::IssuerNotFound, .. }),
            "{}: {:?}",
            s.name,
            report.signers[0].chain
        );
        assert!(!report.is_valid());
        // 2046: after every certificate's notAfter (2045-01-01).
        let report = pki_core::cms::verify(s.der, content, &p.root, UnixTime(2_400_000_000)).unwrap();
        assert!(
            matches!(&report.signers[0].chain, Verdict::Invalid { failure: Failure::Expired { .. }, .. }),
            "{}: {:?}",
            s.name,
            report.signers[0].chain
        );
        // A detached signature without its content is a structural error.
        if s.detached {
            assert!(matches!(pki_core::cms::verify(s.der, None, &p.root, T), Err(Error::Cms { .. })), "{}", s.name);
        }
    }
}

/// RSASSA-PSS is not among the algorithms pki-core verifies: it says so, and the chain is
/// still judged.
#[test]
fn rsa_pss_signature_is_reported_unsupported() {
    let p = pki();
    let report = pki_core::cms::verify(PSS, Some(ENTITY), &p.root, T).unwrap();
    let pss = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
    assert_eq!(report.signers[0].signature, SignatureStatus::Unsupported { oid: pss });
    assert!(report.signers[0].chain.is_valid());
    assert!(!report.is_valid());
}

/// The same ContentInfo with its outermost SEQUENCE in BER indefinite-length form.
fn outer_indefinite(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30);
    let header = match der[1] {
        0x82 => 4,
        0x81 => 3,
        0x80.. => panic!("not a short DER SEQUENCE"),
        _ => 2,
    };
    [&[0x30, 0x80][..], &der[header..], &[0, 0]].concat()
}

/// Some writers use indefinite lengths outside and a primitive OCTET STRING inside.
#[test]
fn ber_outside_primitive_inside_is_read() {
    let p = pki();
    let report = pki_core::cms::verify(&outer_indefinite(fixture!("msg/ossl-opaque.p7m")), None, &p.root, T).unwrap();
    assert!(report.is_valid(), "{:?}", report.signers);
    assert_eq!(report.content, ENTITY);
    for e in ENVELOPES.iter().filter(|e| e.der[1] != 0x80) {
        let opened = pki_core::cms::open(&outer_indefinite(e.der), e.to.cert(), e.to.key(), &mut rng()).unwrap();
        assert_eq!(opened.content, ENTITY, "{}", e.name);
    }
}

/// `input` with the run of primitive OCTET STRING chunks that holds exactly `data` (inside a
/// BER constructed OCTET STRING) replaced by chunks of `size` octets.
fn rechunk(input: &[u8], data: &[u8], size: usize) -> Vec<u8> {
    // Walk the chunks from the first one, which starts 3 octets (04 81 LL) before the data.
    let start = find(input, &data[..16.min(data.len())]) - 3;
    let (mut at, mut seen) = (start, Vec::new());
    while seen.len() < data.len() {
        assert_eq!(input[at], 0x04, "a primitive OCTET STRING chunk");
        let (len, header) = match input[at + 1] {
            0x81 => (usize::from(input[at + 2]), 3),
            n if n < 0x80 => (usize::from(n), 2),
            _ => panic!("unexpected chunk length form"),
        };
        seen.extend_from_slice(&input[at + header..at + header + len]);
        at += header + len;
    }
    assert_eq!(seen, data, "the chunks hold exactly the data");
    let mut chunks = Vec::new();
    for c in data.chunks(size) {
        chunks.push(0x04);
        chunks.push(u8::try_from(c.len()).unwrap());
        chunks.extend_from_slice(c);
    }
    [&input[..start], &chunks[..], &input[at..]].concat()
}

/// BER content in many small chunks (as a streaming writer makes for longer messages).
#[test]
fn content_in_many_ber_chunks_is_joined() {
    let p = pki();
    for size in [1, 7, 16, 100] {
        let signed = rechunk(fixture!("msg/ossl-opaque-stream.p7m"), ENTITY, size);
        let report = pki_core::cms::verify(&signed, None, &p.root, T).unwrap();
        assert!(report.is_valid() && report.content == ENTITY, "chunks of {size}: {:?}", report.signers);
        for name in ["ossl-aes256-stream", "ossl-ecdh-stream", "gpgsm-enc", "nss-enc"] {
            let e = ENVELOPES.iter().find(|e| e.name == name).unwrap();
            let (ct, _) = envelope_parts(e.der);
            let msg = rechunk(e.der, &ct, size);
            let opened = pki_core::cms::open(&msg, e.to.cert(), e.to.key(), &mut rng()).unwrap();
            assert_eq!(opened.content, ENTITY, "{name}, chunks of {size}");
        }
    }
}

/// A BER SignedData whose (primitive) eContent happens to look like a run of DER OCTET STRINGs.
#[test]
fn primitive_econtent_of_a_ber_signed_data_is_not_split() {
    let p = pki();
    let content = b"\x04\x05hello";
    let signer =
        pki_core::cms::Signer { cert: &p.alice_rsa, key: &p.alice_rsa_key, chain: std::slice::from_ref(&p.inter) };
    let der = pki_core::cms::sign(
        content,
        signer,
        pki_core::cms::SignOptions { signing_time: T, detached: false },
        &mut rng(),
    )
    .unwrap();
    let report = pki_core::cms::verify(&der, None, &p.root, T).unwrap();
    assert!(report.is_valid() && report.content == content, "DER: {:?}", report.content);
    let report = pki_core::cms::verify(&outer_indefinite(&der), None, &p.root, T).unwrap();
    assert_eq!(report.content, content, "BER outside, primitive eContent inside");
    assert_eq!(report.signers[0].signature, SignatureStatus::Valid);
}

// ---------------------------------------------------------------------------------------------
// path::validate

fn verdict(leaf: &Certificate, pool: &[Certificate], anchor: &Certificate, usage: Usage) -> (usize, Failure) {
    match path::validate(leaf, pool, anchor, T, usage) {
        Verdict::Invalid { position, failure, .. } => (position, failure),
        other => panic!("expected an invalid verdict for {}, got {other:?}", leaf.tbs_certificate().subject()),
    }
}

#[test]
fn alice_is_valid_for_signing_and_encryption() {
    let p = pki();
    for leaf in [&p.alice_rsa, &p.alice_ec] {
        for usage in [Usage::Sign, Usage::Encrypt, Usage::Chain] {
            let v = path::validate(leaf, std::slice::from_ref(&p.inter), &p.root, T, usage);
            assert_eq!(v, Verdict::Valid { path: vec![leaf.clone(), p.inter.clone()] }, "{usage:?}");
        }
    }
    // The intermediate alone, and the sub-CA for its own sake (it breaks nothing until it issues).
    assert!(path::validate(&p.inter, &[], &p.root, T, Usage::Chain).is_valid());
    assert!(path::validate(&p.sub_ca, std::slice::from_ref(&p.inter), &p.root, T, Usage::Chain).is_valid());
    // Extra, unrelated certificates in the pool change nothing.
    let pool = [p.outsider.clone(), p.other_root.clone(), p.sub_ca.clone(), p.inter.clone(), p.root.clone()];
    assert!(path::validate(&p.alice_rsa, &pool, &p.root, T, Usage::Sign).is_valid());
}

#[test]
fn negative_certificates_get_their_verdicts() {
    let p = pki();
    let inter = std::slice::from_ref(&p.inter);
    for usage in [Usage::Sign, Usage::Encrypt] {
        // 2021-01-01T00:00:00Z.
        assert_eq!(
            verdict(&p.expired, inter, &p.root, usage),
            (0, Failure::Expired { not_after: UnixTime(1_609_459_200) })
        );
        assert_eq!(verdict(&p.no_eku, inter, &p.root, usage), (0, Failure::ExtendedKeyUsage));
        assert_eq!(verdict(&p.wrong_eku, inter, &p.root, usage), (0, Failure::ExtendedKeyUsage));
        assert_eq!(
            verdict(&p.outsider, inter, &p.root, usage),
            (0, Failure::NameConstraint { address: "bob@bank.example".into() })
        );
        // The pathLen-0 intermediate (position 2) has a CA below it.
        assert_eq!(
            verdict(&p.under_sub, &[p.sub_ca.clone(), p.inter.clone()], &p.root, usage),
            (2, Failure::PathLenExceeded { path_len: 0 })
        );
    }
    assert_eq!(
        verdict(&p.ku_sign_only, inter, &p.root, Usage::Encrypt),
        (0, Failure::KeyUsage { missing: "keyEncipherment" })
    );
    assert!(path::validate(&p.ku_sign_only, inter, &p.root, T, Usage::Sign).is_valid());
    // Before alice's notBefore (2025-01-01); and the expired certificate was valid in 2020.
    assert_eq!(
        match path::validate(&p.alice_rsa, inter, &p.root, UnixTime(1_700_000_000), Usage::Sign) {
            Verdict::Invalid { position, failure, .. } => (position, failure),
            v => panic!("{v:?}"),
        },
        (0, Failure::NotYetValid { not_before: UnixTime(1_735_689_600) })
    );
    assert!(path::validate(&p.expired, inter, &p.root, UnixTime(1_600_000_000), Usage::Sign).is_valid());
}

/// rfc822Name constraints `pportal.io` and `alice@example.com`, as OpenSSL judges them too
/// (regenerate.sh checks OpenSSL's verdicts).
#[test]
fn name_constraints_agree_with_openssl() {
    let p = pki();
    let inter = std::slice::from_ref(&p.inter);
    // A mailbox at the relay domain; the permitted mailbox with its host in capitals.
    assert!(path::validate(&p.contact, inter, &p.root, T, Usage::Encrypt).is_valid());
    assert!(path::validate(&p.upper_domain, inter, &p.root, T, Usage::Encrypt).is_valid());
    // `pportal.io` does not cover its subdomains.
    assert_eq!(
        verdict(&p.subdomain, inter, &p.root, Usage::Sign),
        (0, Failure::NameConstraint { address: "x@sub.pportal.io".into() })
    );
    // An emailAddress attribute in the subject is held to the constraints like the SAN.
    assert_eq!(
        verdict(&p.dn_email, inter, &p.root, Usage::Sign),
        (0, Failure::NameConstraint { address: "bob@bank.example".into() })
    );
}

#[test]
fn wrong_anchor_is_issuer_not_found() {
    let p = pki();
    let inter = std::slice::from_ref(&p.inter);
    assert_eq!(verdict(&p.alice_rsa, inter, &p.other_root, Usage::Sign), (1, Failure::IssuerNotFound));
    assert_eq!(verdict(&p.alice_rsa, &[], &p.root, Usage::Sign), (0, Failure::IssuerNotFound));
    assert_eq!(verdict(&p.alice_ec, inter, &p.sub_ca, Usage::Encrypt), (1, Failure::IssuerNotFound));
}

/// A certificate whose signature value has one bit changed.
fn corrupt_signature(c: &Certificate) -> Certificate {
    let der = c.to_der().unwrap();
    let sig = c.signature().raw_bytes();
    let bad = flip(&der, sig, sig.len() / 2, 0x01);
    Certificate::from_der(&bad).unwrap()
}

#[test]
fn corrupted_signature_is_bad_signature() {
    let p = pki();
    let inter = std::slice::from_ref(&p.inter);
    assert_eq!(verdict(&corrupt_signature(&p.alice_rsa), inter, &p.root, Usage::Sign), (0, Failure::BadSignature));
    assert_eq!(verdict(&corrupt_signature(&p.alice_ec), inter, &p.root, Usage::Encrypt), (0, Failure::BadSignature));
    assert_eq!(verdict(&p.alice_rsa, &[corrupt_signature(&p.inter)], &p.root, Usage::Sign), (1, Failure::BadSignature));
}

// ---------------------------------------------------------------------------------------------
// CRL and CSR made by OpenSSL.

const CRL: &[u8] = fixture!("ossl/inter-crl.der");
const CSR: &[u8] = fixture!("ossl/alice-rsa-csr.der");

#[test]
fn openssl_crl_and_csr_are_read() {
    let p = pki();
    let list = crl::verify(CRL, &p.inter).unwrap();
    assert!(crl::is_revoked(&list, &p.outsider));
    assert!(!crl::is_revoked(&list, &p.alice_rsa) && !crl::is_revoked(&list, &p.no_eku));
    assert!(matches!(crl::verify(CRL, &p.root), Err(Error::BadSignature { .. })));
    let sig = list.signature.raw_bytes();
    assert!(matches!(crl::verify(&flip(CRL, sig, 7, 0x01), &p.inter), Err(Error::BadSignature { .. })));

    let req = csr::VerifiedCsr::from_der(CSR).unwrap();
    assert_eq!(req.mailboxes, ["alice@example.com"]);
    let alice_key = PublicKey::from_spki(p.alice_rsa.tbs_certificate().subject_public_key_info()).unwrap();
    assert_eq!(req.public_key, alice_key);
    // The address is in the subject and in the SAN; change the first (the subject's).
    let mut bad = CSR.to_vec();
    let at = bad.windows(5).position(|w| w == b"alice").unwrap();
    bad[at] = b'A';
    assert!(matches!(csr::VerifiedCsr::from_der(&bad), Err(Error::BadSignature { .. })));
}

// ---------------------------------------------------------------------------------------------
// Garbage in: errors out, never a panic.

/// Every fixture in DER (certificates converted from PEM).
fn all_inputs() -> Vec<(String, Vec<u8>)> {
    let p = pki();
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for e in ENVELOPES {
        out.push((e.name.into(), e.der.to_vec()));
    }
    for s in SIGNATURES {
        out.push((s.name.into(), s.der.to_vec()));
    }
    let certs = [
        ("root", &p.root),
        ("inter", &p.inter),
        ("alice-rsa", &p.alice_rsa),
        ("alice-ec", &p.alice_ec),
        ("expired", &p.expired),
        ("no-eku", &p.no_eku),
        ("wrong-eku", &p.wrong_eku),
        ("outsider", &p.outsider),
        ("ku-sign-only", &p.ku_sign_only),
        ("sub-ca", &p.sub_ca),
        ("under-sub", &p.under_sub),
        ("other-root", &p.other_root),
        ("contact", &p.contact),
        ("subdomain", &p.subdomain),
        ("upper-domain", &p.upper_domain),
        ("dn-email", &p.dn_email),
    ];
    for (name, c) in certs {
        out.push((format!("{name}.pem"), c.to_der().unwrap()));
    }
    out.push(("ossl-multi".into(), MULTI.to_vec()));
    out.push(("ossl-pss-detached".into(), PSS.to_vec()));
    out.push(("inter-crl.der".into(), CRL.to_vec()));
    out.push(("alice-rsa-csr.der".into(), CSR.to_vec()));
    out
}

/// What went wrong when an input went through every parser.
#[derive(Debug)]
enum Misbehaviour {
    Panicked(&'static str),
    Accepted(&'static str),
}

/// Feeds `input` to every entry point. With `must_fail`, any success is reported too.
fn every_entry_point(input: &[u8], must_fail: bool) -> Vec<Misbehaviour> {
    let p = pki();
    let mut found = Vec::new();
    let mut run = |what: &'static str, f: &mut dyn FnMut() -> bool| match catch_unwind(AssertUnwindSafe(f)) {
        Err(_) => found.push(Misbehaviour::Panicked(what)),
        Ok(true) if must_fail => found.push(Misbehaviour::Accepted(what)),
        Ok(_) => {}
    };
    run("cms::open (RSA)", &mut || pki_core::cms::open(input, &p.alice_rsa, &p.alice_rsa_key, &mut rng()).is_ok());
    run("cms::open (EC)", &mut || pki_core::cms::open(input, &p.alice_ec, &p.alice_ec_key, &mut rng()).is_ok());
    run("cms::verify (detached)", &mut || {
        pki_core::cms::verify(input, Some(ENTITY), &p.root, T).is_ok_and(|r| r.is_valid())
    });
    run("cms::verify (opaque)", &mut || pki_core::cms::verify(input, None, &p.root, T).is_ok_and(|r| r.is_valid()));
    run("cms::content_type", &mut || pki_core::cms::content_type(input).is_ok());
    run("Certificate::from_der + path::validate", &mut || {
        Certificate::from_der(input).is_ok_and(|c| {
            let pool = [p.inter.clone(), p.sub_ca.clone()];
            path::validate(&c, &pool, &p.root, T, Usage::Sign).is_valid()
                | path::validate(&c, &pool, &p.root, T, Usage::Encrypt).is_valid()
        })
    });
    run("csr::VerifiedCsr::from_der", &mut || csr::VerifiedCsr::from_der(input).is_ok());
    run("crl::verify", &mut || crl::verify(input, &p.inter).is_ok());
    found
}

/// The harness itself: the intact fixtures are accepted by the entry point they are for.
#[test]
fn intact_fixtures_are_accepted() {
    let accepted = |input: &[u8]| -> Vec<&'static str> {
        every_entry_point(input, true)
            .into_iter()
            .map(|m| match m {
                Misbehaviour::Accepted(what) => what,
                Misbehaviour::Panicked(what) => panic!("{what} panicked on an intact fixture"),
            })
            .collect()
    };
    for e in ENVELOPES {
        let want = if e.to == Who::AliceRsa { "cms::open (RSA)" } else { "cms::open (EC)" };
        assert_eq!(accepted(e.der), [want, "cms::content_type"], "{}", e.name);
    }
    for s in SIGNATURES {
        // An opaque signature ignores a detached content passed along.
        let want: &[&str] = if s.detached {
            &["cms::verify (detached)", "cms::content_type"]
        } else {
            &["cms::verify (detached)", "cms::verify (opaque)", "cms::content_type"]
        };
        assert_eq!(accepted(s.der), want, "{}", s.name);
    }
    let p = pki();
    assert_eq!(accepted(&p.alice_rsa.to_der().unwrap()), ["Certificate::from_der + path::validate"]);
    assert_eq!(accepted(&p.alice_ec.to_der().unwrap()), ["Certificate::from_der + path::validate"]);
    assert_eq!(accepted(MULTI), ["cms::open (RSA)", "cms::open (EC)", "cms::content_type"]);
    assert_eq!(accepted(PSS), ["cms::content_type"]);
    assert_eq!(accepted(CSR), ["csr::VerifiedCsr::from_der"]);
    assert_eq!(accepted(CRL), ["crl::verify"]);
}

#[test]
fn empty_and_random_inputs_are_errors() {
    let mut bad = Vec::new();
    let mut g = rng();
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0],
        vec![0x30],
        vec![0x30, 0x00],
        vec![0x30, 0x80],
        vec![0x30, 0x80, 0, 0],
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    ];
    for i in 0..600_usize {
        let mut v = vec![0u8; g.next_u32() as usize % 3000];
        g.fill_bytes(&mut v);
        // Also random bytes behind a SEQUENCE header, definite or indefinite, to get past the tag.
        match i % 3 {
            1 if v.len() > 4 => {
                let n = u16::try_from(v.len() - 4).unwrap().to_be_bytes();
                v[..4].copy_from_slice(&[0x30, 0x82, n[0], n[1]]);
            }
            2 if v.len() > 2 => v[..2].copy_from_slice(&[0x30, 0x80]),
            _ => {}
        }
        inputs.push(v);
    }
    for input in &inputs {
        let found = every_entry_point(input, true);
        if !found.is_empty() {
            bad.push(format!("{} octets {:02x?}…: {found:?}", input.len(), &input[..input.len().min(16)]));
        }
    }
    assert!(bad.is_empty(), "{} inputs misbehaved:\n{}", bad.len(), bad.join("\n"));
}

/// Every strict prefix of every fixture (the full length is checked by the tests above).
#[test]
fn truncated_fixtures_are_errors() {
    let mut bad = Vec::new();
    let mut checked = 0;
    for (name, der) in all_inputs() {
        for len in 0..der.len() {
            checked += 1;
            let found = every_entry_point(&der[..len], true);
            if !found.is_empty() {
                bad.push(format!("{name}[..{len}] of {}: {found:?}", der.len()));
            }
        }
    }
    assert!(checked > 10_000);
    assert!(
        bad.is_empty(),
        "{} truncations misbehaved:\n{}",
        bad.len(),
        bad.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Random bit flips, overwritten octets (length octets included) and replaced tails: whatever
/// comes out, nothing panics. `PKI_FIXTURE_MUTATIONS=N` runs N rounds per fixture (default 120).
#[test]
fn mutated_fixtures_do_not_panic() {
    let rounds = std::env::var("PKI_FIXTURE_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(120_usize);
    let mut g = rng();
    let mut bad = Vec::new();
    for (name, der) in all_inputs() {
        for round in 0..rounds {
            let mut m = der.clone();
            let n = m.len();
            let pos = g.next_u32() as usize % n;
            match round % 4 {
                0 => m[pos] ^= 1 << (g.next_u32() % 8),
                1 => m[pos] = [0x00, 0x80, 0x81, 0x84, 0xff, 0x7f][g.next_u32() as usize % 6],
                2 => {
                    for _ in 0..4 {
                        let i = g.next_u32() as usize % n;
                        m[i] = g.next_u32().to_le_bytes()[0];
                    }
                }
                _ => g.fill_bytes(&mut m[pos..]),
            }
            let found = every_entry_point(&m, false);
            if !found.is_empty() {
                bad.push(format!("{name} round {round} (octet {pos}): {found:?}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mutations misbehaved:\n{}",
        bad.len(),
        bad.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
