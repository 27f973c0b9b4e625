//! The owner's message identifiers, hidden behind relay-domain ones and found again.
//!
//! A `Message-ID` such as `<CAF3x…@mail.gmail.com>` or `<3f2a…@owner.example>` names the
//! owner's provider or host. A reply leaves with each such identifier replaced by
//! `<m.{token}@{relay domain}>`, where the token is the original identifier encrypted
//! deterministically (a synthetic IV: the nonce is an HMAC of the padded identifier, then
//! AES-256-GCM), with keys derived from the master key. The same identifier always maps to the
//! same token, so threads hold together on the contact's side; when the contact answers, the
//! forward pipeline turns the tokens in `In-Reply-To` and `References` back into the owner's
//! identifiers, so threads hold together on the owner's side too. Nothing is stored.
//!
//! Identifiers are padded to a multiple of [`PAD`] bytes before encryption, so a token's
//! length says little about the original.

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use hmac::Mac;
use zeroize::Zeroizing;

use crate::{address::RelayDomains, seal::MasterKey};

/// Identifiers are padded to a multiple of this many bytes.
pub const PAD: usize = 48;
/// Longest identifier that is hidden (longer ones are replaced by a fresh random one).
const MAX_ID: usize = 500;
const AAD: &[u8] = b"mailrelay/v1/message-id";
const PREFIX: &str = "m.";
/// RFC 4648 base32, lower case.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Hides and reveals message identifiers under keys derived from the master key.
pub struct IdMapper {
    enc: Zeroizing<[u8; 32]>,
    mac: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for IdMapper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("IdMapper(<keys redacted>)")
    }
}

impl IdMapper {
    /// The mapper of a relay with this master key.
    pub fn new(master: &MasterKey) -> Self {
        IdMapper {
            enc: master.derive(b"mailrelay/v1/message-id/enc"),
            mac: master.derive(b"mailrelay/v1/message-id/mac"),
        }
    }

    /// The relay-domain identifier (without angle brackets) that stands for `id` (without
    /// angle brackets); `None` if `id` is empty, too long or holds a NUL.
    #[must_use]
    pub fn hide(&self, id: &str, domain: &str) -> Option<String> {
        if id.is_empty() || id.len() > MAX_ID || id.contains('\0') {
            return None;
        }
        let mut padded = Zeroizing::new(id.as_bytes().to_vec());
        padded.resize(id.len().div_ceil(PAD) * PAD, 0);
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&self.mac[..]).ok()?;
        mac.update(&padded);
        let tag = mac.finalize().into_bytes();
        let nonce: [u8; 12] = tag[..12].try_into().ok()?;
        let cipher = Aes256Gcm::new(&(*self.enc).into());
        let ct = cipher.encrypt(&nonce.into(), Payload { msg: &padded, aad: AAD }).ok()?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Some(format!("{PREFIX}{}@{domain}", base32(&blob)))
    }

    /// The owner's identifier behind a relay-domain identifier made by [`hide`](Self::hide);
    /// `None` for anything else (another domain, another relay's key, tampered).
    #[must_use]
    pub fn reveal(&self, id: &str, domains: &RelayDomains) -> Option<String> {
        let (local, domain) = id.rsplit_once('@')?;
        if !domains.contains(domain) {
            return None;
        }
        let token =
            local.get(..PREFIX.len()).filter(|p| p.eq_ignore_ascii_case(PREFIX)).map(|_| &local[PREFIX.len()..]);
        let blob = unbase32(token?)?;
        if blob.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        let cipher = Aes256Gcm::new(&(*self.enc).into());
        let padded = Zeroizing::new(cipher.decrypt(&nonce.into(), Payload { msg: ct, aad: AAD }).ok()?);
        let end = padded.iter().position(|b| *b == 0).unwrap_or(padded.len());
        String::from_utf8(padded[..end].to_vec()).ok()
    }
}

/// Rewrites every `<id>` in a header value (`In-Reply-To`, `References`, `Message-ID`) with
/// `map`, which returns the new identifier or `None` to keep it; text outside angle brackets
/// (comments, folding) is dropped, and the identifiers are joined by folding whitespace.
pub fn map_ids(value: &str, mut map: impl FnMut(&str) -> Option<String>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else { break };
        let id: String = rest[open + 1..open + close].chars().filter(|c| !c.is_whitespace()).collect();
        rest = &rest[open + close + 1..];
        if id.is_empty() {
            continue;
        }
        out.push(format!("<{}>", map(&id).unwrap_or(id)));
    }
    out.join("\r\n ")
}

fn base32(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

fn unbase32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = BASE32.iter().position(|b| *b == c.to_ascii_lowercase())?;
        acc = (acc << 5) | u32::try_from(v).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
        acc &= (1 << bits) - 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper(k: u8) -> IdMapper {
        IdMapper::new(&MasterKey::from_bytes([k; 32]))
    }

    #[test]
    fn hide_and_reveal() {
        let domains = RelayDomains::new(["pportal.io"]).unwrap();
        let m = mapper(1);
        let id = "CAF3x+abc.123@mail.gmail.com";
        let hidden = m.hide(id, "pportal.io").unwrap();
        assert!(hidden.starts_with("m.") && hidden.ends_with("@pportal.io"), "{hidden}");
        assert!(!hidden.contains("gmail"));
        assert_eq!(m.hide(id, "pportal.io").unwrap(), hidden, "deterministic");
        assert_eq!(m.reveal(&hidden, &domains).as_deref(), Some(id));
        assert_eq!(m.reveal(&hidden.to_uppercase().replace("PPORTAL.IO", "pportal.io"), &domains).as_deref(), Some(id));
        // Another relay's key, another domain, tampering, junk: nothing.
        assert_eq!(mapper(2).reveal(&hidden, &domains), None);
        assert_eq!(m.reveal(&hidden.replace("pportal.io", "evil.example"), &domains), None);
        let mut bad = hidden.clone().into_bytes();
        bad[5] = if bad[5] == b'a' { b'b' } else { b'a' };
        assert_eq!(m.reveal(core::str::from_utf8(&bad).unwrap(), &domains), None);
        for junk in ["", "@", "m.@pportal.io", "m.!!@pportal.io", "x@pportal.io", "m.aaaa@pportal.io"] {
            assert_eq!(m.reveal(junk, &domains), None, "{junk}");
        }
        // Lengths within one padding block give tokens of one length.
        assert_eq!(
            m.hide("a@b.c", "pportal.io").unwrap().len(),
            m.hide("abcdefghij@owner.example", "pportal.io").unwrap().len()
        );
        assert_eq!(m.hide("", "pportal.io"), None);
        assert_eq!(m.hide(&"x".repeat(MAX_ID + 1), "pportal.io"), None);
    }

    #[test]
    fn base32_round_trip() {
        for n in 0u8..40 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
            assert_eq!(unbase32(&base32(&data)).unwrap(), data);
        }
    }

    #[test]
    fn map_ids_rewrites_each_identifier() {
        let v = " <a@x.example> (comment)\r\n <b@owner.example>  <> <c@y>";
        let out = map_ids(v, |id| id.ends_with("owner.example").then(|| "hidden@pportal.io".to_owned()));
        assert_eq!(out, "<a@x.example>\r\n <hidden@pportal.io>\r\n <c@y>");
        assert_eq!(map_ids("no ids", |_| None), "");
    }
}
