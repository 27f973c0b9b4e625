//! Alias, custom alias and reverse alias generation.

use std::collections::HashSet;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use super::{domain_of_len, relay, rep, rng};
use crate::address::alias::{contact_hint, uniform};
use crate::address::words::{ADJECTIVES, NOUNS};
use crate::address::{
    Address, AddressError, Component, CustomAlias, RESERVED, RelayDomain, custom_alias, is_reserved,
    looks_like_reverse_alias, random_alias, reverse_alias,
};

#[test]
fn word_lists_follow_the_rules() {
    for (name, list) in [("adjectives", &ADJECTIVES[..]), ("nouns", &NOUNS[..])] {
        assert!(list.len() >= 256, "{name}: {}", list.len());
        assert!(list.windows(2).all(|w| w[0] < w[1]), "{name} must be sorted and unique");
        for word in list {
            assert!((2..=8).contains(&word.len()), "{name}: {word}");
            assert!(word.bytes().all(|b| b.is_ascii_lowercase()), "{name}: {word}");
            assert_eq!(is_reserved(word), None, "{name}: {word}");
        }
    }
    // The module docs quote these sizes.
    assert_eq!((ADJECTIVES.len(), NOUNS.len()), (328, 370));
}

#[test]
fn random_aliases() {
    let mut rng = rng();
    let domain = relay();
    let mut seen = HashSet::new();
    let mut collisions = 0;
    for _ in 0..10_000 {
        let alias = random_alias(&mut rng, &domain);
        assert_eq!(Address::parse(alias.as_str()).as_ref(), Ok(&alias));
        assert_eq!(alias.domain(), "pportal.io");
        let parts: Vec<&str> = alias.local().split('.').collect();
        assert!(matches!(parts.as_slice(), [a, n, d]
            if ADJECTIVES.contains(a) && NOUNS.contains(n) && d.len() == 2 && d.bytes().all(|b| b.is_ascii_digit())));
        assert_eq!(is_reserved(alias.local()), None);
        assert!(!looks_like_reverse_alias(&alias), "{alias}");
        if !seen.insert(alias) {
            collisions += 1;
        }
    }
    // Birthday bound: about 10,000² / (2 · 12,136,000) ≈ 4 expected.
    assert!(collisions < 100, "{collisions} collisions in 10,000");
    // Same seed, same aliases.
    assert_eq!(random_alias(&mut super::rng(), &domain), random_alias(&mut super::rng(), &domain));
}

#[test]
fn uniform_is_unbiased_and_rejects_the_short_zone() {
    /// Replays fixed `u32`s.
    struct Replay(Vec<u32>);
    impl rand_core::TryRng for Replay {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.0.remove(0))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(u64::from(self.try_next_u32()?))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.fill(0);
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Replay {}

    // 2^32 mod 3 = 1: the draw 0 is rejected, the next one (4) gives 4 mod 3.
    assert_eq!(uniform(&mut Replay(vec![0, 4]), 3), 1);
    assert_eq!(uniform(&mut Replay(vec![1]), 3), 1);
    assert_eq!(uniform(&mut Replay(vec![]), 0), 0);
    assert_eq!(uniform(&mut Replay(vec![u32::MAX]), 1), 0);

    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let mut counts = [0u32; 7];
    for _ in 0..70_000 {
        counts[usize::try_from(uniform(&mut rng, 7)).expect("small")] += 1;
    }
    assert!(counts.iter().all(|&c| (9_500..=10_500).contains(&c)), "{counts:?}");
}

#[test]
fn custom_alias_table() {
    let domain = relay();
    let no_suffix = CustomAlias { with_suffix: false };
    let prefix = Component::AliasPrefix;
    let x41 = "x".repeat(41);
    let cases: Vec<(&str, Result<&str, AddressError>)> = vec![
        ("shop", Ok("shop@pportal.io")),
        ("Shop", Ok("shop@pportal.io")),
        ("my.shop-2024_x", Ok("my.shop-2024_x@pportal.io")),
        ("a", Ok("a@pportal.io")),
        ("quiet.otter.42", Ok("quiet.otter.42@pportal.io")),
        ("postmaster2", Ok("postmaster2@pportal.io")),
        ("Postmaster", Err(AddressError::Reserved { name: "postmaster" })),
        ("post.master", Err(AddressError::Reserved { name: "postmaster" })),
        ("no-reply", Err(AddressError::Reserved { name: "noreply" })),
        ("NO_REPLY", Err(AddressError::Reserved { name: "noreply" })),
        ("mailer-daemon", Err(AddressError::Reserved { name: "mailer-daemon" })),
        ("mailerdaemon", Err(AddressError::Reserved { name: "mailer-daemon" })),
        ("Abuse", Err(AddressError::Reserved { name: "abuse" })),
        ("admin", Err(AddressError::Reserved { name: "admin" })),
        ("host-master", Err(AddressError::Reserved { name: "hostmaster" })),
        ("", Err(AddressError::Empty { component: prefix })),
        (&x41, Err(AddressError::TooLong { component: prefix, len: 41, max: 40 })),
        (".shop", Err(AddressError::DotPlacement { component: prefix, offset: 0 })),
        ("shop.", Err(AddressError::DotPlacement { component: prefix, offset: 4 })),
        ("sh..op", Err(AddressError::DotPlacement { component: prefix, offset: 2 })),
        ("-shop", Err(AddressError::UnexpectedChar { component: prefix, ch: '-', offset: 0 })),
        ("shop_", Err(AddressError::UnexpectedChar { component: prefix, ch: '_', offset: 4 })),
        ("sh op", Err(AddressError::UnexpectedChar { component: prefix, ch: ' ', offset: 2 })),
        ("shop+x", Err(AddressError::UnexpectedChar { component: prefix, ch: '+', offset: 4 })),
        ("shöp", Err(AddressError::UnexpectedChar { component: prefix, ch: 'ö', offset: 2 })),
        ("a@b", Err(AddressError::UnexpectedChar { component: prefix, ch: '@', offset: 1 })),
        ("a\r\nb", Err(AddressError::UnexpectedChar { component: prefix, ch: '\r', offset: 1 })),
        ("bob.k7m2q9x4v8p3t", Err(AddressError::ReverseAliasShape)),
        ("k7m2q9x4v8p3t", Err(AddressError::ReverseAliasShape)),
    ];
    for (input, expected) in cases {
        let got = custom_alias(&mut rng(), input, &domain, no_suffix);
        assert_eq!(got.as_ref().map(Address::as_str), expected.as_ref().copied(), "{input:?}");
    }
    assert_eq!(RESERVED.iter().filter_map(|r| custom_alias(&mut rng(), r, &domain, no_suffix).ok()).count(), 0);
}

#[test]
fn custom_alias_with_suffix() {
    let domain = relay();
    let mut rng = rng();
    let mut seen = HashSet::new();
    for _ in 0..1_000 {
        let alias = custom_alias(&mut rng, "Shop", &domain, CustomAlias::default()).expect("valid prefix");
        let suffix = alias.local().strip_prefix("shop.").expect("prefix kept");
        assert_eq!(suffix.len(), 6);
        assert!(suffix.bytes().all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)), "{alias}");
        assert!(!looks_like_reverse_alias(&alias));
        assert_eq!(Address::parse(alias.as_str()).as_ref(), Ok(&alias));
        seen.insert(alias);
    }
    assert!(seen.len() >= 999, "30-bit suffixes collided: {}", seen.len());
    // Reserved prefixes stay reserved with a suffix, and a reverse-alias-shaped prefix is fine.
    let reserved = custom_alias(&mut rng, "post.master", &domain, CustomAlias::default());
    assert_eq!(reserved, Err(AddressError::Reserved { name: "postmaster" }));
    let shaped = custom_alias(&mut rng, "k7m2q9x4v8p3t", &domain, CustomAlias::default()).expect("suffixed");
    assert!(!looks_like_reverse_alias(&shaped));
    // The longest prefix plus the suffix fits in a local part.
    let long = custom_alias(&mut rng, &"x".repeat(40), &domain, CustomAlias::default()).expect("40 characters");
    assert_eq!(long.local().len(), 47);
}

/// Contacts of every shape: ASCII, quoted, UTF-8, literals, maximum lengths.
fn contacts() -> Vec<Address> {
    [
        "bob@example.com".to_owned(),
        "Bob.Smith+news@Mail.Example.co.uk".to_owned(),
        r#""john doe"@example.com"#.to_owned(),
        r#""a\"b\\c"@example.org"#.to_owned(),
        "用户@例子.广告".to_owned(),
        "jöran@bücher.de".to_owned(),
        "Ærøskøbing.ß@straße.de".to_owned(),
        "x@[192.0.2.1]".to_owned(),
        "x@[IPv6:2001:db8::1]".to_owned(),
        "noreply@github.com".to_owned(),
        "a@b".to_owned(),
        "!#$%&@localhost".to_owned(),
        format!("{}@example.com", rep('l', 64)),
        format!("{}@{}", rep('m', 64), domain_of_len(189)),
        format!("{}@{}", rep('é', 32), domain_of_len(189)),
    ]
    .iter()
    .map(|s| Address::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}")))
    .collect()
}

#[test]
fn reverse_aliases() {
    let domain = relay();
    let contacts = contacts();
    let mut rng = rng();
    let mut seen = HashSet::new();
    for i in 0..10_000 {
        let contact = &contacts[i % contacts.len()];
        let ra = reverse_alias(&mut rng, contact, &domain);
        assert_eq!(Address::parse(ra.as_str()).as_ref(), Ok(&ra), "{contact}");
        assert_eq!(ra.domain(), "pportal.io");
        assert!(ra.local().len() <= 38, "{ra}");
        let random = ra.local().rsplit('.').next().expect("non-empty");
        assert_eq!(random.len(), 13, "{ra}");
        assert!(looks_like_reverse_alias(&ra), "{ra}");
        assert_eq!(is_reserved(ra.local()), None);
        assert!(ra.is_ascii());
        assert!(seen.insert(ra.clone()), "collision: {ra}");
    }
    // Upper case (a client that shouts) still looks like one; ordinary addresses do not.
    let shout = Address::parse("BOB.EXAMPLE.K7M2Q9X4V8P3T@PPORTAL.IO").expect("valid");
    assert!(looks_like_reverse_alias(&shout));
    for not in [
        "bob@pportal.io",
        "quiet.otter.42@pportal.io",
        "bob.k7m2q9x4v8p3@pportal.io",
        "bob.k7m2q9x4v8p3tt@x",
        "bob.k7m2q9x4v8pit@x",
        "bob_x.k7m2q9x4v8p3t@x",
        r#""a b.k7m2q9x4v8p3t"@x"#,
        "a.b.c.d.e.f.g.h.i.j.k.l.m.n.k7m2q9x4v8p3t@x",
    ] {
        assert!(!looks_like_reverse_alias(&Address::parse(not).expect("valid")), "{not}");
    }
}

#[test]
fn reverse_alias_hints() {
    let domain = RelayDomain::new("pportal.io").expect("valid");
    let cases = [
        ("bob@example.com", "bob.example"),
        ("Bob.Smith+news@Mail.Example.co.uk", "bob.smith.news.mail"),
        (r#""john doe"@example.com"#, "john.doe.example"),
        ("用户@例子.广告", ""),
        ("jöran@bücher.de", "joran.bucher"),
        ("Ærøskøbing.ß@straße.de", "aeroskobing.ss.strasse"),
        ("x@[192.0.2.1]", "x"),
        ("a@b", "a.b"),
        ("!#$%&@localhost", "localhost"),
        ("--a--@-", "a"),
    ];
    for (contact, hint) in cases {
        // Parse where possible; the last case is not an address, so call the hint directly.
        let (local, dom) = contact.rsplit_once('@').expect("has @");
        if let Ok(address) = Address::parse(contact) {
            let ra = reverse_alias(&mut rng(), &address, &domain);
            let expected = if hint.is_empty() { 13 } else { hint.len() + 14 };
            assert_eq!(ra.local().len(), expected, "{ra}");
            assert!(ra.local().starts_with(hint), "{ra}");
        }
        let local = local.trim_matches('"');
        assert_eq!(contact_hint(local, dom), hint, "{contact}");
    }
    // A 200-character local part cannot be an Address, but the hint must stay bounded anyway.
    let long = contact_hint(&rep('q', 200), "example.com");
    assert_eq!(long, rep('q', 24));
    let words = contact_hint(&"ab.".repeat(70), "example.com");
    assert!(words.len() <= 24 && !words.ends_with('.'), "{words}");
    let mut rng = rng();
    for _ in 0..1000 {
        let n = usize::try_from(rng.next_u32() % 300).expect("small");
        let local: String = (0..n).map(|i| ['a', '.', 'é', '用', 'Z', '-', '9'][(i * 7 + n) % 7]).collect();
        let hint = contact_hint(&local, "example.com");
        assert!(hint.len() <= 24, "{hint}");
        assert!(!hint.starts_with('.') && !hint.ends_with('.') && !hint.contains(".."), "{hint:?}");
    }
}
