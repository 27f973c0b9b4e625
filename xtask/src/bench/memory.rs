//! `cargo xtask bench memory`: what a large message in flight costs the relay, in RSS.
//!
//! ```text
//!  N clients ─▶ mailrelay serve (release) ─▶ smtp-sink      forward: sign + encrypt, 16 MB each
//!  N clients ─▶ mailrelay serve (release) ─▶ smtp-sink      reply: decrypt + strip, 16 MB each
//! ```
//!
//! The forward is what large mail is: a short text and a base64 attachment, 16 MB as sent. The
//! reply is the owner's answer with such an attachment, signed and encrypted to the contact's
//! certificate: 16 MB as sent too.
//! Setup as in [`super::smtp`]; the memory budget is raised out of the way, so that every
//! message is taken and the figure is the pipeline's, not the budget's.
//!
//! Method: one warm-up message; then, for 1 and for 8 concurrent sessions, the peak RSS
//! (`VmHWM`, reset through `/proc/PID/clear_refs` before each run) less the RSS before the run,
//! divided by the bytes in flight (sessions × message size). The ratio is the figure: it does
//! not depend on the machine's speed.

use std::{path::Path, time::Instant};

use pki_core::{
    cms::{ContentCipher, Signer},
    smime,
};

use super::smtp::{CONTACT, Client, Contact, OWNER, Started, learn_contact, rss_kib, start, with_release_relay};
use crate::Result;

/// The size of each message as sent.
const SIZE: usize = 16 * 1024 * 1024;

pub(crate) fn run() -> Result {
    with_release_relay("memory", bench)
}

fn bench(bin: &Path, dir: &Path) -> Result {
    let started =
        start(bin, dir, Some(&dir.join("setup-sink")), "max_message_size = 26214400\nmemory_budget_mb = 8192")?;
    let Started { relay, smtp, alias, out, .. } = &started;
    let mut contact = learn_contact(dir, *smtp, alias, out)?;
    let forward = large_message(&format!("From: Bob <{CONTACT}>\r\nTo: <{alias}>\r\nSubject: the scans\r\n"), SIZE);
    // The owner's reply: as large as fits in 16 MB once signed and encrypted (base64 twice).
    let entity = large_message(
        &format!("From: <{OWNER}>\r\nTo: <{}>\r\nSubject: Re: the scans\r\n", contact.reverse),
        SIZE * 54 / 100,
    );
    let Contact { owner_cert, owner_key, contact_cert, now, rng, .. } = &mut contact;
    let signer = Signer { cert: owner_cert, key: owner_key, chain: &[] };
    let reply = smime::sign_and_encrypt_message(
        &entity,
        signer,
        std::slice::from_ref(contact_cert),
        ContentCipher::default(),
        *now,
        rng,
    )?;
    let pid = relay.pid();
    Client::connect(*smtp)?.send(CONTACT, alias, &forward)?;
    println!("\nmailrelay (release): peak RSS while messages of about {} MB are in flight", SIZE >> 20);
    println!(
        "{:<24} {:>8} {:>14} {:>14} {:>12} {:>10} {:>8}",
        "case", "sessions", "RSS before KiB", "peak KiB", "in flight MB", "per msg", "secs"
    );
    println!("{}", "-".repeat(24 + 8 + 14 + 14 + 12 + 10 + 8 + 6));
    let cases = [
        ("forward (sign+encrypt)", CONTACT, alias.as_str(), &forward),
        ("reply (decrypt+strip)", OWNER, contact.reverse.as_str(), &reply),
    ];
    for (case, from, to, message) in cases {
        for sessions in [1usize, 8] {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let before = rss_kib(pid)?;
            std::fs::write(format!("/proc/{pid}/clear_refs"), "5")?;
            let t = Instant::now();
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..sessions)
                    .map(|_| {
                        s.spawn(|| {
                            Client::connect(*smtp)
                                .and_then(|mut c| c.send(from, to, message))
                                .map_err(|e| e.to_string())
                        })
                    })
                    .collect();
                handles.into_iter().try_for_each(|h| h.join().map_err(|_| "a client thread panicked")?)
            })?;
            let secs = t.elapsed().as_secs_f64();
            let peak = hwm_kib(pid)?;
            let in_flight = (sessions * message.len()) as f64;
            let per_message = (peak.saturating_sub(before) as f64 * 1024.0) / in_flight;
            println!(
                "{case:<24} {sessions:>8} {before:>14} {peak:>14} {:>12.1} {per_message:>9.2}x {secs:>8.1}",
                in_flight / f64::from(1u32 << 20)
            );
        }
    }
    println!("per msg = (peak - before) / (sessions × message size as sent); the issue asks for at most 2x");
    Ok(())
}

fn hwm_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).ok_or("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).ok_or("bad VmHWM")?)
}

/// `headers`, then a text part and a base64 attachment of pseudo-random bytes, `size` bytes in
/// all.
fn large_message(headers: &str, size: usize) -> Vec<u8> {
    let mut m = format!(
        "{headers}MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n\
         Here they are.\r\n--b1\r\nContent-Type: application/octet-stream; name=\"scans.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u32 = 0x2545_f491;
    while m.len() < size - 200 {
        for _ in 0..76 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            m.push(B64[(x & 63) as usize]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b1--\r\n");
    m
}
