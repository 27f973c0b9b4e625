//! Test support for the next-hop tests: an SMTP sink on a loopback port that can offer
//! STARTTLS (tokio-rustls with an rcgen certificate) and AUTH, and records what it saw and how
//! (in clear or under TLS); and a tiny authoritative DNS responder on loopback UDP, built from
//! hickory-proto's message types. Included by `delivery_tls.rs` and `delivery_mx.rs` as a
//! module; built on its own it is an empty test crate.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use base64ct::{Base64, Encoding};
use hickory_resolver::proto::{
    op::{Message, MessageType, OpCode, ResponseCode},
    rr::{
        Name, RData, Record, RecordType,
        rdata::{A, MX},
    },
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::{TcpListener, UdpSocket},
};
use tokio_rustls::TlsAcceptor;

/// A certificate for the sink and the CA that issued it.
pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    pub(crate) server: Arc<ServerConfig>,
}

/// A CA and a server certificate it issued for `names` (DNS names or IP addresses).
pub(crate) fn pki(names: &[&str]) -> Pki {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "mailrelay test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let cert = CertificateParams::new(names).unwrap().signed_by(&key, &ca).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Pki { ca_pem: ca.pem(), server: server_config(cert.der().clone(), key) }
}

/// A self-signed certificate that no root trusts.
pub(crate) fn self_signed(names: &[&str]) -> Arc<ServerConfig> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let ck = rcgen::generate_simple_self_signed(names).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    server_config(ck.cert.der().clone(), key)
}

fn server_config(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    Arc::new(config)
}

/// Writes the CA of `pki` to `dir/ca.pem`.
pub(crate) fn write_ca(dir: &Path, pki: &Pki) -> PathBuf {
    let path = dir.join("ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    path
}

/// How the sink behaves.
#[derive(Clone)]
pub(crate) struct SinkConfig {
    /// The greeting line.
    pub(crate) greeting: &'static str,
    /// Offer STARTTLS with this server configuration.
    pub(crate) starttls: Option<Arc<ServerConfig>>,
    /// Answer 220 to STARTTLS, then close instead of a handshake.
    pub(crate) broken_tls: bool,
    /// Offer STARTTLS but answer it 454 (RFC 3207: TLS not available).
    pub(crate) refuse_starttls: bool,
    /// The credentials accepted; AUTH is offered (and required for MAIL) when set.
    pub(crate) auth: Option<(&'static str, &'static str)>,
    /// The mechanisms offered.
    pub(crate) mechanisms: &'static str,
    /// Offer AUTH before TLS as well.
    pub(crate) auth_in_clear: bool,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            greeting: "220 sink ESMTP",
            starttls: None,
            broken_tls: false,
            refuse_starttls: false,
            auth: None,
            mechanisms: "PLAIN LOGIN",
            auth_in_clear: false,
        }
    }
}

/// One AUTH attempt.
#[derive(Clone, Debug)]
pub(crate) struct AuthSeen {
    pub(crate) tls: bool,
    pub(crate) mechanism: String,
    pub(crate) user: String,
    pub(crate) ok: bool,
}

/// One message.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) tls: bool,
    pub(crate) user: Option<String>,
    pub(crate) rcpt: String,
    pub(crate) data: Vec<u8>,
}

/// What the sink saw.
#[derive(Default, Debug)]
pub(crate) struct Seen {
    pub(crate) connections: usize,
    pub(crate) handshake_failures: usize,
    /// Every line received in clear (commands, and AUTH continuation lines).
    pub(crate) clear: Vec<String>,
    /// Every line received under TLS.
    pub(crate) secure: Vec<String>,
    pub(crate) auth: Vec<AuthSeen>,
    pub(crate) messages: Vec<Received>,
}

impl Seen {
    /// True if a line starting with `prefix` (case-insensitive) was sent in clear.
    pub(crate) fn in_clear(&self, prefix: &str) -> bool {
        self.clear.iter().any(|l| l.to_ascii_uppercase().starts_with(&prefix.to_ascii_uppercase()))
    }
}

/// A sink on `127.0.0.1`, on a port of its own.
pub(crate) async fn sink(config: SinkConfig) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, sink_on(listener, config))
}

/// A sink on `listener`.
pub(crate) fn sink_on(listener: TcpListener, config: SinkConfig) -> Arc<Mutex<Seen>> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            s.lock().unwrap().connections += 1;
            let (s, config) = (s.clone(), config.clone());
            tokio::spawn(async move {
                let mut r = BufReader::new(stream);
                if r.get_mut().write_all(format!("{}\r\n", config.greeting).as_bytes()).await.is_err()
                    || !config.greeting.starts_with('2')
                {
                    return;
                }
                if let Next::StartTls = session(&mut r, false, &config, &s).await {
                    let tcp = r.into_inner();
                    if config.broken_tls {
                        return;
                    }
                    let acceptor = TlsAcceptor::from(config.starttls.clone().unwrap());
                    match acceptor.accept(tcp).await {
                        Ok(tls) => {
                            session(&mut BufReader::new(tls), true, &config, &s).await;
                        }
                        Err(_) => s.lock().unwrap().handshake_failures += 1,
                    }
                }
            });
        }
    });
    seen
}

enum Next {
    Quit,
    StartTls,
}

async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    r: &mut BufReader<S>,
    tls: bool,
    seen: &Mutex<Seen>,
) -> Option<String> {
    let mut line = String::new();
    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
        return None;
    }
    let line = line.trim_end().to_owned();
    let mut s = seen.lock().unwrap();
    if tls {
        s.secure.push(line.clone())
    } else {
        s.clear.push(line.clone())
    }
    Some(line)
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    r: &mut BufReader<S>,
    tls: bool,
    config: &SinkConfig,
    seen: &Mutex<Seen>,
) -> Next {
    let mut user: Option<String> = None;
    let mut rcpt = String::new();
    while let Some(cmd) = read_line(r, tls, seen).await {
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            let mut lines = vec!["sink".to_string()];
            if !tls && config.starttls.is_some() {
                lines.push("STARTTLS".into());
            }
            if config.auth.is_some() && (tls || config.auth_in_clear) {
                lines.push(format!("AUTH {}", config.mechanisms));
            }
            lines.push("PIPELINING".into());
            let n = lines.len();
            lines.iter().enumerate().map(|(i, l)| format!("250{}{l}\r\n", if i + 1 == n { ' ' } else { '-' })).collect()
        } else if upper == "STARTTLS" && config.refuse_starttls {
            "454 4.7.0 TLS not available due to temporary reason\r\n".into()
        } else if upper == "STARTTLS" && !tls && config.starttls.is_some() {
            r.get_mut().write_all(b"220 2.0.0 ready\r\n").await.unwrap();
            return Next::StartTls;
        } else if upper.starts_with("AUTH ") {
            let (mechanism, user_pass) = auth_exchange(r, tls, seen, &cmd).await;
            let ok = config.auth.is_some_and(|(u, p)| user_pass == (u.to_owned(), p.to_owned()));
            seen.lock().unwrap().auth.push(AuthSeen { tls, mechanism, user: user_pass.0.clone(), ok });
            if ok {
                user = Some(user_pass.0);
                "235 2.7.0 authenticated\r\n".into()
            } else {
                "535 5.7.8 authentication credentials invalid\r\n".into()
            }
        } else if upper.starts_with("MAIL") && config.auth.is_some() && user.is_none() {
            "530 5.7.0 authentication required\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            rcpt = cmd["RCPT TO:".len()..].trim_matches(['<', '>']).to_owned();
            "250 2.1.5 ok\r\n".into()
        } else if upper == "DATA" {
            r.get_mut().write_all(b"354 go ahead\r\n").await.unwrap();
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                    return Next::Quit;
                }
                if l == b".\r\n" {
                    break;
                }
                data.extend_from_slice(if l.starts_with(b"..") { &l[1..] } else { &l });
            }
            let message = Received { tls, user: user.clone(), rcpt: rcpt.clone(), data };
            seen.lock().unwrap().messages.push(message);
            "250 2.0.0 queued\r\n".into()
        } else if upper == "QUIT" {
            let _ = r.get_mut().write_all(b"221 bye\r\n").await;
            return Next::Quit;
        } else {
            "250 ok\r\n".into()
        };
        if r.get_mut().write_all(reply.as_bytes()).await.is_err() {
            break;
        }
    }
    Next::Quit
}

/// Runs PLAIN or LOGIN; returns the mechanism and the user and password given.
async fn auth_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    r: &mut BufReader<S>,
    tls: bool,
    seen: &Mutex<Seen>,
    cmd: &str,
) -> (String, (String, String)) {
    let mut words = cmd.split_ascii_whitespace().skip(1);
    let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
    let initial = words.next().map(str::to_owned);
    let decode = |b64: &str| String::from_utf8(Base64::decode_vec(b64).unwrap_or_default()).unwrap_or_default();
    match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(i) => i,
                None => {
                    r.get_mut().write_all(b"334 \r\n").await.unwrap();
                    read_line(r, tls, seen).await.unwrap_or_default()
                }
            };
            let raw = decode(&response);
            let mut parts = raw.split('\0').skip(1);
            let user = parts.next().unwrap_or_default().to_owned();
            (mechanism, (user, parts.next().unwrap_or_default().to_owned()))
        }
        "LOGIN" => {
            r.get_mut().write_all(b"334 VXNlcm5hbWU6\r\n").await.unwrap();
            let user = decode(&read_line(r, tls, seen).await.unwrap_or_default());
            r.get_mut().write_all(b"334 UGFzc3dvcmQ6\r\n").await.unwrap();
            let password = decode(&read_line(r, tls, seen).await.unwrap_or_default());
            (mechanism, (user, password))
        }
        _ => (mechanism, (String::new(), String::new())),
    }
}

/// A zone for the DNS responder: names (lower case, with the final dot) and their records.
/// A name not in the zone is NXDOMAIN; a name without records of the type asked is NODATA.
#[derive(Default, Clone)]
pub(crate) struct Zone {
    records: HashMap<String, Vec<RData>>,
}

impl Zone {
    /// An MX record.
    pub(crate) fn mx(mut self, domain: &str, preference: u16, exchange: &str) -> Self {
        let rdata = RData::MX(MX::new(preference, Name::from_ascii(exchange).unwrap()));
        self.records.entry(domain.to_ascii_lowercase()).or_default().push(rdata);
        self
    }

    /// An A record.
    pub(crate) fn a(mut self, name: &str, ip: &str) -> Self {
        let IpAddr::V4(v4) = ip.parse().unwrap() else { panic!("IPv4 only") };
        self.records.entry(name.to_ascii_lowercase()).or_default().push(RData::A(A(v4)));
        self
    }

    /// A name that exists with no records (so NODATA rather than NXDOMAIN).
    pub(crate) fn exists(mut self, name: &str) -> Self {
        self.records.entry(name.to_ascii_lowercase()).or_default();
        self
    }

    fn answer(&self, query: &Message) -> Message {
        let mut response = Message::response(query.metadata.id, OpCode::Query);
        response.metadata.authoritative = true;
        response.metadata.recursion_desired = query.metadata.recursion_desired;
        response.metadata.message_type = MessageType::Response;
        let Some(q) = query.queries.first() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        };
        response.add_query(q.clone());
        let name = q.name().to_ascii().to_ascii_lowercase();
        match self.records.get(&name) {
            None => response.metadata.response_code = ResponseCode::NXDomain,
            Some(records) => {
                for rdata in
                    records.iter().filter(|r| r.record_type() == q.query_type() || q.query_type() == RecordType::ANY)
                {
                    response.add_answer(Record::from_rdata(q.name().clone(), 60, rdata.clone()));
                }
            }
        }
        response
    }
}

/// Serves `zone` on a UDP port of 127.0.0.1; returns its address.
pub(crate) async fn dns(zone: Zone) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else { return };
            let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
            let bytes = zone.answer(&query).to_vec().unwrap();
            let _ = socket.send_to(&bytes, from).await;
        }
    });
    addr
}

/// A UDP port that receives queries and never answers.
pub(crate) async fn silent_dns() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while socket.recv_from(&mut buf).await.is_ok() {}
    });
    addr
}
