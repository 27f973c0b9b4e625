//! PKCS#12 import refuses files that would make it work for seconds or minutes.

#![allow(clippy::unwrap_used)]

use der::Encode;
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    cert::{self, Lifetime},
    pkcs12::{self, Error, ExportOptions, Flavour},
};
use rand_core::SeedableRng;

#[test]
fn hostile_iteration_counts_are_refused_before_the_work() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki/pkcs12/hostile");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let der = std::fs::read(&path).unwrap();
        let err = pkcs12::import(&der, "password").unwrap_err();
        assert!(matches!(err, Error::IterationCount { .. } | Error::WorkLimit { .. }), "{}: {err:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 3, "the reproducers are there");
}

#[test]
fn the_total_work_of_one_import_is_bounded() {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
    let key = PrivateKey::generate(KeyAlgorithm::P256, &mut rng).unwrap();
    let c = cert::root("P12 limits", &key.public_key(), Lifetime { now: UnixTime(1_795_910_400), days: 30 }, &mut rng)
        .unwrap()
        .sign(&key, &mut rng)
        .unwrap();
    let (k, c) = (key.to_pkcs8_der().unwrap(), c.to_der().unwrap());
    // Three derivations (MAC, key, certificates) of 1.5 million each: within the per-count
    // cap, over the per-import budget of 4 million.
    let opts = ExportOptions::new(Flavour::Modern).with_iterations(1_500_000);
    let p12 = pkcs12::export(&k, &c, &[], "pw", &opts, &mut rng).unwrap();
    assert!(matches!(pkcs12::import(&p12, "pw"), Err(Error::WorkLimit { .. })));
    // The defaults import fine.
    let p12 = pkcs12::export(&k, &c, &[], "pw", &ExportOptions::default(), &mut rng).unwrap();
    assert_eq!(pkcs12::import(&p12, "pw").unwrap().cert_der, c);
}
