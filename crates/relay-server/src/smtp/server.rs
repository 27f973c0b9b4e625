//! The accept loop: [`serve`] and [`serve_tls`], connection limits, graceful shutdown.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use relay_engine::rate::TokenBuckets;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{Instrument, debug, debug_span, error, info, warn};

use super::{Handler, Limits, Reply, Session};

/// How long the loop pauses after a failed `accept` (out of file descriptors, say), so that it
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Runs the SMTP server on `listener` without TLS: [`serve_tls`] with no acceptor.
pub async fn serve<H>(listener: TcpListener, handler: Arc<H>, limits: Limits, shutdown: watch::Receiver<bool>)
where
    H: Handler + 'static,
{
    serve_tls(listener, handler, limits, None, shutdown).await;
}

/// Runs the SMTP server on `listener` until `shutdown` becomes `true` (or its sender is
/// dropped), then returns once every session has ended.
///
/// - With `tls`, every session offers `STARTTLS` with that acceptor ([`Session::with_tls`]). A
///   handshake is bounded by [`Limits::command_timeout`]; one that fails closes its connection,
///   which gives its place back.
/// - Each connection gets a [`Session`] with `handler` and `limits`, in its own task.
/// - Connections beyond [`Limits::max_connections`] in total, or
///   [`Limits::max_connections_per_ip`] from one IPv4 address or IPv6 /64, are answered
///   [`Reply::TOO_MANY_CONNECTIONS`] or [`Reply::TOO_MANY_CONNECTIONS_FROM_IP`] (421 4.7.0) and
///   closed.
/// - On shutdown the listener is closed at once; sessions waiting for a command answer
///   [`Reply::SHUTTING_DOWN`] (421 4.3.2) and close; a session receiving or delivering a
///   message finishes it, gives its reply, and then says 421. Sessions are bounded by their
///   timeouts, so this ends.
pub async fn serve_tls<H>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: watch::Receiver<bool>,
) where
    H: Handler + 'static,
{
    serve_with(listener, handler, limits, tls, false, shutdown).await;
}

/// Runs the submission listener (RFC 6409, port 587) on `listener`: as [`serve_tls`], with
/// every session a [`Session::submission`] one: `STARTTLS`, then `AUTH` (checked by
/// [`Handler::authenticate`]), then mail.
pub async fn serve_submission<H>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    tls: TlsAcceptor,
    shutdown: watch::Receiver<bool>,
) where
    H: Handler + 'static,
{
    serve_with(listener, handler, limits, Some(tls), true, shutdown).await;
}

async fn serve_with<H>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    submission: bool,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Handler + 'static,
{
    let connections = Arc::new(Mutex::new(Connections::default()));
    let budget = Arc::new(super::MemoryBudget::new(limits.memory_budget));
    let message_rate = Arc::new(TokenBuckets::new(limits.message_rate_per_ip));
    let connection_rate = TokenBuckets::new(limits.connection_rate_per_ip);
    let mut sessions = JoinSet::new();
    info!(addr = ?listener.local_addr().ok(), starttls = tls.is_some(), submission, "SMTP server listening");
    loop {
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break,
            Some(ended) = sessions.join_next() => log_join(ended),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if !connection_rate.take(&client_key(peer.ip()), super::session::monotonic_ms()) {
                        debug!("connection rate of the client's network spent");
                        let _sent = stream.try_write(&Reply::TOO_MANY_CONNECTIONS_FROM_IP.to_wire());
                        continue;
                    }
                    let Some(guard) = Connections::admit(&connections, peer.ip(), &limits, &stream) else {
                        continue;
                    };
                    let mut session = Session::new(stream, Arc::clone(&handler), limits.clone(), shutdown.clone())
                        .with_budget(Arc::clone(&budget))
                        .with_message_rate(Arc::clone(&message_rate), client_key(peer.ip()));
                    if let Some(acceptor) = &tls {
                        session = session.with_tls(acceptor.clone());
                    }
                    if submission {
                        session = session.submission();
                    }
                    sessions.spawn(run_session(session, guard).instrument(debug_span!("smtp", peer = %peer)));
                }
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    info!(sessions = sessions.len(), "SMTP server shutting down; waiting for open sessions");
    while let Some(ended) = sessions.join_next().await {
        log_join(ended);
    }
    info!("SMTP server stopped");
}

async fn run_session<H: Handler>(session: Session<TcpStream, H>, guard: ConnectionGuard) {
    match session.run().await {
        Ok(reason) => debug!(?reason, "session closed"),
        Err(e) => debug!(error = %e, "session ended with an I/O error"),
    }
    drop(guard);
}

fn log_join(ended: Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended {
        error!(error = %e, "SMTP session task failed");
    }
}

/// Returns when `rx` holds `true` or its sender is gone.
pub(super) async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Open connections, in total and per client network.
#[derive(Debug, Default)]
struct Connections {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

impl Connections {
    /// Counts a new connection, or answers it 421 and closes it if it is over a limit.
    fn admit(this: &Arc<Mutex<Self>>, ip: IpAddr, limits: &Limits, stream: &TcpStream) -> Option<ConnectionGuard> {
        let key = client_key(ip);
        let refusal = {
            let mut c = this.lock().unwrap_or_else(PoisonError::into_inner);
            let from_ip = c.per_ip.get(&key).copied().unwrap_or(0);
            if c.total >= limits.max_connections {
                Some(Reply::TOO_MANY_CONNECTIONS)
            } else if from_ip >= limits.max_connections_per_ip {
                Some(Reply::TOO_MANY_CONNECTIONS_FROM_IP)
            } else {
                c.total += 1;
                c.per_ip.insert(key, from_ip + 1);
                None
            }
        };
        if let Some(reply) = refusal {
            debug!(code = reply.code, "connection refused: {}", reply.text);
            // A fresh socket's send buffer is empty, so this never blocks the accept loop. The
            // stream is closed when the caller drops it.
            let _sent = stream.try_write(&reply.to_wire());
            return None;
        }
        let _nodelay = stream.set_nodelay(true);
        Some(ConnectionGuard { connections: Arc::clone(this), key })
    }
}

/// Gives a connection's place back when its session ends (or its task panics).
struct ConnectionGuard {
    connections: Arc<Mutex<Connections>>,
    key: IpAddr,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut c = self.connections.lock().unwrap_or_else(PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.key);
            }
        }
    }
}

/// The key a client is counted under: its IPv4 address (also when IPv4-mapped), or the /64 of
/// its IPv6 address, since one IPv6 host usually has a whole /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys() {
        let cases = [
            ("192.0.2.7", "192.0.2.7"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
            ("2001:db8:1:2:ffff::1", "2001:db8:1:2::"),
            ("::1", "::"),
        ];
        for (ip, key) in cases {
            assert_eq!(client_key(ip.parse().unwrap()), key.parse::<IpAddr>().unwrap(), "{ip}");
        }
    }
}
