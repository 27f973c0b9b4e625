//! Parser tables: `(input, expected)`.

use std::collections::HashSet;
use std::net::IpAddr;

use rand_core::Rng;

use super::{domain_of_len, domains, rep, rng};
use crate::address::{Address, AddressError, Component, LabelFault, LiteralFault};

use AddressError as E;
use Component as C;

fn ch(component: Component, ch: char, offset: usize) -> AddressError {
    E::UnexpectedChar { component, ch, offset }
}

/// Valid addresses and their canonical form.
fn valid_cases() -> Vec<(String, String)> {
    let same = |s: &str| (s.to_owned(), s.to_owned());
    let to = |s: &str, c: &str| (s.to_owned(), c.to_owned());
    let local64 = rep('l', 64);
    let total254 = format!("{local64}@{}", domain_of_len(189));
    vec![
        same("user@example.com"),
        to("User.Name@Example.COM", "User.Name@example.com"),
        same("a@b"),
        same("!#$%&'*+-/=?^_`{|}~@example.com"),
        same("user+tag@example.com"),
        same("a-b@a-b.c-d"),
        same("1@2.3"),
        same("x@xn--bcher-kva.de"),
        same(r#""john doe"@example.com"#),
        to(r#""john"@example.com"#, "john@example.com"),
        to(r#""john.doe"@example.com"#, "john.doe@example.com"),
        same(r#""john..doe"@example.com"#),
        same(r#"".john"@example.com"#),
        same(r#""john."@example.com"#),
        same(r#""a\"b"@example.com"#),
        same(r#""a\\b"@example.com"#),
        to(r#""\a\b"@example.com"#, "ab@example.com"),
        same(r#""a@b"@example.com"#),
        to(r#""a b\ c"@x.org"#, r#""a b c"@x.org"#),
        same(r#"" "@example.com"#),
        same(r#""(comment)"@example.com"#),
        same("user@[192.0.2.1]"),
        to("user@[IPv6:2001:DB8::1]", "user@[IPv6:2001:db8::1]"),
        to("user@[ipv6:2001:0db8:0:0:0:0:0:1]", "user@[IPv6:2001:db8::1]"),
        same("user@[IPv6:::ffff:192.0.2.1]"),
        same("用户@例子.广告"),
        same("jöran@bücher.de"),
        to("Jöran@BÜCHER.de", "Jöran@bücher.de"),
        same(r#""用户 名"@例子.广告"#),
        same("δοκιμή@παράδειγμα.δοκιμή"),
        same("ok@a-1.b2.c3d"),
        (format!("{local64}@example.com"), format!("{local64}@example.com")),
        (total254.clone(), total254),
        (format!("a@{}.com", rep('x', 63)), format!("a@{}.com", rep('x', 63))),
        // Quoted forms are measured after canonicalisation.
        (format!("\"{local64}\"@example.com"), format!("{local64}@example.com")),
    ]
}

/// Invalid addresses and the exact error.
fn invalid_cases() -> Vec<(String, AddressError)> {
    let s = |x: &str| x.to_owned();
    let local64 = rep('l', 64);
    vec![
        (s(""), E::Empty { component: C::Address }),
        (s("a@"), E::Empty { component: C::Domain }),
        (s("@b"), E::Empty { component: C::LocalPart }),
        (s(r#"""@b"#), E::Empty { component: C::LocalPart }),
        (s("a@@b"), ch(C::Domain, '@', 2)),
        (s("a@b@c"), ch(C::Domain, '@', 3)),
        (s("a"), E::MissingAt { offset: 1 }),
        (s("a@b\r\nRCPT TO:<x@y>"), ch(C::Domain, '\r', 3)),
        (s("a\r\n@b"), ch(C::LocalPart, '\r', 1)),
        (s("a@b\n"), ch(C::Domain, '\n', 3)),
        (s("a b@c"), ch(C::LocalPart, ' ', 1)),
        (s(" a@b"), ch(C::LocalPart, ' ', 0)),
        (s("a@b "), ch(C::Domain, ' ', 3)),
        (s("a@b c"), ch(C::Domain, ' ', 3)),
        (s("a\0@b"), ch(C::LocalPart, '\0', 1)),
        (s("a\u{7f}@b"), ch(C::LocalPart, '\u{7f}', 1)),
        (s("a.@b"), E::DotPlacement { component: C::LocalPart, offset: 1 }),
        (s(".a@b"), E::DotPlacement { component: C::LocalPart, offset: 0 }),
        (s("a..b@c"), E::DotPlacement { component: C::LocalPart, offset: 1 }),
        (s("a@b."), E::Label { offset: 4, fault: LabelFault::Empty }),
        (s("a@.b"), E::Label { offset: 2, fault: LabelFault::Empty }),
        (s("a@b..c"), E::Label { offset: 4, fault: LabelFault::Empty }),
        (s("a@-b.c"), E::Label { offset: 2, fault: LabelFault::Hyphen }),
        (s("a@b.c-"), E::Label { offset: 4, fault: LabelFault::Hyphen }),
        (s("a@b_c.d"), ch(C::Domain, '_', 3)),
        (s("<a@b>"), ch(C::LocalPart, '<', 0)),
        (s("<>"), ch(C::LocalPart, '<', 0)),
        (s("@a,@b:user@d"), E::Empty { component: C::LocalPart }),
        (s("Bob <bob@example.com>"), ch(C::LocalPart, ' ', 3)),
        (s("a(comment)@b"), ch(C::LocalPart, '(', 1)),
        (s(r#""unterminated@b"#), E::UnexpectedEnd { component: C::LocalPart }),
        (s(r#""a"b@c"#), ch(C::LocalPart, 'b', 3)),
        (s("\"a\tb\"@c"), ch(C::LocalPart, '\t', 2)),
        (s("\"a\r\nb\"@c"), ch(C::LocalPart, '\r', 2)),
        (s("\"a\\\u{e9}\"@c"), ch(C::LocalPart, 'é', 3)),
        (s("\"a\\"), E::UnexpectedEnd { component: C::LocalPart }),
        (s("a@[192.0.2.256]"), E::AddressLiteral { offset: 2, fault: LiteralFault::Ipv4 }),
        (s("a@[1.2.3]"), E::AddressLiteral { offset: 2, fault: LiteralFault::Ipv4 }),
        (s("a@[IPv6:gggg::1]"), E::AddressLiteral { offset: 2, fault: LiteralFault::Ipv6 }),
        (s("a@[IPv6:fe80::1%eth0]"), E::AddressLiteral { offset: 2, fault: LiteralFault::Ipv6 }),
        (s("a@[IPv6:192.0.2.1]"), E::AddressLiteral { offset: 2, fault: LiteralFault::Ipv6 }),
        (s("a@[x-tag:abc]"), E::AddressLiteral { offset: 2, fault: LiteralFault::UnsupportedTag }),
        (s("a@[]"), E::AddressLiteral { offset: 2, fault: LiteralFault::Ipv4 }),
        (s("a@[192.0.2.1"), E::UnexpectedEnd { component: C::AddressLiteral }),
        (s("a@[1.2.3.4 ]"), ch(C::AddressLiteral, ' ', 10)),
        (s("a@[1.2.3.4]x"), ch(C::Domain, 'x', 11)),
        (s("a\u{202E}b@c"), ch(C::LocalPart, '\u{202E}', 1)),
        (s("a\u{200B}@c"), ch(C::LocalPart, '\u{200B}', 1)),
        (s("a\u{85}@c"), ch(C::LocalPart, '\u{85}', 1)),
        (s("a@b\u{a0}"), ch(C::Domain, '\u{a0}', 3)),
        (s("a@例子。广告"), ch(C::Domain, '。', 8)),
        (s("a＠b@c"), ch(C::LocalPart, '＠', 1)),
        (format!("{}@example.com", rep('l', 65)), E::TooLong { component: C::LocalPart, len: 65, max: 64 }),
        (format!("\"{} \"@x", rep('l', 62)), E::TooLong { component: C::LocalPart, len: 65, max: 64 }),
        (format!("{local64}@{}", domain_of_len(190)), E::TooLong { component: C::Address, len: 255, max: 254 }),
        (format!("a@{}", domain_of_len(256)), E::TooLong { component: C::Domain, len: 256, max: 255 }),
        (format!("a@{}.com", rep('x', 64)), E::Label { offset: 2, fault: LabelFault::TooLong { len: 64 } }),
        (rep('a', 2000), E::TooLong { component: C::Address, len: 2000, max: 1024 }),
    ]
}

#[test]
fn parse_table() {
    let (valid, invalid) = (valid_cases(), invalid_cases());
    assert!(valid.len() + invalid.len() >= 40);
    for (input, canonical) in &valid {
        let address = Address::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(address.as_str(), canonical, "canonical form of {input:?}");
        assert_eq!(format!("{}@{}", address.local(), address.domain()), address.as_str());
        assert_eq!(Address::parse(address.as_str()).as_ref(), Ok(&address), "re-parse of {input:?}");
    }
    for (input, error) in &invalid {
        assert_eq!(Address::parse(input).as_ref(), Err(error), "{input:?}");
    }
}

#[test]
fn error_display_escapes_controls() {
    let error = Address::parse("a@b\r\nRCPT TO:<x@y>").expect_err("injection");
    let text = error.to_string();
    assert_eq!(text, r"unexpected character '\r' in domain at offset 3");
    for (input, error) in invalid_cases() {
        let text = error.to_string();
        assert!(!text.chars().any(char::is_control), "{input:?} gives {text:?}");
    }
}

#[test]
fn accessors() {
    let a = Address::parse(r#""John \"JD\" Doe"@Example.COM"#).expect("valid");
    assert_eq!(a.local(), r#""John \"JD\" Doe""#);
    assert_eq!(a.local_content(), r#"John "JD" Doe"#);
    assert_eq!(a.domain(), "example.com");
    assert!(a.is_quoted() && a.is_ascii());
    assert_eq!(a.normalized(), r#""john \"jd\" doe"@example.com"#);
    assert_eq!(a.to_string(), a.as_str());
    assert_eq!(format!("{a:?}"), r#"Address("\"John \\\"JD\\\" Doe\"@example.com")"#);

    let u = Address::parse("Jöran@BÜCHER.de").expect("valid");
    assert!(!u.is_ascii());
    assert_eq!(u.normalized(), "jöran@bücher.de");
    assert_eq!(u.local_content(), "Jöran");

    let v4: Address = "x@[192.0.2.1]".parse().expect("valid");
    assert_eq!(v4.ip_literal(), Some(IpAddr::from([192, 0, 2, 1])));
    let v6 = Address::parse("x@[IPv6:2001:db8::1]").expect("valid");
    assert_eq!(v6.ip_literal(), "2001:db8::1".parse().ok());
    assert_eq!(Address::parse("x@example.com").expect("valid").ip_literal(), None);
    assert_eq!(String::from(v4.clone()), "x@[192.0.2.1]");
    assert_eq!(v4.into_string(), "x@[192.0.2.1]");
}

#[test]
fn comparison_semantics() {
    let parse = |s: &str| Address::parse(s).expect("valid");
    // Domains are case-insensitive, local parts case-sensitive.
    assert_eq!(parse("bob@Example.COM"), parse("bob@example.com"));
    assert_ne!(parse("Bob@example.com"), parse("bob@example.com"));
    assert!(parse("Bob@example.com").eq_ignore_case(&parse("bOB@EXAMPLE.com")));
    assert!(parse("Jöran@x.de").eq_ignore_case(&parse("JÖRAN@X.DE")));
    assert!(!parse("bob@example.com").eq_ignore_case(&parse("bob@example.org")));
    // Unneeded quotes do not make a different address.
    assert_eq!(parse(r#""bob"@example.com"#), parse("bob@example.com"));
    // Equivalent literals are equal.
    assert_eq!(parse("a@[IPv6:2001:DB8:0::1]"), parse("a@[ipv6:2001:db8::1]"));

    let set: HashSet<Address> = ["a@X.org", "a@x.org", "A@x.org"].iter().map(|s| parse(s)).collect();
    assert_eq!(set.len(), 2);
    let mut sorted = vec![parse("b@x"), parse("a@y"), parse("a@x")];
    sorted.sort();
    assert_eq!(sorted, vec![parse("a@x"), parse("a@y"), parse("b@x")]);
}

#[test]
fn path_table() {
    let some = |s: &str| Ok(Some(s.to_owned()));
    let cases: Vec<(&str, Result<Option<String>, AddressError>)> = vec![
        ("<>", Ok(None)),
        ("<a@b>", some("a@b")),
        ("<User@Example.COM>", some("User@example.com")),
        ("<@a,@b:user@d>", some("user@d")),
        ("<@a.example:user@d>", some("user@d")),
        ("<\"a>b\"@c>", some("\"a>b\"@c")),
        ("<用户@例子.广告>", some("用户@例子.广告")),
        ("<a@[192.0.2.1]>", some("a@[192.0.2.1]")),
        ("", Err(E::Empty { component: C::Path })),
        ("a@b", Err(ch(C::Path, 'a', 0))),
        ("<a@b", Err(E::UnexpectedEnd { component: C::Path })),
        ("<a@b> ", Err(ch(C::Path, ' ', 5))),
        ("<a@b>\r\n", Err(ch(C::Path, '\r', 5))),
        ("<a@b\r\n>", Err(ch(C::Path, '\r', 4))),
        ("<>x", Err(ch(C::Path, 'x', 2))),
        ("<a@b><c@d>", Err(ch(C::Path, '<', 5))),
        ("<Postmaster>", Err(E::MissingAt { offset: 11 })),
        ("< a@b>", Err(ch(C::LocalPart, ' ', 1))),
        ("<<a@b>>", Err(ch(C::LocalPart, '<', 1))),
        ("<@a,b:user@d>", Err(ch(C::Path, 'b', 4))),
        ("<@a:>", Err(ch(C::LocalPart, '>', 4))),
        ("<@a>", Err(ch(C::Path, '>', 3))),
        ("<@:a@b>", Err(ch(C::Domain, ':', 2))),
        ("<@[1.2.3.4]:u@d>", Err(ch(C::Domain, '[', 2))),
        ("<a@>", Err(E::Empty { component: C::Domain })),
        ("<@a,@b:user@d", Err(E::UnexpectedEnd { component: C::Path })),
    ];
    for (input, expected) in cases {
        let got = Address::parse_path(input).map(|a| a.map(Address::into_string));
        assert_eq!(got, expected, "{input:?}");
    }
}

#[test]
fn forward_path_table() {
    let d = domains();
    let cases: Vec<(&str, Result<&str, AddressError>)> = vec![
        ("<Postmaster>", Ok("postmaster@pportal.io")),
        ("<postMASTER>", Ok("postmaster@pportal.io")),
        ("<Postmaster@PPortal.io>", Ok("Postmaster@pportal.io")),
        ("<quiet.otter.42@pportal.io>", Ok("quiet.otter.42@pportal.io")),
        ("<@relay.example:x@pportal.io>", Ok("x@pportal.io")),
        ("<>", Err(E::NullPath)),
        ("<Postmaster> ", Err(E::MissingAt { offset: 11 })),
        ("Postmaster", Err(ch(C::Path, 'P', 0))),
    ];
    for (input, expected) in cases {
        let got = Address::parse_forward_path(input, &d);
        assert_eq!(got.as_ref().map(Address::as_str), expected.as_ref().copied(), "{input:?}");
    }
}

/// `(argument, (path, parameters) or error)`.
type SplitCase = (&'static str, Result<(&'static str, &'static str), AddressError>);

#[test]
fn split_path_table() {
    let cases: Vec<SplitCase> = vec![
        ("<a@b> SIZE=10 BODY=8BITMIME", Ok(("<a@b>", "SIZE=10 BODY=8BITMIME"))),
        ("<\"a> b\"@c>  X=1", Ok(("<\"a> b\"@c>", "X=1"))),
        ("<\"a\\\">\"@b> X", Ok(("<\"a\\\">\"@b>", "X"))),
        ("<a@b>", Ok(("<a@b>", ""))),
        ("<>", Ok(("<>", ""))),
        ("<> SMTPUTF8", Ok(("<>", "SMTPUTF8"))),
        ("<a@b>x", Err(ch(C::Path, 'x', 5))),
        ("<a@b>\r\n", Err(ch(C::Path, '\r', 5))),
        ("a@b", Err(ch(C::Path, 'a', 0))),
        ("", Err(E::Empty { component: C::Path })),
        ("<a@b", Err(E::UnexpectedEnd { component: C::Path })),
        ("<\"a>b@c", Err(E::UnexpectedEnd { component: C::Path })),
    ];
    for (input, expected) in cases {
        assert_eq!(Address::split_path(input), expected, "{input:?}");
    }
}

/// Random strings over an alphabet of the characters the grammar cares about: parsing never
/// panics, and whatever parses is canonical (re-parsing its canonical form gives it back).
#[test]
fn hostile_input_never_panics_and_round_trips() {
    const ALPHABET: &[&str] = &[
        "a",
        "B",
        "0",
        ".",
        ".",
        "@",
        "@",
        "\"",
        "\\",
        " ",
        "[",
        "]",
        ":",
        "<",
        ">",
        ",",
        "-",
        "_",
        "é",
        "用",
        "\r",
        "\n",
        "\0",
        "\u{212A}",
        "Σ",
        "İ",
        "ẞ",
        "\u{202E}",
        "IPv6:",
        "1.2.3.4",
        "::1",
        "(",
        "+",
        "\u{10FFFF}",
    ];
    let mut rng = rng();
    let mut parsed = 0;
    for _ in 0..30_000 {
        let len = rng.next_u32() % 24;
        let mut input = String::new();
        for _ in 0..len {
            let i = usize::try_from(rng.next_u32()).unwrap_or(0) % ALPHABET.len();
            input.push_str(ALPHABET[i]);
        }
        for candidate in [input.clone(), format!("a@{input}"), format!("{input}@b.c"), format!("\"{input}\"@d")] {
            let _ = Address::parse_path(&format!("<{candidate}>"));
            let _ = Address::split_path(&format!("<{candidate}> X"));
            let Ok(address) = Address::parse(&candidate) else { continue };
            parsed += 1;
            assert!(address.as_str().len() <= 254);
            assert!(address.local().len() <= 64);
            assert_eq!(Address::parse(address.as_str()).as_ref(), Ok(&address), "{candidate:?}");
            let path = Address::parse_path(&format!("<{address}>"));
            assert_eq!(path, Ok(Some(address.clone())), "{candidate:?}");
            let _ = address.normalized();
            let _ = address.local_content();
        }
    }
    assert!(parsed > 1000, "only {parsed} inputs parsed: the generator is too hostile to test round trips");
}
