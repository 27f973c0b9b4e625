//! MX delivery: which hosts take mail for the recipient's domain (RFC 5321 §5.1), looked up
//! with hickory-resolver.
//!
//! ```text
//!   domain ──MX──► records ──► "." only (RFC 7505 null MX)   → permanent 556 5.1.10
//!      │              └──────► sorted by preference (ties shuffled) → try each in order
//!      ├─ NOERROR, no MX ──A/AAAA──► the domain itself (the implicit MX)
//!      │                     └─────► none → permanent 550 5.1.2
//!      ├─ NXDOMAIN → permanent 550 5.1.2
//!      └─ timeout, SERVFAIL, ... → temporary 451 4.4.3 (the sender retries)
//! ```
//!
//! Error texts never name the domain or the MX hosts: they go back to the sender, and the
//! recipient's domain may be the real mailbox's (the names are logged at debug level only).

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use hickory_resolver::{
    TokioResolver,
    config::{NameServerConfig, ResolverConfig},
    net::{DnsError, NetError, NoRecords, runtime::TokioRuntimeProvider},
    proto::{
        op::ResponseCode,
        rr::{Name, RData},
    },
};

use super::{HopError, SetupError};

/// The port MX hosts listen on.
pub const SMTP_PORT: u16 = 25;

/// How MX delivery finds hosts: a resolver and the port to connect to.
#[derive(Clone)]
pub struct MxLookup {
    resolver: TokioResolver,
    port: u16,
}

impl core::fmt::Debug for MxLookup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MxLookup").field("port", &self.port).finish_non_exhaustive()
    }
}

/// One host to try, in order.
#[derive(Clone, Debug)]
pub(super) struct MxHost {
    /// The exchange's name, or the domain itself for the implicit MX (TLS server name).
    pub(super) name: String,
    /// Addresses already known (the implicit MX); empty: resolve `name` when dialling.
    pub(super) addrs: Vec<SocketAddr>,
}

impl MxLookup {
    /// A lookup through `dns_server` (one nameserver, UDP and TCP on its port) or, if `None`,
    /// the system's resolver configuration (`/etc/resolv.conf`). Each DNS query waits at most
    /// `timeout`, twice. MX hosts are dialled on `port` (25 outside tests).
    ///
    /// # Errors
    /// [`SetupError::Dns`] if the system configuration cannot be read or the resolver not built.
    pub fn new(dns_server: Option<SocketAddr>, port: u16, timeout: Duration) -> Result<Self, SetupError> {
        let mut builder = match dns_server {
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![ns]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio().map_err(|e| SetupError::Dns(e.to_string()))?,
        };
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = 2;
        let resolver = builder.build().map_err(|e| SetupError::Dns(e.to_string()))?;
        Ok(MxLookup { resolver, port })
    }

    /// The port MX hosts are dialled on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The hosts for `domain`, best first.
    pub(super) async fn hosts(&self, domain: &str) -> Result<Vec<MxHost>, HopError> {
        if domain.starts_with('[') {
            return Err(HopError::Permanent("550 5.1.2 address literals are not delivered".into()));
        }
        let fqdn = Name::from_utf8(format!("{}.", domain.trim_end_matches('.')))
            .map_err(|_| HopError::Permanent("550 5.1.2 invalid recipient domain".into()))?;
        match self.resolver.mx_lookup(fqdn.clone()).await {
            Ok(lookup) => {
                let mut records: Vec<(u16, u32, Name)> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some((mx.preference, 0, mx.exchange.clone())),
                        _ => None,
                    })
                    .collect();
                if records.is_empty() {
                    return self.implicit(fqdn).await;
                }
                // RFC 7505 §3: a null MX ("." ) says the domain takes no mail.
                records.retain(|(_, _, name)| !name.is_root());
                if records.is_empty() {
                    return Err(HopError::Permanent(
                        "556 5.1.10 recipient domain does not accept mail (null MX)".into(),
                    ));
                }
                shuffle_ties(&mut records);
                tracing::debug!(domain, hosts = ?records.iter().map(|r| r.2.to_string()).collect::<Vec<_>>(), "MX");
                Ok(records.into_iter().map(|(_, _, n)| MxHost { name: n.to_ascii(), addrs: Vec::new() }).collect())
            }
            Err(e) if no_data(&e) => self.implicit(fqdn).await,
            Err(e) => Err(dns_error(&e)),
        }
    }

    /// RFC 5321 §5.1: no MX records, so the domain's own address is the mail exchanger.
    async fn implicit(&self, fqdn: Name) -> Result<Vec<MxHost>, HopError> {
        tracing::debug!(domain = %fqdn, "no MX records: the implicit MX");
        let addrs = self.addresses(fqdn.clone()).await?;
        if addrs.is_empty() {
            return Err(no_exchanger());
        }
        Ok(vec![MxHost { name: fqdn.to_ascii(), addrs }])
    }

    /// The addresses of an MX host, on our port.
    pub(super) async fn addresses(&self, name: Name) -> Result<Vec<SocketAddr>, HopError> {
        match self.resolver.lookup_ip(name).await {
            Ok(ips) => Ok(ips.iter().map(|ip: IpAddr| SocketAddr::new(ip, self.port)).collect()),
            Err(e) if no_data(&e) => Err(no_exchanger()),
            Err(e) => Err(dns_error(&e)),
        }
    }

    /// The addresses of an exchange named in an MX record.
    pub(super) async fn resolve(&self, host: &MxHost) -> Result<Vec<SocketAddr>, HopError> {
        if !host.addrs.is_empty() {
            return Ok(host.addrs.clone());
        }
        let name = Name::from_ascii(format!("{}.", host.name.trim_end_matches('.')))
            .map_err(|_| HopError::Temporary("451 4.4.3 invalid mail exchanger name".into()))?;
        match self.addresses(name).await {
            // An MX naming a host without addresses is a broken zone, maybe mid-change.
            Err(HopError::Permanent(_)) => Err(HopError::Temporary("451 4.4.3 mail exchanger has no address".into())),
            other => other,
        }
    }
}

/// NOERROR with no records of the type asked for.
fn no_data(e: &NetError) -> bool {
    matches!(e, NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code: ResponseCode::NoError, .. })))
}

fn no_exchanger() -> HopError {
    HopError::Permanent("550 5.1.2 recipient domain has no mail exchanger".into())
}

fn dns_error(e: &NetError) -> HopError {
    if e.is_nx_domain() {
        return HopError::Permanent("550 5.1.2 recipient domain does not exist".into());
    }
    tracing::debug!("DNS lookup failed: {e}");
    let why = match e {
        NetError::Timeout => "timed out",
        NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => response_code.to_str(),
        _ => "failed",
    };
    HopError::Temporary(format!("451 4.4.3 DNS lookup {why}"))
}

/// Sorts by preference; hosts of equal preference in random order (RFC 5321 §5.1).
fn shuffle_ties(records: &mut [(u16, u32, Name)]) {
    let mut random = vec![0u8; records.len() * 4];
    if getrandom::fill(&mut random).is_ok() {
        for (r, bytes) in records.iter_mut().zip(random.chunks_exact(4)) {
            r.1 = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
    }
    records.sort_by_key(|r| (r.0, r.1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_orders_and_ties_stay_together() {
        let n = |s: &str| Name::from_ascii(s).unwrap_or_default();
        let mut r = vec![(20, 0, n("c.")), (10, 0, n("a.")), (10, 0, n("b.")), (5, 0, n("z."))];
        shuffle_ties(&mut r);
        let names: Vec<String> = r.iter().map(|x| x.2.to_ascii()).collect();
        assert_eq!(names[0], "z.");
        assert!(names[1..3].contains(&"a.".to_string()) && names[1..3].contains(&"b.".to_string()));
        assert_eq!(names[3], "c.");
    }
}
