//! The surface JavaScript calls: plain `extern "C"` functions over numbers.
//!
//! ```text
//!  JS                                   wasm memory
//!  p = alloc(n) ─────────────────────▶  a zeroed buffer of n bytes, kept in a table by address
//!  new Uint8Array(memory, p, n).set(x)  (JS writes its input there)
//!  rc = csr_tbs(p, n, q, m) ─────────▶  reads the table's buffer p[..n]; writes the result into
//!                                       the output buffer; returns 0 or an error code
//!  out_ptr(), out_len() ◀────────────── the result bytes, or the error message (UTF-8)
//!  free(p)                              drops the buffer
//! ```
//!
//! Inputs are looked up by address in the table of buffers handed out by [`alloc`], so Rust never
//! dereferences a pointer it did not make; an unknown address or a length beyond the buffer is
//! error code 1. The only `unsafe` is the `#[unsafe(no_mangle)]` attribute on each export.
//!
//! State between calls (the RNG, the CSR and root waiting for their signatures, the approved
//! intermediate) lives in one [`Mutex`]: wasm32-unknown-unknown runs one thread.
//!
//! | export | input | output |
//! |---|---|---|
//! | `seed(p, n)` | 32 random bytes (`crypto.getRandomValues`) | – |
//! | `csr_tbs(spki, mailbox)` | EE SPKI DER, mailbox UTF-8 | CSR TBS to sign |
//! | `csr_assemble(sig)` | WebCrypto signature | CSR DER |
//! | `describe_intermediate(tbs, root_spki, expected, now)` | TBS DER, root SPKI, `domain X`/`mailbox X` lines, Unix seconds | JSON description; approves it for signing |
//! | `root_tbs(spki, now)` | root SPKI, Unix seconds | root TBS to sign |
//! | `root_assemble(sig)` | signature | root certificate DER |
//! | `intermediate_assemble(sig)` | signature over the approved TBS | intermediate DER |
//! | `pkcs12(key, ee, inter, root, password, name, compatible)` | PKCS#8, three certs, UTF-8 ×2, 0/1 | PKCS#12 DER |
#![allow(unsafe_code, reason = "#[unsafe(no_mangle)] on the exports; no pointer is dereferenced")]

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard, PoisonError},
};

use pki_core::{UnixTime, sign::ToBeSigned};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::{Certificate, request::CertReq};
use zeroize::Zeroize;

use crate::ceremony::{self, Approved, Code, Expected, Failure};

/// Everything kept between calls.
struct State {
    buffers: BTreeMap<usize, Vec<u8>>,
    out: Vec<u8>,
    rng: Option<ChaCha20Rng>,
    csr: Option<ToBeSigned<CertReq>>,
    root: Option<ToBeSigned<Certificate>>,
    approved: Option<Approved>,
}

static STATE: Mutex<State> =
    Mutex::new(State { buffers: BTreeMap::new(), out: Vec::new(), rng: None, csr: None, root: None, approved: None });

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// The input at `(ptr, len)`: the first `len` bytes of the buffer handed out at `ptr`.
    fn input(&self, ptr: usize, len: usize) -> Result<Vec<u8>, Failure> {
        self.buffers
            .get(&ptr)
            .and_then(|b| b.get(..len))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Failure::new(Code::BadInput, "input is not inside a buffer from alloc"))
    }

    fn text(&self, ptr: usize, len: usize) -> Result<String, Failure> {
        String::from_utf8(self.input(ptr, len)?).map_err(|_| Failure::new(Code::BadInput, "input is not UTF-8"))
    }

    fn rng(&mut self) -> Result<&mut ChaCha20Rng, Failure> {
        self.rng.as_mut().ok_or_else(|| Failure::new(Code::NotSeeded, "seed() was not called"))
    }
}

/// Runs `f`, puts its output (or the failure's message) in the output buffer, returns the code.
fn run(f: impl FnOnce(&mut State) -> Result<Vec<u8>, Failure>) -> u32 {
    let mut st = state();
    st.out.zeroize();
    match f(&mut st) {
        Ok(out) => {
            st.out = out;
            0
        }
        Err(e) => {
            st.out = e.message.into_bytes();
            e.code as u32
        }
    }
}

/// A zeroed buffer of `len` bytes for JavaScript to write an input into; its address.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: usize) -> usize {
    let buf = vec![0u8; len.max(1)];
    let ptr = buf.as_ptr() as usize;
    state().buffers.insert(ptr, buf);
    ptr
}

/// Wipes and drops a buffer from [`alloc`]. Unknown addresses are ignored.
#[unsafe(no_mangle)]
pub extern "C" fn free(ptr: usize) {
    if let Some(mut buf) = state().buffers.remove(&ptr) {
        buf.zeroize();
    }
}

/// The address of the last result (or error message).
#[unsafe(no_mangle)]
pub extern "C" fn out_ptr() -> usize {
    state().out.as_ptr() as usize
}

/// The length of the last result (or error message).
#[unsafe(no_mangle)]
pub extern "C" fn out_len() -> usize {
    state().out.len()
}

/// Seeds the RNG (serials, PKCS#12 salts and IVs) with 32 bytes from `crypto.getRandomValues`.
#[unsafe(no_mangle)]
pub extern "C" fn seed(ptr: usize, len: usize) -> u32 {
    run(|st| {
        let mut bytes = st.input(ptr, len)?;
        let seed: [u8; 32] =
            bytes.as_slice().try_into().map_err(|_| Failure::new(Code::BadInput, "the seed must be 32 bytes"))?;
        bytes.zeroize();
        st.rng = Some(ChaCha20Rng::from_seed(seed));
        Ok(Vec::new())
    })
}

/// The CSR's to-be-signed bytes for the EE key and the mailbox.
#[unsafe(no_mangle)]
pub extern "C" fn csr_tbs(spki: usize, spki_len: usize, mailbox: usize, mailbox_len: usize) -> u32 {
    run(|st| {
        let tbs = ceremony::csr_tbs(&st.input(spki, spki_len)?, &st.text(mailbox, mailbox_len)?)?;
        let bytes = tbs.bytes().to_vec();
        st.csr = Some(tbs);
        Ok(bytes)
    })
}

/// The CSR, from the EE key's signature over [`csr_tbs`]'s bytes.
#[unsafe(no_mangle)]
pub extern "C" fn csr_assemble(sig: usize, sig_len: usize) -> u32 {
    run(|st| {
        let sig = st.input(sig, sig_len)?;
        let tbs = st.csr.take().ok_or_else(|| Failure::new(Code::OutOfOrder, "csr_tbs first"))?;
        ceremony::assemble(tbs, &sig)
    })
}

/// Checks and describes the intermediate the relay prepared; on success it is the one
/// [`intermediate_assemble`] will accept a signature for.
#[unsafe(no_mangle)]
pub extern "C" fn describe_intermediate(
    tbs: usize,
    tbs_len: usize,
    root_spki: usize,
    root_spki_len: usize,
    expected: usize,
    expected_len: usize,
    now: u64,
) -> u32 {
    run(|st| {
        st.approved = None;
        let expected = Expected::parse(&st.text(expected, expected_len)?)?;
        let (json, approved) = ceremony::describe_intermediate(
            &st.input(tbs, tbs_len)?,
            &st.input(root_spki, root_spki_len)?,
            &expected,
            UnixTime::from_secs(now),
        )?;
        st.approved = Some(approved);
        Ok(json.into_bytes())
    })
}

/// The self-signed root's to-be-signed bytes.
#[unsafe(no_mangle)]
pub extern "C" fn root_tbs(spki: usize, spki_len: usize, now: u64) -> u32 {
    run(|st| {
        let spki = st.input(spki, spki_len)?;
        let tbs = ceremony::root_tbs(&spki, UnixTime::from_secs(now), st.rng()?)?;
        let bytes = tbs.bytes().to_vec();
        st.root = Some(tbs);
        Ok(bytes)
    })
}

/// The root certificate, from the root key's signature over [`root_tbs`]'s bytes.
#[unsafe(no_mangle)]
pub extern "C" fn root_assemble(sig: usize, sig_len: usize) -> u32 {
    run(|st| {
        let sig = st.input(sig, sig_len)?;
        let tbs = st.root.take().ok_or_else(|| Failure::new(Code::OutOfOrder, "root_tbs first"))?;
        ceremony::assemble(tbs, &sig)
    })
}

/// The intermediate, from the root key's signature over the TBS bytes that
/// [`describe_intermediate`] approved.
#[unsafe(no_mangle)]
pub extern "C" fn intermediate_assemble(sig: usize, sig_len: usize) -> u32 {
    run(|st| {
        let sig = st.input(sig, sig_len)?;
        let approved = st
            .approved
            .as_ref()
            .ok_or_else(|| Failure::new(Code::OutOfOrder, "no intermediate was approved (describe_intermediate)"))?;
        ceremony::assemble_intermediate(approved, &sig)
    })
}

/// A PKCS#12 file: `compatible` 1 for 3DES + SHA-1 MAC, 0 for AES-256 + SHA-256 MAC.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments, reason = "pointer and length of each part")]
pub extern "C" fn pkcs12(
    key: usize,
    key_len: usize,
    ee: usize,
    ee_len: usize,
    inter: usize,
    inter_len: usize,
    root: usize,
    root_len: usize,
    password: usize,
    password_len: usize,
    name: usize,
    name_len: usize,
    compatible: u32,
) -> u32 {
    run(|st| {
        let mut key = st.input(key, key_len)?;
        let (ee, inter, root) = (st.input(ee, ee_len)?, st.input(inter, inter_len)?, st.input(root, root_len)?);
        let mut password = st.text(password, password_len)?;
        let name = st.text(name, name_len)?;
        let result = ceremony::pkcs12(&key, &ee, &inter, &root, &password, compatible != 0, &name, st.rng()?);
        key.zeroize();
        password.zeroize();
        result
    })
}
