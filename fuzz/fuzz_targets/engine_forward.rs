//! The forward pipeline on arbitrary bytes, to an alias with an active profile: no panic, and
//! nothing is ever delivered in plaintext (fail closed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki_core_fuzz::engine::{ENGINE_NOW, block_on, world};
use rand_core::SeedableRng;
use relay_engine::{Envelope, Outcome, address::Address, testkit::ALIAS};

fuzz_target!(|data: &[u8]| {
    let w = world();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
    let env = Envelope::new(Address::parse("sender@example.org").ok(), Address::parse(ALIAS).expect("alias"));
    if let Outcome::Deliver(d) = block_on(w.engine.forward(data, &env, ENGINE_NOW, &mut rng)) {
        assert!(d.encrypted, "plaintext delivered while a profile is active");
    }
});
