//! Relay domains, roles and classification tables.

use super::{domains, rep};
use crate::address::{
    Address, AddressError, AliasKind, Component, RESERVED, RcptClass, RelayDomain, RelayDomains, Role, classify,
    is_reserved, role,
};

#[test]
fn relay_domains_table() {
    let d = RelayDomains::new(["PPortal.IO", "relay.example", "例子.广告"]).expect("valid");
    assert_eq!(d.primary().as_str(), "pportal.io");
    assert_eq!(d.iter().map(RelayDomain::as_str).collect::<Vec<_>>(), ["pportal.io", "relay.example", "例子.广告"]);
    let cases = [
        ("pportal.io", true),
        ("PPORTAL.IO", true),
        ("Relay.Example", true),
        ("例子.广告", true),
        ("sub.pportal.io", false),
        ("pportal.io.", false),
        ("pportal.iO ", false),
        ("xpportal.io", false),
        ("io", false),
        ("", false),
        ("[192.0.2.1]", false),
        ("example.com", false),
    ];
    for (domain, expected) in cases {
        assert_eq!(d.contains(domain), expected, "{domain:?}");
    }
    assert_eq!(d.get("RELAY.example").map(RelayDomain::as_str), Some("relay.example"));
    assert!(RelayDomains::new(["bücher.de"]).expect("valid").contains("BÜCHER.de"));
}

#[test]
fn relay_domain_errors() {
    let rd = Component::RelayDomain;
    let cases: Vec<(Vec<String>, AddressError)> = vec![
        (vec![], AddressError::NoRelayDomains),
        (vec!["a.io".into(), "A.IO".into()], AddressError::DuplicateRelayDomain { index: 1 }),
        (vec!["[192.0.2.1]".into()], AddressError::UnexpectedChar { component: rd, ch: '[', offset: 0 }),
        (vec!["bad domain".into()], AddressError::UnexpectedChar { component: rd, ch: ' ', offset: 3 }),
        (vec!["".into()], AddressError::Empty { component: rd }),
        (vec!["a..b".into()], AddressError::Label { offset: 2, fault: crate::address::LabelFault::Empty }),
        (vec![super::domain_of_len(190)], AddressError::TooLong { component: rd, len: 190, max: 189 }),
    ];
    for (input, error) in cases {
        assert_eq!(RelayDomains::new(&input), Err(error), "{input:?}");
    }
    assert!(RelayDomains::new([super::domain_of_len(189)]).is_ok());
    assert!(RelayDomain::new(&rep('a', 64)).is_err());
}

#[test]
fn reserved_and_roles() {
    let cases: Vec<(&str, Option<Role>)> = vec![
        ("postmaster", Some(Role::Postmaster)),
        ("PostMaster", Some(Role::Postmaster)),
        ("post.master", Some(Role::Postmaster)),
        ("abuse", Some(Role::Abuse)),
        ("security", Some(Role::Security)),
        ("dns", Some(Role::Hostmaster)),
        ("www", Some(Role::Webmaster)),
        ("noc", Some(Role::Noc)),
        ("Administrator", Some(Role::Admin)),
        ("ssl-admin", Some(Role::Admin)),
        ("MAILER-DAEMON", Some(Role::MailerDaemon)),
        ("no_reply", Some(Role::NoReply)),
        ("do-not-reply", Some(Role::NoReply)),
        ("info", Some(Role::Other)),
        ("support", Some(Role::Other)),
        ("postmasters", None),
        ("post master", None),
        ("bob", None),
        ("pöstmaster", None),
    ];
    for (local, expected) in cases {
        assert_eq!(Role::from_local(local), expected, "{local}");
        assert_eq!(is_reserved(local).is_some(), expected.is_some(), "{local}");
    }
    for name in RESERVED {
        assert!(Role::from_local(name).is_some(), "{name}");
        assert_eq!(name.to_ascii_lowercase(), *name);
    }
    assert!(Role::Postmaster.must_accept() && Role::Abuse.must_accept() && !Role::NoReply.must_accept());
}

#[test]
fn classification_table() {
    let d = domains();
    // The store: one alias and one reverse alias, keyed by the normalized address.
    let store = |key: &str| match key {
        "quiet.otter.42@pportal.io" => Some(AliasKind::Alias),
        "bob.example.k7m2q9x4v8p3t@pportal.io" => Some(AliasKind::ReverseAlias),
        _ => None,
    };
    let cases = [
        ("quiet.otter.42@pportal.io", RcptClass::Alias),
        ("Quiet.Otter.42@PPORTAL.IO", RcptClass::Alias),
        ("bob.example.k7m2q9x4v8p3t@pportal.io", RcptClass::ReverseAlias),
        ("BOB.EXAMPLE.K7M2Q9X4V8P3T@pportal.io", RcptClass::ReverseAlias),
        ("postmaster@pportal.io", RcptClass::Role(Role::Postmaster)),
        ("PostMaster@relay.example", RcptClass::Role(Role::Postmaster)),
        (r#""postmaster"@pportal.io"#, RcptClass::Role(Role::Postmaster)),
        ("abuse@pportal.io", RcptClass::Role(Role::Abuse)),
        ("no-reply@pportal.io", RcptClass::Role(Role::NoReply)),
        ("info@pportal.io", RcptClass::Role(Role::Other)),
        ("loud.otter.42@pportal.io", RcptClass::Unknown),
        ("quiet.otter.42@relay.example", RcptClass::Unknown),
        ("postmaster@example.com", RcptClass::NotRelayDomain),
        ("quiet.otter.42@sub.pportal.io", RcptClass::NotRelayDomain),
        ("quiet.otter.42@[192.0.2.1]", RcptClass::NotRelayDomain),
        ("bob@example.com", RcptClass::NotRelayDomain),
    ];
    for (rcpt, expected) in cases {
        let rcpt = Address::parse(rcpt).expect("valid");
        assert_eq!(classify(&rcpt, &d, store), expected, "{rcpt}");
        let expected_role = match expected {
            RcptClass::Role(r) => Some(r),
            _ => None,
        };
        assert_eq!(role(&rcpt, &d), expected_role, "{rcpt}");
    }
    // The store is not asked about foreign addresses or roles.
    for rcpt in ["bob@example.com", "postmaster@pportal.io"] {
        let rcpt = Address::parse(rcpt).expect("valid");
        let _ = classify(&rcpt, &d, |key| panic!("store asked about {key}"));
    }
    // `<Postmaster>` without a domain is a role at the primary domain.
    let pm = Address::parse_forward_path("<Postmaster>", &d).expect("valid");
    assert_eq!(classify(&pm, &d, store), RcptClass::Role(Role::Postmaster));
}
