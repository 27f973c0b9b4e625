//! Implicit rejection, timed: `pki_core::cms::open` on an RSA-2048 PKCS#1 v1.5 EnvelopedData
//! whose key transport has a bad padding must fail like one whose padding is fine but whose
//! content key is wrong: the same error, and no measurable difference in time.
//!
//! The inputs are built once from one valid envelope by replacing its encrypted key (same
//! length, so the DER is patched in place):
//! - (a) the valid envelope;
//! - (b) bad padding: `c = m^e mod n` for a random `m` that is not a PKCS#1 v1.5 encryption
//!   block (raw RSA with the public key, computed here with the `rsa` crate's `BoxedUint`);
//! - (c) valid padding, wrong content key: a random 32-byte key, correctly padded and
//!   encrypted, while the content stays encrypted under the original key;
//! - (d) valid padding, wrong key length: a 16-byte key where AES-256 needs 32, which pki-core
//!   replaces by a derived key of the right length.
//!
//! (b), (c) and (d) must all give `Error::DecryptionFailed` before anything is timed. The cases
//! are then called in turn, one call each per turn (the order rotating), so that drift and load
//! from other processes hit all of them alike; every call is timed on its own.

use std::{hint::black_box, ops::Range, time::Instant};

use pki_core::cms::{self, ContentCipher, Envelope};
use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use rsa::{BoxedUint, pkcs8::DecodePrivateKey, traits::PublicKeyParts};

use super::{Config, pki::PkiSide};
use crate::Result;

/// The enveloped content: small, so that the RSA step and what follows it dominate the time (an
/// attacker probing for an oracle would send little content too).
const CONTENT_LEN: usize = 1024;
/// Fewest timed calls per case.
const MIN_SAMPLES: usize = 400;
/// The percentile at which [`cropped`] cuts both sample sets.
const CROP_PERCENTILE: usize = 90;
/// |t| above this is the usual "leak detected" threshold of fixed-vs-fixed timing tests
/// (TVLA, dudect).
const T_THRESHOLD: f64 = 4.5;

/// Inputs (a) to (d).
const CASES: usize = 4;

struct Case {
    name: &'static str,
    der: Vec<u8>,
    /// True if `open` must succeed.
    valid: bool,
    samples: Vec<f64>,
}

/// Runs the section with the RSA-2048 side's end-entity certificate and key.
pub(crate) fn run(cfg: &Config, side: &PkiSide, rng: &mut ChaCha20Rng) -> Result {
    let (cert, key) = (&side.user, &side.user_key);
    let rsa_key = rsa::PrivateKey::from_pkcs8_der(&key.to_pkcs8_der()?).map_err(|e| format!("rsa: {e}"))?;
    let public = rsa_key.to_public_key();
    let k = public.size();

    let mut content = vec![0u8; CONTENT_LEN];
    rng.fill_bytes(&mut content);
    let valid = Envelope::new(ContentCipher::default()).recipient(cert)?.seal(&content, rng)?;
    let slot = encrypted_key(&valid)?;
    if slot.len() != k {
        return Err(format!("the encrypted key is {} bytes, the modulus {k}", slot.len()).into());
    }
    let splice = |ek: &[u8]| {
        let mut der = valid.clone();
        der[slot.clone()].copy_from_slice(ek);
        der
    };
    // Raw RSA computed here must agree with the rsa crate: a valid block decrypts to its key.
    let mut probe_key = [0u8; 32];
    rng.fill_bytes(&mut probe_key);
    let probe = raw_encrypt(&public, &padded_block(&probe_key, k, rng)?)?;
    if *rsa_key.pkcs1v15_decrypt_with_rng(rng, &probe).map_err(|e| format!("rsa: {e}"))? != probe_key {
        return Err("raw RSA encryption does not match the rsa crate's decryption".into());
    }

    let opened = cms::open(&valid, cert, key, rng)?;
    if opened.content != content {
        return Err("cms::open returned other content than was sealed".into());
    }
    // (b): 0x00, then anything but the block type 0x02, then random bytes. Below n because it
    // starts with 0x00; never a valid encryption block because of the block type. Retried in
    // the unlikely case (1 in 256) that the synthetic key happens to unpad the content.
    let bad_padding = failing(cert, key, rng, "bad padding", &mut |rng| {
        let mut m = vec![0u8; k];
        rng.fill_bytes(&mut m);
        m[0] = 0;
        if m[1] == 2 {
            m[1] = 1;
        }
        Ok(splice(&raw_encrypt(&public, &m)?))
    })?;
    let wrong_key = failing(cert, key, rng, "wrong content key", &mut |rng| {
        let mut cek = [0u8; 32];
        rng.fill_bytes(&mut cek);
        Ok(splice(&public.pkcs1v15_encrypt_with_rng(rng, &cek).map_err(|e| format!("rsa: {e}"))?))
    })?;
    let wrong_len = failing(cert, key, rng, "wrong key length", &mut |rng| {
        let mut cek = [0u8; 16];
        rng.fill_bytes(&mut cek);
        Ok(splice(&public.pkcs1v15_encrypt_with_rng(rng, &cek).map_err(|e| format!("rsa: {e}"))?))
    })?;

    let mut cases: [Case; CASES] = [
        Case { name: "(a) valid envelope (opens)", der: valid, valid: true, samples: Vec::new() },
        Case {
            name: "(b) bad padding: c = m^e, m not a PKCS#1 v1.5 block",
            der: bad_padding,
            valid: false,
            samples: Vec::new(),
        },
        Case {
            name: "(c) valid padding, wrong 32-byte content key",
            der: wrong_key,
            valid: false,
            samples: Vec::new(),
        },
        Case {
            name: "(d) valid padding, 16-byte key (AES-256 needs 32)",
            der: wrong_len,
            valid: false,
            samples: Vec::new(),
        },
    ];

    // As many calls per case as the other cells get time: 2 × --secs.
    let start = Instant::now();
    for c in &cases {
        call(c, cert, key, rng)?;
    }
    let each = start.elapsed().as_secs_f64() / cases.len() as f64;
    let budget = 2.0 * cfg.per_cell.as_secs_f64();
    let mut n = MIN_SAMPLES;
    while (n as f64) * each < budget && n < 100_000 {
        n += 100;
    }
    eprintln!("implicit rejection: {n} timed calls per case, interleaved");
    for c in &mut cases {
        c.samples.reserve(n);
    }
    for i in 0..n {
        for j in 0..cases.len() {
            let c = &mut cases[(i + j) % CASES];
            let t = Instant::now();
            let r = cms::open(&c.der, cert, key, rng);
            let us = t.elapsed().as_secs_f64() * 1e6;
            check(c, r)?;
            c.samples.push(us);
        }
    }

    println!(
        "\nImplicit rejection: pki_core::cms::open, RSA-2048 PKCS#1 v1.5 key transport, AES-256-CBC, {CONTENT_LEN}-byte content\n\
         (µs per call; {n} calls per case, interleaved a-b-c-d, b-c-d-a, ...; RSA blinded with a fresh factor per call)"
    );
    println!("{:<56} {:>9} {:>9} {:>9} {:>9}  result", "input", "mean", "median", "p10", "p90");
    println!("{}", "-".repeat(56 + 9 * 4 + 4 + 18));
    let mut stats = Vec::new();
    for c in &mut cases {
        let s = Stats::of(&mut c.samples);
        let result = if c.valid { "Ok" } else { "Err(DecryptionFailed)" };
        println!("{:<56} {:>9.1} {:>9.1} {:>9.1} {:>9.1}  {result}", c.name, s.mean, s.median, s.p10, s.p90);
        stats.push(s);
    }
    for (name, i, j) in [("(b) - (c)", 1, 2), ("(d) - (c)", 3, 2)] {
        let (x, y) = (&stats[i], &stats[j]);
        let t = welch_t(x, y);
        let (cx, cy) = cropped(&cases[i].samples, &cases[j].samples, CROP_PERCENTILE);
        let tc = welch_t(&cx, &cy);
        let verdict =
            if t.abs().max(tc.abs()) < T_THRESHOLD { "no difference detected" } else { "DIFFERENCE DETECTED" };
        println!(
            "{name}: median {:+.2} µs ({:+.3}%), mean {:+.2} µs; Welch t = {t:+.2} over all samples, {tc:+.2} with\n\
             \x20 both cropped at their common {CROP_PERCENTILE}th percentile ({:.1} µs): {verdict} (cropped, a difference\n\
             \x20 of the means above {:.1} µs would reach |t| = {T_THRESHOLD})",
            x.median - y.median,
            100.0 * (x.median - y.median) / y.median,
            x.mean - y.mean,
            cx.max.max(cy.max),
            T_THRESHOLD * (cx.var / cx.n + cy.var / cy.n).sqrt(),
        );
    }
    println!(
        "A bad PKCS#1 v1.5 padding must not be told apart from a wrong content key: both return DecryptionFailed (checked\n\
         \x20 before timing), and |t| < {T_THRESHOLD} (the TVLA/dudect threshold) means this many samples show no timing difference.\n\
         \x20 The cropped t drops the tail that preemption adds on a shared machine, which makes it the more sensitive one.\n\
         \x20 (a) succeeds and is shown for scale."
    );
    Ok(())
}

/// Builds inputs with `make` until one fails to open with `DecryptionFailed` (the first one,
/// almost always).
fn failing(
    cert: &x509_cert::Certificate,
    key: &pki_core::PrivateKey,
    rng: &mut ChaCha20Rng,
    what: &str,
    make: &mut dyn FnMut(&mut ChaCha20Rng) -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    for _ in 0..8 {
        let der = make(rng)?;
        match cms::open(&der, cert, key, rng) {
            Err(pki_core::Error::DecryptionFailed) => return Ok(der),
            // A wrong key that happens to leave a valid CBC padding: try another.
            Ok(_) => continue,
            Err(e) => return Err(format!("{what}: cms::open must fail with DecryptionFailed, not `{e}`").into()),
        }
    }
    Err(format!("{what}: could not build an input that fails to open").into())
}

fn call(c: &Case, cert: &x509_cert::Certificate, key: &pki_core::PrivateKey, rng: &mut ChaCha20Rng) -> Result {
    check(c, cms::open(&c.der, cert, key, rng))
}

fn check(c: &Case, r: pki_core::Result<cms::Opened>) -> Result {
    match (c.valid, r) {
        (true, Ok(o)) => {
            black_box(o);
            Ok(())
        }
        (false, Err(pki_core::Error::DecryptionFailed)) => Ok(()),
        (true, Err(e)) => Err(format!("{}: cms::open failed: {e}", c.name).into()),
        (false, Ok(_)) => Err(format!("{}: cms::open succeeded", c.name).into()),
        (false, Err(e)) => Err(format!("{}: cms::open gave `{e}`, not DecryptionFailed", c.name).into()),
    }
}

/// `0x00 0x02 PS 0x00 msg`, PS nonzero random: a PKCS#1 v1.5 encryption block of `k` bytes.
fn padded_block(msg: &[u8], k: usize, rng: &mut ChaCha20Rng) -> Result<Vec<u8>> {
    let ps = k.checked_sub(msg.len() + 3).filter(|&n| n >= 8).ok_or("message too long for the modulus")?;
    let mut em = vec![0u8; k];
    em[1] = 2;
    for b in &mut em[2..2 + ps] {
        while *b == 0 {
            let mut one = [0u8; 1];
            rng.fill_bytes(&mut one);
            *b = one[0];
        }
    }
    em[k - msg.len()..].copy_from_slice(msg);
    Ok(em)
}

/// `em^e mod n` as `k` big-endian bytes: RSA encryption without padding. `em` must be `k` bytes
/// and below n.
fn raw_encrypt(public: &rsa::PublicKey, em: &[u8]) -> Result<Vec<u8>> {
    let n = public.n();
    let modulus: &BoxedUint = n;
    let m = BoxedUint::from_be_slice(em, public.n_bits_precision()).map_err(|e| format!("raw RSA: {e:?}"))?;
    if m >= *modulus {
        return Err("raw RSA: the message is not below the modulus".into());
    }
    let e = public.e();
    let bits = e.bit_width_vartime();
    if bits == 0 {
        return Err("raw RSA: zero exponent".into());
    }
    // Left to right square-and-multiply (the exponent is public).
    let mut acc = m.clone();
    for i in (0..bits - 1).rev() {
        acc = acc.mul_mod(&acc, n);
        if e.bit_vartime(i) {
            acc = acc.mul_mod(&m, n);
        }
    }
    let bytes = acc.to_be_bytes();
    let k = public.size();
    let (high, low) = bytes.split_at(bytes.len().saturating_sub(k));
    if high.iter().any(|&b| b != 0) {
        return Err("raw RSA: result wider than the modulus".into());
    }
    let mut out = vec![0u8; k - low.len()];
    out.extend_from_slice(low);
    Ok(out)
}

/// The byte range of the first KeyTransRecipientInfo's `encryptedKey` in a DER ContentInfo
/// holding an EnvelopedData.
fn encrypted_key(der: &[u8]) -> Result<Range<usize>> {
    let (tag, ci) = tlv(der, 0)?;
    expect(tag, 0x30, "ContentInfo")?;
    let explicit = children(der, ci)?.into_iter().nth(1).ok_or("ContentInfo without content")?;
    expect(explicit.0, 0xa0, "ContentInfo [0]")?;
    let ed = children(der, explicit.1)?.into_iter().next().ok_or("empty ContentInfo [0]")?;
    expect(ed.0, 0x30, "EnvelopedData")?;
    let infos = children(der, ed.1)?.into_iter().find(|(t, _)| *t == 0x31).ok_or("no RecipientInfos")?;
    let ktri = children(der, infos.1)?.into_iter().next().ok_or("empty RecipientInfos")?;
    expect(ktri.0, 0x30, "KeyTransRecipientInfo")?;
    let ek = children(der, ktri.1)?.into_iter().find(|(t, _)| *t == 0x04).ok_or("no encryptedKey")?;
    Ok(ek.1)
}

fn expect(tag: u8, want: u8, what: &str) -> Result {
    if tag == want { Ok(()) } else { Err(format!("DER: {what}: tag 0x{tag:02x}, expected 0x{want:02x}").into()) }
}

/// The tag and content range of the DER element at `pos` (definite lengths only).
fn tlv(der: &[u8], pos: usize) -> Result<(u8, Range<usize>)> {
    let truncated = || "DER: truncated";
    let tag = *der.get(pos).ok_or_else(truncated)?;
    let first = *der.get(pos + 1).ok_or_else(truncated)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err("DER: indefinite or oversized length".into());
        }
        let bytes = der.get(pos + 2..pos + 2 + n).ok_or_else(truncated)?;
        (bytes.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)), 2 + n)
    };
    let start = pos + header;
    let end = start.checked_add(len).filter(|&e| e <= der.len()).ok_or_else(truncated)?;
    Ok((tag, start..end))
}

/// The elements inside `range`.
fn children(der: &[u8], range: Range<usize>) -> Result<Vec<(u8, Range<usize>)>> {
    let mut out = Vec::new();
    let mut pos = range.start;
    while pos < range.end {
        let (tag, inner) = tlv(der, pos)?;
        pos = inner.end;
        out.push((tag, inner));
    }
    Ok(out)
}

/// Summary of one case's samples.
struct Stats {
    n: f64,
    max: f64,
    mean: f64,
    var: f64,
    median: f64,
    p10: f64,
    p90: f64,
}

impl Stats {
    fn of(samples: &mut [f64]) -> Stats {
        samples.sort_by(f64::total_cmp);
        let len = samples.len();
        let n = len as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let var = samples.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0).max(1.0);
        let at = |p: usize| samples.get((len.saturating_sub(1)) * p / 100).copied().unwrap_or(f64::NAN);
        Stats { n, max: at(100), mean, var, median: at(50), p10: at(10), p90: at(90) }
    }
}

/// Both sample sets without what lies above their common `pct`th percentile: preemption and
/// interrupts add a long tail that drowns small differences (dudect crops the same way).
fn cropped(a: &[f64], b: &[f64], pct: usize) -> (Stats, Stats) {
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(f64::total_cmp);
    let limit = all.get(all.len().saturating_sub(1) * pct / 100).copied().unwrap_or(f64::INFINITY);
    let keep = |s: &[f64]| Stats::of(&mut s.iter().copied().filter(|&x| x <= limit).collect::<Vec<_>>());
    (keep(a), keep(b))
}

/// Welch's t-statistic for the difference of two means.
fn welch_t(a: &Stats, b: &Stats) -> f64 {
    (a.mean - b.mean) / (a.var / a.n + b.var / b.n).sqrt()
}
