//! The reply pipeline on arbitrary bytes from the owner to a contact's reverse alias: no panic,
//! and whatever is delivered carries no trace of the owner's real address.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pki_core_fuzz::engine::{ENGINE_NOW, block_on, world};
use rand_core::SeedableRng;
use relay_engine::{Envelope, Outcome, address::Address, scrub, store::Store, testkit::OWNER};

fn reverse_alias() -> &'static Address {
    static RA: OnceLock<Address> = OnceLock::new();
    RA.get_or_init(|| {
        let w = world();
        let alias = block_on(w.engine.store().alias(w.alias)).expect("store").expect("alias");
        let bob = Address::parse("bob@example.org").expect("bob");
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([8; 32]);
        block_on(w.engine.contact_for(&alias, &bob, Some("Bob"), &mut rng)).expect("contact").reverse_alias
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
    let env = Envelope::new(Address::parse(OWNER).ok(), reverse_alias().clone());
    if let Outcome::Deliver(d) = block_on(w.engine.reply(data, &env, ENGINE_NOW, &mut rng)) {
        assert!(scrub::leaks(&d.data, OWNER).is_empty(), "the owner's address leaked");
    }
});
