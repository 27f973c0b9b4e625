//! Which parts carry key material or signatures, and how each body is read.

use pki_core::mime::ContentType;

use super::RemovalReason;
use super::matcher::{Fold, Skips};
use super::tree::Entity;
use super::words::decode_words;

/// What to do with a part before looking at its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Keep it (and scrub it).
    Keep,
    /// Remove it.
    Remove(RemovalReason),
    /// `application/pkcs7-mime; smime-type=signed-data`: the content is inside the signature.
    OpaqueSigned,
}

/// How a body is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyKind {
    /// `multipart/*`.
    Multipart,
    /// `message/rfc822` or `message/global`: a nested message.
    Message,
    /// Text that a client may show, with what may sit inside an address.
    Text(Skips),
    /// Anything else: left as it is.
    Opaque,
}

/// The part's file name: `Content-Disposition` `filename`, else `Content-Type` `name`
/// (RFC 2231 and RFC 2047 decoded).
pub(super) fn filename(buf: &[u8], ent: &Entity, ct: Option<&ContentType>) -> Option<String> {
    let from_disposition = ent.disposition(buf).and_then(|d| d.param("filename").map(str::to_owned));
    let name = from_disposition.or_else(|| ct.and_then(|c| c.param("name")).map(str::to_owned))?;
    Some(String::from_utf8_lossy(&decode_words(name.as_bytes())).into_owned())
}

/// The file name's extension, lowercased.
fn extension(filename: Option<&str>) -> String {
    let name = filename.unwrap_or_default().trim().trim_end_matches('.').to_ascii_lowercase();
    name.rsplit_once('.').map(|(_, e)| e.to_owned()).unwrap_or_default()
}

/// Decides whether a leaf part is removed. `prefix` gives the start of the decoded body.
pub(super) fn verdict(media: &str, ct: Option<&ContentType>, filename: Option<&str>, prefix: &[u8]) -> Verdict {
    use RemovalReason::{Certificate, PrivateKey, PublicKey, Signature};
    let by_type = match media {
        "application/pkcs7-signature" | "application/x-pkcs7-signature" | "application/pgp-signature" => {
            Some(Signature)
        }
        "application/pgp-keys" => Some(PublicKey),
        "application/x-x509-ca-cert"
        | "application/x-x509-user-cert"
        | "application/x-x509-email-cert"
        | "application/x-x509-cert"
        | "application/pkix-cert"
        | "application/pkix-pkipath"
        | "application/x-pem-file"
        | "application/x-pkcs7-certificates"
        | "application/x-pkcs7-certreqresp"
        | "application/pkcs10"
        | "application/x-pkcs10" => Some(Certificate),
        "application/pkcs8" | "application/pkcs8-encrypted" | "application/x-pkcs12" | "application/pkcs12" => {
            Some(PrivateKey)
        }
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => {
            let smime_type = ct.and_then(|c| c.param("smime-type")).unwrap_or_default().to_ascii_lowercase();
            match smime_type.as_str() {
                "certs-only" => Some(Certificate),
                "signed-data" => return Verdict::OpaqueSigned,
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(reason) = by_type {
        return Verdict::Remove(reason);
    }
    let ext = extension(filename);
    let by_name = match ext.as_str() {
        "p7s" => Some(Signature),
        "p7c" | "p7b" | "cer" | "crt" | "pem" | "der" | "csr" | "p10" | "spc" => Some(Certificate),
        "p12" | "pfx" | "key" | "p8" => Some(PrivateKey),
        _ => None,
    };
    if let Some(reason) = by_name {
        return Verdict::Remove(reason);
    }
    if let Some(reason) = sniff_armor(prefix) {
        return Verdict::Remove(reason);
    }
    if matches!(ext.as_str(), "asc" | "gpg" | "pgp" | "sig")
        && let Some(reason) = sniff_openpgp(prefix)
    {
        return Verdict::Remove(reason);
    }
    Verdict::Keep
}

/// A PEM or OpenPGP armor header at the start of the content.
fn sniff_armor(prefix: &[u8]) -> Option<RemovalReason> {
    let start = prefix.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = prefix.get(start..)?;
    let label = rest.strip_prefix(b"-----BEGIN ")?;
    let end = label.iter().take(super::armor::MAX_LABEL).position(|&b| b == b'-')?;
    super::armor::reason(label.get(..end)?)
}

/// The first OpenPGP packet of binary content (RFC 9580 §4.2).
fn sniff_openpgp(prefix: &[u8]) -> Option<RemovalReason> {
    let &b = prefix.first()?;
    if b & 0x80 == 0 {
        return None;
    }
    let tag = if b & 0x40 != 0 { b & 0x3f } else { (b >> 2) & 0x0f };
    match tag {
        6 | 14 => Some(RemovalReason::PublicKey),
        5 | 7 => Some(RemovalReason::PrivateKey),
        2 => Some(RemovalReason::Signature),
        _ => None,
    }
}

/// How to read a body of type `media`.
pub(super) fn body_kind(media: &str, ct: Option<&ContentType>, filename: Option<&str>) -> BodyKind {
    let text = |fold| BodyKind::Text(Skips { html: true, fold });
    let ical = matches!(
        media,
        "text/calendar" | "text/x-vcalendar" | "text/vcard" | "text/x-vcard" | "text/directory" | "application/ics"
    ) || media.starts_with("application/vcard");
    if ical {
        return text(Fold::Ical);
    }
    match media {
        m if m.starts_with("multipart/") => return BodyKind::Multipart,
        "message/rfc822" | "message/global" => return BodyKind::Message,
        "text/html" | "application/xhtml+xml" => return BodyKind::Text(Skips { html: true, fold: Fold::None }),
        "text/plain" => {
            let param = |n| ct.and_then(|c| c.param(n)).unwrap_or_default().to_ascii_lowercase();
            let flowed = param("format") == "flowed" && param("delsp") == "yes";
            return text(if flowed { Fold::FlowedDelSp } else { Fold::None });
        }
        m if m.starts_with("text/") || m.starts_with("message/") => return text(Fold::None),
        "application/json" | "application/xml" | "application/rtf" | "application/x-sh" | "application/mbox" => {
            return text(Fold::None);
        }
        m if m.ends_with("+xml") || m.ends_with("+json") => return text(Fold::None),
        "application/octet-stream" => {}
        _ => return BodyKind::Opaque,
    }
    match extension(filename).as_str() {
        "vcf" | "vcard" | "ics" | "ical" | "ifb" => text(Fold::Ical),
        "txt" | "csv" | "htm" | "html" | "xml" | "json" => text(Fold::None),
        "eml" => BodyKind::Message,
        _ => BodyKind::Opaque,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn verdicts() {
        let key = b"\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n";
        let msg = b"-----BEGIN PGP MESSAGE-----\r\n";
        let v = |media, name: Option<&str>, body: &[u8]| verdict(media, None, name, body);
        assert_eq!(v("text/plain", Some("alice.asc"), key), Verdict::Remove(RemovalReason::PublicKey));
        assert_eq!(v("application/octet-stream", Some("msg.asc"), msg), Verdict::Keep);
        assert_eq!(
            v("application/octet-stream", Some("Alice.CER"), b"0\x82"),
            Verdict::Remove(RemovalReason::Certificate)
        );
        assert_eq!(
            v("application/octet-stream", Some("k.gpg"), b"\x99\x01"),
            Verdict::Remove(RemovalReason::PublicKey)
        );
        assert_eq!(v("application/octet-stream", Some("f.gpg"), b"\x85\x01"), Verdict::Keep);
        assert_eq!(v("application/pdf", Some("a.pdf"), b"%PDF-1.7"), Verdict::Keep);
        assert_eq!(v("application/pkcs7-signature", Some("smime.p7s"), b""), Verdict::Remove(RemovalReason::Signature));
    }
}
