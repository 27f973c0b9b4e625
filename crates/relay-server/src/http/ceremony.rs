//! The S/MIME ceremony, split between the user's side and the relay (DESIGN.md, "The hybrid
//! CA"). The root key is the user's, made on their side, and never reaches the relay: no field
//! here could receive it.
//!
//! 1. `POST /api/profiles` with the end-entity CSR and the root's *public* key:
//!    ```json
//!    {"csr": "-----BEGIN CERTIFICATE REQUEST-----…", "root_public_key": "-----BEGIN PUBLIC KEY-----…",
//!     "key_algorithm": "rsa2048"}
//!    ```
//!    The relay checks the CSR's proof of possession and that every address it asks for is a
//!    verified mailbox of the account; makes the intermediate key (sealed at rest); signs the
//!    end-entity certificate with it; and builds the intermediate's to-be-signed certificate,
//!    issued by `CN=Mail relay user root` with the given root key, pathLen 0 and name
//!    constraints (the relay domains and the account's verified mailboxes). The answer holds
//!    the pending profile, the end-entity certificate (PEM) and the TBS bytes (base64 DER).
//!    (The intermediate's TBS names its issuer's key, so the root *public* key has to come
//!    first; the root key itself stays on the user's side.)
//! 2. The user's side self-signs its root (subject `CN=Mail relay user root`, CA, pathLen 1)
//!    and signs the TBS bytes with the root key, then drops the root key.
//! 3. `POST /api/profiles/{id}/complete` with `{"root": PEM, "intermediate": PEM}`, or with
//!    `"intermediate_signature"` (base64; DER or WebCrypto's raw `r‖s` for ECDSA) in place of
//!    the intermediate. The relay checks that the intermediate is exactly the one it prepared,
//!    that the root is a self-signed CA without a mail address, and validates the whole chain
//!    for encryption at the current time (signatures, validity, constraints); then it activates
//!    the profile, retiring the previous one.

use axum::{extract::State, http::StatusCode};
use base64ct::{Base64, Encoding};
use der::{Decode, Encode, pem::LineEnding};
use pki_core::{
    KeyAlgorithm, PrivateKey, PublicKey, SignatureFormat, UnixTime,
    address::{Domain, Mailbox},
    cert::{self, Issuer, Lifetime, Permitted},
    csr::VerifiedCsr,
    path::{self, Usage},
};
use relay_engine::{
    address::Address,
    model::{AccountId, ProfileId, ProfileStatus},
    seal::KeyOwner,
    store::Store,
};
use serde::Deserialize;
use serde_json::{Value, json};
use x509_cert::{Certificate, ext::pkix::BasicConstraints};

use super::{
    ApiError, AppState,
    extract::{Auth, Body, Id},
    profiles::profile_json,
    routes::Routes,
};
use crate::app::os_rng;

/// The root's subject; the user's side must use it, since the intermediate names it.
pub(super) const ROOT_CN: &str = "Mail relay user root";
/// The intermediate's subject.
const INTERMEDIATE_CN: &str = "Mail relay issuing CA";
/// Lifetime of the end-entity certificate, in days.
const END_ENTITY_DAYS: u32 = 365;

pub(super) fn routes() -> Routes {
    Routes::new().post("/api/profiles", begin).post("/api/profiles/{id}/complete", complete)
}

/// DER from PEM with `label`, or from base64.
fn der_input(text: &str, label: &str, field: &str) -> Result<Vec<u8>, ApiError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        let (found, der) =
            der::pem::decode_vec(text.as_bytes()).map_err(|e| ApiError::bad_request(format!("{field}: {e}")))?;
        if found != label {
            return Err(ApiError::bad_request(format!("{field}: expected PEM label {label}, found {found}")));
        }
        Ok(der)
    } else {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        Base64::decode_vec(&compact).map_err(|_| ApiError::bad_request(format!("{field}: neither PEM nor base64")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Begin {
    csr: String,
    root_public_key: String,
    key_algorithm: Option<String>,
}

/// What the crypto of step 1 needs, owned (it runs on a blocking thread).
struct Plan {
    account: AccountId,
    csr: VerifiedCsr,
    owner: Mailbox,
    root_key: PublicKey,
    permitted: Permitted,
    key: KeyAlgorithm,
    now: UnixTime,
}

/// What step 1 made.
struct Prepared {
    end_entity: Vec<u8>,
    sealed_key: Vec<u8>,
    tbs: Vec<u8>,
}

async fn begin(
    State(state): State<AppState>,
    Auth(account): Auth,
    Body(body): Body<Begin>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let csr = VerifiedCsr::from_der(&der_input(&body.csr, "CERTIFICATE REQUEST", "csr")?)
        .map_err(|e| ApiError::bad_request(format!("csr: {e}")))?;
    let root_key = PublicKey::from_spki_der(&der_input(&body.root_public_key, "PUBLIC KEY", "root_public_key")?)
        .map_err(|e| ApiError::bad_request(format!("root_public_key: {e}")))?;
    let key = match body.key_algorithm.as_deref() {
        None => KeyAlgorithm::Rsa2048,
        Some(name) => KeyAlgorithm::from_name(name)
            .ok_or_else(|| ApiError::bad_request("key_algorithm: rsa2048, rsa3072 or p256"))?,
    };
    let verified: Vec<Address> =
        state.store().mailboxes(account).await?.into_iter().filter(|m| m.verified).map(|m| m.address).collect();
    let owner = requested_owner(&csr, &verified)?;
    let permitted = Permitted {
        domains: state
            .engine
            .config()
            .domains
            .iter()
            .map(|d| Domain::parse(d.as_str()))
            .collect::<Result<_, _>>()
            .map_err(|e| ApiError::Internal(format!("relay domain in a certificate: {e}")))?,
        // Mailboxes that cannot appear in a certificate (UTF-8) are left out of the constraints.
        mailboxes: verified.iter().filter_map(|m| Mailbox::parse(m.as_str()).ok()).collect(),
    };
    let plan = Plan { account, csr, owner, root_key, permitted, key, now: state.now() };
    let engine = state.engine.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(&plan, engine.master_key()))
        .await
        .map_err(|e| ApiError::Internal(format!("ceremony task: {e}")))??;
    let id = state
        .store()
        .insert_pending_profile(account, &prepared.end_entity, &prepared.sealed_key, &prepared.tbs)
        .await?;
    let profile = state.store().get_profile(account, id).await?;
    let ee_pem = der::pem::encode_string("CERTIFICATE", LineEnding::LF, &prepared.end_entity)
        .map_err(|e| ApiError::Internal(format!("PEM: {e}")))?;
    let body = json!({
        "profile": profile_json(&profile),
        "end_entity": ee_pem,
        "intermediate_tbs": Base64::encode_string(&prepared.tbs),
        "root_subject": format!("CN={ROOT_CN}"),
    });
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// The mailbox the end-entity certificate is for: the first the CSR asks for. Every address it
/// asks for must be a verified mailbox of the account.
fn requested_owner(csr: &VerifiedCsr, verified: &[Address]) -> Result<Mailbox, ApiError> {
    let first = csr.mailboxes.first().ok_or_else(|| ApiError::bad_request("csr: it names no mail address"))?;
    for asked in &csr.mailboxes {
        let ok = Address::parse(asked).is_ok_and(|a| verified.iter().any(|v| v.eq_ignore_case(&a)));
        if !ok {
            return Err(ApiError::bad_request(format!("csr: {asked} is not a verified mailbox of this account")));
        }
    }
    Mailbox::parse(first).map_err(|e| ApiError::InvalidAddress(format!("csr: {e}")))
}

/// Step 1's crypto: the intermediate key, its TBS certificate under the planned root, and the
/// end-entity certificate it signs.
fn prepare(plan: &Plan, master: &relay_engine::seal::MasterKey) -> Result<Prepared, ApiError> {
    let internal = |e: &dyn core::fmt::Display| ApiError::Internal(format!("ceremony: {e}"));
    let mut rng = os_rng().map_err(|e| internal(&e))?;
    let life = Lifetime { now: plan.now, days: cert::MAX_VALIDITY_DAYS };
    let root_name = cert::common_name_only(ROOT_CN).map_err(|e| internal(&e))?;
    let root = Issuer::planned(root_name, plan.root_key.clone(), None).map_err(|e| internal(&e))?;
    let inter_key = PrivateKey::generate(plan.key, &mut rng).map_err(|e| internal(&e))?;
    let tbs = cert::intermediate(INTERMEDIATE_CN, &inter_key.public_key(), &root, &plan.permitted, life, &mut rng)
        .map_err(|e| internal(&e))?;
    let inter_name = cert::common_name_only(INTERMEDIATE_CN).map_err(|e| internal(&e))?;
    let inter_not_after = plan.now.plus_secs(u64::from(cert::MAX_VALIDITY_DAYS) * 86_400);
    let issuer =
        Issuer::planned(inter_name, inter_key.public_key(), Some(inter_not_after)).map_err(|e| internal(&e))?;
    let ee_life = Lifetime { now: plan.now, days: END_ENTITY_DAYS };
    let ee = cert::end_entity(&plan.owner, &plan.csr.public_key, &issuer, ee_life, &mut rng)
        .and_then(|t| t.sign(&inter_key, &mut rng))
        .map_err(|e| internal(&e))?;
    let end_entity = ee.to_der().map_err(|e| internal(&e))?;
    let owner = KeyOwner::Intermediate { account: plan.account, end_entity: &end_entity };
    let sealed_key = master
        .seal(&inter_key.to_pkcs8_der().map_err(|e| internal(&e))?, &owner, &mut rng)
        .map_err(|e| internal(&e))?;
    tracing::info!(account = plan.account.0, "ceremony: intermediate key made, end-entity certificate issued");
    Ok(Prepared { end_entity, sealed_key, tbs: tbs.bytes().to_vec() })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Complete {
    root: String,
    intermediate: Option<String>,
    intermediate_signature: Option<String>,
}

async fn complete(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
    Body(body): Body<Complete>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let profile = store.get_profile(account, ProfileId(id)).await?;
    if profile.status != ProfileStatus::Pending {
        return Err(ApiError::Conflict(format!("profile {id} is not pending")));
    }
    let tbs = store
        .intermediate_tbs(account, profile.id)
        .await?
        .ok_or_else(|| ApiError::Conflict(format!("profile {id} has no ceremony under way")))?;
    let root_der = der_input(&body.root, "CERTIFICATE", "root")?;
    let root = Certificate::from_der(&root_der).map_err(|e| ApiError::bad_request(format!("root: {e}")))?;
    let intermediate_der = match (&body.intermediate, &body.intermediate_signature) {
        (Some(cert), None) => der_input(cert, "CERTIFICATE", "intermediate")?,
        (None, Some(sig)) => assemble(&tbs, &root, sig)?,
        _ => return Err(ApiError::bad_request("give either \"intermediate\" or \"intermediate_signature\"")),
    };
    let intermediate =
        Certificate::from_der(&intermediate_der).map_err(|e| ApiError::bad_request(format!("intermediate: {e}")))?;
    let end_entity = Certificate::from_der(&profile.end_entity)
        .map_err(|e| ApiError::Internal(format!("stored end-entity certificate: {e}")))?;
    check_chain(&root, &intermediate, &tbs, &end_entity, state.now())?;
    store.complete_profile(account, profile.id, &root_der, &intermediate_der).await?;
    tracing::info!(account = account.0, profile = id, "ceremony complete: profile active");
    Ok(axum::Json(profile_json(&store.get_profile(account, profile.id).await?)))
}

/// The intermediate from the TBS bytes the relay kept and the root's signature over them.
fn assemble(tbs: &[u8], root: &Certificate, signature: &str) -> Result<Vec<u8>, ApiError> {
    let sig = Base64::decode_vec(signature.trim())
        .map_err(|_| ApiError::bad_request("intermediate_signature: not base64"))?;
    let key = PublicKey::from_spki(root.tbs_certificate().subject_public_key_info())
        .map_err(|e| ApiError::bad_request(format!("root: {e}")))?;
    // DER, or WebCrypto's raw r||s for ECDSA: whichever verifies over the kept TBS bytes.
    let alg = key.signature_algorithm();
    let mut formats = vec![SignatureFormat::Der];
    if key.raw_ecdsa_len() == Some(sig.len()) {
        formats.push(SignatureFormat::RawEcdsa);
    }
    let sig = formats
        .into_iter()
        .filter_map(|f| key.normalize_signature(&sig, f, "intermediate").ok())
        .find(|s| key.verify(&alg.oid, None, tbs, s, "intermediate").is_ok())
        .ok_or_else(|| ApiError::bad_request("intermediate_signature: does not verify under the root's key"))?;
    let algorithm = alg.to_der().map_err(|e| ApiError::Internal(format!("algorithm: {e}")))?;
    let bits = der::asn1::BitString::from_bytes(&sig)
        .and_then(|b| b.to_der())
        .map_err(|e| ApiError::Internal(format!("signature: {e}")))?;
    let mut content = Vec::with_capacity(tbs.len() + algorithm.len() + bits.len());
    content.extend_from_slice(tbs);
    content.extend_from_slice(&algorithm);
    content.extend_from_slice(&bits);
    Ok(der_sequence(&content))
}

/// `SEQUENCE { content }` in DER.
fn der_sequence(content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![0x30];
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Everything step 3 checks before the profile becomes active.
fn check_chain(
    root: &Certificate,
    intermediate: &Certificate,
    tbs: &[u8],
    end_entity: &Certificate,
    now: UnixTime,
) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::bad_request(m));
    let given_tbs = intermediate.tbs_certificate().to_der().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    if given_tbs != tbs {
        return bad("intermediate: not the certificate the relay prepared for this profile".into());
    }
    let subject = root.tbs_certificate().subject();
    if subject != root.tbs_certificate().issuer() {
        return bad("root: not self-issued".into());
    }
    if subject.to_string().contains('@') {
        return bad("root: its subject must not contain a mail address".into());
    }
    match root.tbs_certificate().get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca => {}
        _ => return bad("root: not a CA certificate (basicConstraints)".into()),
    }
    let verdict = path::validate(root, &[], root, now, Usage::Chain);
    if !verdict.is_valid() {
        return bad(format!("root: {verdict}"));
    }
    let verdict = path::validate(end_entity, std::slice::from_ref(intermediate), root, now, Usage::Encrypt);
    if !verdict.is_valid() {
        return bad(format!("chain: {verdict}"));
    }
    Ok(())
}
