//! pki-core for the browser: the certificate work of the S/MIME ceremony (DESIGN.md, "The
//! hybrid CA"), compiled to `wasm32-unknown-unknown` as a small `cdylib` with no imports and no
//! wasm-bindgen. The keys stay in WebCrypto; this module builds what they sign and assembles
//! what they signed.
//!
//! ```text
//!  page (JS, WebCrypto)                       pki-wasm                          relay
//!  ─────────────────────                      ────────                          ─────
//!  EE key (extractable), root key (not)
//!  exportKey("spki", ee) ──────────────────▶  csr_tbs ──▶ TBS
//!  sign(ee, TBS) ──────────────────────────▶  csr_assemble ──▶ CSR ───────────▶ POST /api/profiles
//!                                                              EE cert + intermediate TBS ◀──┘
//!  intermediate TBS + what to expect ──────▶  describe_intermediate: refuses anything but
//!                                             an intermediate CA, pathLen 0, for this user
//!  user reads it, confirms
//!  exportKey("spki", root) ────────────────▶  root_tbs ──▶ TBS; sign(root) ──▶ root_assemble
//!  sign(root, intermediate TBS) ───────────▶  intermediate_assemble ──▶ cert ─▶ POST …/complete
//!  exportKey("pkcs8", ee) ─────────────────▶  pkcs12 (Modern / Compatible) ──▶ ee.p12, ee-compat.p12
//! ```
//!
//! [`ceremony`] holds the logic as ordinary Rust functions (tested natively); [`exports`] is the
//! pointer-and-length surface JavaScript calls, described there.

pub mod ceremony;
pub mod exports;
mod json;
