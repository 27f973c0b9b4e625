//! PKCS#12 interop against the real `openssl` and `gpgsm` binaries.
//!
//! Each test prints a message and passes when its tool is not installed (unless
//! `INTEROP_REQUIRED=1`), so the suite still runs on machines without them; the unit tests in
//! `src/pkcs12.rs` cover the same formats from checked-in fixtures.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use pki_core::pkcs12::{self, ExportOptions, Flavour};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const PW: &str = "s3cret-PW";

fn fixture(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki/pkcs12");
    fs::read(dir.join(name)).unwrap()
}

/// A fresh scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("pki-p12-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Whether `tool` runs. If not, the test is skipped with a message, or fails under
/// `INTEROP_REQUIRED=1` (set by `.ci/run`), as in the `interop` crate.
fn have(tool: &str, version_arg: &str) -> bool {
    let ok = Command::new(tool).arg(version_arg).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("INTEROP_REQUIRED").as_deref() != Ok("1"),
            "{tool} is required (INTEROP_REQUIRED=1) but not installed"
        );
        eprintln!("SKIPPED: `{tool}` is not installed");
    }
    ok
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The DER of every PEM block labelled `label` in `text`, in order.
fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let stop = rest[start..].find(&end).unwrap() + start + end.len();
        let (_, der) = der::pem::decode_vec(&rest.as_bytes()[start..stop]).unwrap();
        out.push(der);
        rest = &rest[stop..];
    }
    out
}

fn keys() -> [(&'static str, Vec<u8>, Vec<u8>); 2] {
    [("rsa", fixture("rsa.key.der"), fixture("rsa.crt.der")), ("ec", fixture("ec.key.der"), fixture("ec.crt.der"))]
}

/// Runs `openssl pkcs12` on our file at `path` and checks it prints exactly our key and
/// certificates, the bag attributes, and the algorithm lines `info` of `-info`.
fn check_openssl_reads(path: &Path, key: &[u8], certs: &[&[u8]], info: [&str; 2]) {
    let pass = format!("pass:{PW}");
    let out = run(Command::new("openssl").args(["pkcs12", "-nodes", "-passin", &pass, "-in"]).arg(path));
    // OpenSSL prints the characters of a BMPString friendlyName below U+0100 as single
    // (Latin-1) bytes, so the output is not UTF-8.
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(pem_blocks(&text, "PRIVATE KEY"), vec![key.to_vec()], "{path:?}");
    let certs: Vec<Vec<u8>> = certs.iter().map(|c| c.to_vec()).collect();
    assert_eq!(pem_blocks(&text, "CERTIFICATE"), certs, "{path:?}");
    let name_line: &[u8] = b"friendlyName: Alice \xDC\n";
    assert_eq!(out.stdout.windows(name_line.len()).filter(|w| *w == name_line).count(), 2);
    assert_eq!(text.matches("localKeyID:").count(), 2, "{text}");

    let out = run(Command::new("openssl").args(["pkcs12", "-info", "-noout", "-passin", &pass, "-in"]).arg(path));
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    for line in info {
        assert!(text.contains(line), "{path:?}: expected {line:?} in:\n{text}");
    }

    let wrong =
        Command::new("openssl").args(["pkcs12", "-nodes", "-passin", "pass:wrong", "-in"]).arg(path).output().unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("Mac verify error"));
}

#[test]
fn pkcs12_ours_open_in_openssl() {
    if !have("openssl", "version") {
        return;
    }
    let tmp = TempDir::new("export");
    let ca = fixture("ca.crt.der");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let modern = ["MAC: sha256, Iteration 100000", "PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256"];
    let compatible = ["MAC: sha1, Iteration 2048", "pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048"];
    for (flavour, info) in [(Flavour::Modern, modern), (Flavour::Compatible, compatible)] {
        for (name, key, cert) in keys() {
            let opts = ExportOptions::new(flavour).with_friendly_name("Alice Ü");
            let pfx = pkcs12::export(&key, &cert, &[&ca], PW, &opts, &mut rng).unwrap();
            let path = tmp.0.join(format!("{name}-{flavour:?}.p12"));
            fs::write(&path, &pfx).unwrap();
            check_openssl_reads(&path, &key, &[&cert, &ca], info);
        }
    }
}

#[test]
fn pkcs12_openssl_files_open_here() {
    if !have("openssl", "version") {
        return;
    }
    let tmp = TempDir::new("import");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki/pkcs12");
    let variants: [&[&str]; 4] = [
        &[],
        &["-legacy"],
        &["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"],
        &["-keypbe", "AES-128-CBC", "-certpbe", "AES-128-CBC", "-macalg", "sha384", "-iter", "5000"],
    ];
    for (name, key, cert) in keys() {
        for (i, extra) in variants.iter().enumerate() {
            let path = tmp.0.join(format!("{name}-{i}.p12"));
            run(Command::new("openssl")
                .args(["pkcs12", "-export", "-name", "From OpenSSL", "-passout"])
                .arg(format!("pass:{PW}"))
                .arg("-inkey")
                .arg(dir.join(format!("{name}.key.pem")))
                .arg("-in")
                .arg(dir.join(format!("{name}.crt.pem")))
                .arg("-certfile")
                .arg(dir.join("ca.crt.pem"))
                .args(*extra)
                .arg("-out")
                .arg(&path));
            let imported =
                pkcs12::import(&fs::read(&path).unwrap(), PW).unwrap_or_else(|e| panic!("{name} {extra:?}: {e}"));
            assert_eq!(imported.key_pkcs8_der.as_slice(), key.as_slice());
            assert_eq!(imported.cert_der, cert);
            assert_eq!(imported.chain_der, vec![fixture("ca.crt.der")]);
            assert_eq!(imported.friendly_name.as_deref(), Some("From OpenSSL"));
        }
    }
}

#[test]
fn pkcs12_gpgsm_imports_compatible_file() {
    if !have("gpgsm", "--version") || !have("gpgconf", "--version") {
        return;
    }
    let tmp = TempDir::new("gpgsm");
    let home = tmp.0.join("gnupg");
    fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
    }
    fs::write(home.join("gpg-agent.conf"), "allow-loopback-pinentry\n").unwrap();

    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let key = fixture("rsa.key.der");
    let cert = fixture("rsa.crt.der");
    let ca = fixture("ca.crt.der");
    let opts = ExportOptions::new(Flavour::Compatible).with_friendly_name("Alice");
    let pfx = pkcs12::export(&key, &cert, &[&ca], PW, &opts, &mut rng).unwrap();
    let path = tmp.0.join("alice.p12");
    fs::write(&path, pfx).unwrap();

    // gpgsm has no `--passphrase STRING` (gpg does): the passphrase goes in on a file
    // descriptor, with the agent in loopback mode.
    let gpgsm = |args: &[&str], stdin: &str| {
        let mut child = Command::new("gpgsm")
            .env("GNUPGHOME", &home)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let import = gpgsm(&["--import", path.to_str().unwrap()], &format!("{PW}\n"));
    let listed = gpgsm(&["--with-colons", "--list-secret-keys"], "");
    let _ = Command::new("gpgconf").env("GNUPGHOME", &home).args(["--kill", "all"]).output();

    let import_log = String::from_utf8_lossy(&import.stderr);
    assert!(import.status.success(), "gpgsm --import failed:\n{import_log}");
    let listing = String::from_utf8_lossy(&listed.stdout);
    eprintln!("gpgsm --import:\n{import_log}\ngpgsm --list-secret-keys:\n{listing}");
    assert!(import_log.contains("secret keys imported: 1"), "{import_log}");
    // The secret key's certificate is listed with its subject.
    assert!(listing.lines().any(|l| l.starts_with("crs:")), "{listing}");
    assert!(listing.contains("CN=Alice rsa"), "{listing}");
}
