//! A relay-engine world built once per process, and a minimal executor for its async API
//! (the pipelines do no I/O on the in-memory store, so every future is ready when polled).

use std::{
    future::Future,
    pin::pin,
    sync::OnceLock,
    task::{Context, Poll, Waker},
};

use pki_core::{KeyAlgorithm, UnixTime};
use rand_core::SeedableRng;
use relay_engine::testkit::{World, WorldOptions};

/// The fixed time of the engine targets.
pub const ENGINE_NOW: UnixTime = UnixTime(1_795_910_400);

/// The world: an account, its verified mailbox, an alias, and an active P-256 profile.
pub fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([42; 32]);
        let opts = WorldOptions { key: KeyAlgorithm::P256, pool: 0, ..Default::default() };
        let w = World::new(opts, ENGINE_NOW, &mut rng).expect("fuzz world");
        // Fuzzed replies are unsigned: let the (opt-in) envelope check authorise them, so that
        // they reach the scrubber instead of stopping at the authorisation.
        w.engine.store().set_reply_auth(w.account, relay_engine::model::ReplyAuth::Envelope).expect("reply auth");
        w
    })
}

/// Polls a future that never waits.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
