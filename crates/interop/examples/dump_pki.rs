//! Writes a test hierarchy into a directory, for looking at with the tools by hand.
#![allow(clippy::unwrap_used)]
fn main() {
    let dir = std::env::args().nth(1).expect("usage: dump_pki DIR [rsa|p256]");
    let kind = match std::env::args().nth(2).as_deref() {
        Some("p256") => interop::KeyKind::P256,
        _ => interop::KeyKind::Rsa,
    };
    let h = interop::Hierarchy::new(kind, kind);
    let w = interop::Work::new();
    h.write(&w);
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "root.pem",
        "inter.pem",
        "inter.key",
        "alice.pem",
        "alice.key",
        "contact.pem",
        "contact.key",
        "outsider.pem",
        "outsider.key",
    ] {
        std::fs::copy(w.path(f), std::path::Path::new(&dir).join(f)).unwrap();
    }
}
