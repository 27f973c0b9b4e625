//! Microbenchmarks behind the relay operations: the RSA-2048 and P-256 private-key operations,
//! key generation, and certificate signing with a key made beforehand (a key pool).
//!
//! The RustCrypto side goes through pki-core where pki-core exposes the operation, and through
//! the `rsa` crate directly for what it does not (unblinded signing, CRT off, raw decryption).

use std::hint::black_box;

use openssl::{
    hash::MessageDigest,
    pkey::{PKey, Private},
    rsa::Padding,
    sign::{Signer, Verifier},
};
use pki_core::{KeyAlgorithm, PrivateKey};
use rand_chacha::ChaCha20Rng;
use rsa::{pkcs8::DecodePrivateKey, sha2::Sha256, traits::PrivateKeyParts};

use super::{
    Config, Table, measure_pair,
    ossl::{OsslSide, pkey},
    pki::{Kind, PkiSide},
};
use crate::Result;

/// What is signed: 32 bytes, hashed with SHA-256 by both sides.
const MSG: [u8; 32] = [0x5a; 32];

pub(crate) fn run(cfg: &Config, sides: &[(PkiSide, OsslSide)], rng: &mut ChaCha20Rng) -> Result {
    let table = Table::start("Microbenchmarks (operations per second)", "RustCrypto", "OpenSSL");
    for (ours, theirs) in sides {
        match ours.kind {
            Kind::Rsa2048 => rsa_rows(cfg, &table, ours, theirs, rng)?,
            Kind::P256 => p256_rows(cfg, &table, ours, theirs, rng)?,
        }
    }
    table.note();
    println!(
        "RustCrypto = pki-core 0.1 on rsa 0.10 / p256 0.14 (crypto-bigint, portable Rust); \"via rsa\" rows call the rsa crate\n\
         \x20 directly. OpenSSL blinds every RSA private operation and has no switch for it here, so its unblinded rows\n\
         \x20 repeat the blinded work. \"pooled key\" = issuance without key generation."
    );
    Ok(())
}

fn rsa_rows(cfg: &Config, table: &Table, ours: &PkiSide, theirs: &OsslSide, rng: &mut ChaCha20Rng) -> Result {
    let key = &ours.inter_key;
    let okey = &theirs.inter_key;
    // The relay keeps keys as PKCS#8; this is how they come back into the rsa crate.
    let rsa_key = rsa::PrivateKey::from_pkcs8_der(&key.to_pkcs8_der()?).map_err(|e| format!("rsa: {e}"))?;
    println!(
        "rsa 0.10: CRT values precomputed on a key read from PKCS#8: {}",
        if rsa_key.dp().is_some() { "yes" } else { "no" }
    );
    let mut no_crt = rsa_key.clone();
    no_crt.clear_precomputed();

    let (a, b) =
        measure_pair(cfg, 1, &mut || key.sign(&MSG, rng).map(|s| drop(black_box(s))).map_err(Into::into), &mut || {
            ossl_sign(okey)
        })?;
    table.row("RSA-2048 sign, PKCS#1 v1.5 SHA-256, blinded (pki-core)", a, b);
    let (a, b) = measure_pair(cfg, 1, &mut || rsa_sign_unblinded(&rsa_key), &mut || ossl_sign(okey))?;
    table.row("RSA-2048 sign, unblinded (via rsa)", a, b);
    let (a, b) = measure_pair(cfg, 1, &mut || rsa_sign_unblinded(&no_crt), &mut || ossl_sign(okey))?;
    table.row("RSA-2048 sign, unblinded, CRT values cleared (via rsa)", a, b);

    let sig = key.sign(&MSG, rng)?;
    let public = key.public_key();
    let alg = key.signature_algorithm().oid;
    let (a, b) = measure_pair(
        cfg,
        1,
        &mut || public.verify(&alg, None, &MSG, &sig, "benchmark").map_err(Into::into),
        &mut || ossl_verify(okey, &sig),
    )?;
    table.row("RSA-2048 verify, PKCS#1 v1.5 SHA-256 (pki-core)", a, b);

    let rsa = okey.rsa()?;
    let mut ct = vec![0; usize::try_from(rsa.size())?];
    let n = rsa.public_encrypt(&MSG, &mut ct, Padding::PKCS1)?;
    ct.truncate(n);
    let mut out = vec![0; ct.len()];
    let (a, b) = measure_pair(
        cfg,
        1,
        &mut || {
            let pt = rsa_key.pkcs1v15_decrypt_with_rng(rng, &ct).map_err(|e| format!("rsa: {e}"))?;
            if pt == MSG { Ok(()) } else { Err("rsa: wrong plaintext".into()) }
        },
        &mut || {
            let len = rsa.private_decrypt(&ct, &mut out, Padding::PKCS1)?;
            if out[..len] == MSG { Ok(()) } else { Err("openssl: wrong plaintext".into()) }
        },
    )?;
    table.row("RSA-2048 decrypt 32-byte key, PKCS#1 v1.5, blinded (via rsa)", a, b);

    keygen_and_pool_rows(cfg, table, ours, theirs, rng)
}

fn p256_rows(cfg: &Config, table: &Table, ours: &PkiSide, theirs: &OsslSide, rng: &mut ChaCha20Rng) -> Result {
    let key = &ours.inter_key;
    let okey = &theirs.inter_key;
    let (a, b) =
        measure_pair(cfg, 1, &mut || key.sign(&MSG, rng).map(|s| drop(black_box(s))).map_err(Into::into), &mut || {
            ossl_sign(okey)
        })?;
    table.row("P-256 ECDSA sign, SHA-256 (pki-core, RFC 6979)", a, b);
    // pki-core rebuilds the SigningKey (one scalar multiplication for the public key) per call.
    let secret = p256::SecretKey::from_pkcs8_der(&key.to_pkcs8_der()?).map_err(|e| format!("p256: {e}"))?;
    let signing = p256::ecdsa::SigningKey::from(&secret);
    let (a, b) = measure_pair(
        cfg,
        1,
        &mut || {
            let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&signing, &MSG);
            drop(black_box(sig.to_der().as_bytes().to_vec())); // as pki-core returns it
            Ok(())
        },
        &mut || ossl_sign(okey),
    )?;
    table.row("P-256 ECDSA sign, SigningKey kept (via p256)", a, b);
    let sig = key.sign(&MSG, rng)?;
    let public = key.public_key();
    let alg = key.signature_algorithm().oid;
    let (a, b) = measure_pair(
        cfg,
        1,
        &mut || public.verify(&alg, None, &MSG, &sig, "benchmark").map_err(Into::into),
        &mut || ossl_verify(okey, &sig),
    )?;
    table.row("P-256 ECDSA verify, SHA-256 (pki-core)", a, b);
    keygen_and_pool_rows(cfg, table, ours, theirs, rng)
}

/// Key generation alone, and issuance from a key made beforehand.
fn keygen_and_pool_rows(
    cfg: &Config,
    table: &Table,
    ours: &PkiSide,
    theirs: &OsslSide,
    rng: &mut ChaCha20Rng,
) -> Result {
    let name = ours.kind.name();
    let alg = match ours.kind {
        Kind::Rsa2048 => KeyAlgorithm::Rsa2048,
        Kind::P256 => KeyAlgorithm::P256,
    };
    // Key generation times vary a lot from key to key (prime search): at least 20 keys each.
    let (a, b) = measure_pair(
        cfg,
        20,
        // With the public key: p256's SecretKey derives it on demand, OpenSSL's EC_KEY at once.
        &mut || PrivateKey::generate(alg, rng).map(|k| drop(black_box(k.public_key()))).map_err(Into::into),
        &mut || theirs.generate().map(|k| drop(black_box(k))),
    )?;
    table.row(&format!("{name} key generation (with the public key)"), a, b);

    let pooled = PrivateKey::generate(alg, rng)?;
    let opooled = pkey(&pooled)?;
    let (a, b) = measure_pair(cfg, 1, &mut || ours.issue_with(&pooled, rng).map(|c| drop(black_box(c))), &mut || {
        theirs.issue_with(&opooled).map(|c| drop(black_box(c)))
    })?;
    table.row(&format!("{name} recipient-cert issuance, pooled key (pki-core)"), a, b);
    Ok(())
}

fn rsa_sign_unblinded(key: &rsa::PrivateKey) -> Result {
    // Without rsa's `getrandom` feature (off in this workspace), `pkcs1v15_sign` does not blind.
    let sig = key.pkcs1v15_sign::<Sha256>(&MSG).map_err(|e| format!("rsa: {e}"))?;
    drop(black_box(sig));
    Ok(())
}

fn ossl_sign(key: &PKey<Private>) -> Result {
    let mut signer = Signer::new(MessageDigest::sha256(), key)?;
    signer.update(&MSG)?;
    drop(black_box(signer.sign_to_vec()?));
    Ok(())
}

fn ossl_verify(key: &PKey<Private>, sig: &[u8]) -> Result {
    let mut verifier = Verifier::new(MessageDigest::sha256(), key)?;
    verifier.update(&MSG)?;
    if verifier.verify(sig)? { Ok(()) } else { Err("openssl: signature does not verify".into()) }
}
