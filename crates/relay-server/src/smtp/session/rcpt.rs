//! `RCPT TO` (RFC 5321 §4.1.1.3): one recipient, checked by the handler, one destination per
//! transaction.

use std::sync::Arc;

use relay_engine::address::Address;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, warn};

use super::{CloseReason, Session, State};
use crate::smtp::proto::ForwardPath;
use crate::smtp::{Handler, Reply};

impl<T, H> Session<T, H>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    /// Asks the handler about the recipient and adds it to the transaction if it is accepted
    /// and needs the same destination as the recipients before it.
    ///
    /// A repeated recipient is acknowledged again without asking the handler. Permanent
    /// refusals count as errors (they bound alias probing); temporary ones do not.
    pub(super) async fn rcpt(&mut self, to: ForwardPath) -> Option<CloseReason> {
        let handler = Arc::clone(&self.handler);
        let txn = match &mut self.state {
            State::Mail(txn) => txn,
            State::Connected => return self.error(&Reply::HELO_FIRST),
            State::Ready | State::Data(..) => return self.error(&Reply::MAIL_FIRST),
        };
        let rcpt = match to {
            ForwardPath::Postmaster => Address::postmaster(handler.domains().primary()),
            ForwardPath::Mailbox(address) => address,
        };
        if !rcpt.is_ascii() && !txn.params.smtputf8 {
            return self.error(&Reply::NEEDS_SMTPUTF8);
        }
        if txn.rcpts.contains(&rcpt) {
            self.reply(&Reply::RECIPIENT_OK);
            return None;
        }
        if txn.rcpts.len() >= self.limits.max_recipients {
            self.reply(&Reply::TOO_MANY_RECIPIENTS);
            return None;
        }
        let refusal = match handler.check_rcpt(txn.from.as_ref(), &rcpt).await {
            Ok(dest) => match &txn.destination {
                Some(first) if *first != dest => {
                    debug!(rcpt = rcpt.as_str(), "second destination");
                    Some(Reply::ONE_DESTINATION)
                }
                _ => {
                    debug!(rcpt = rcpt.as_str(), "recipient accepted");
                    txn.destination.get_or_insert(dest);
                    txn.rcpts.push(rcpt);
                    None
                }
            },
            Err(reply) if reply.is_refusal() => {
                debug!(rcpt = rcpt.as_str(), code = reply.code, "recipient refused");
                if reply.is_permanent() {
                    return self.error(&reply);
                }
                Some(reply)
            }
            Err(reply) => {
                warn!(code = reply.code, "handler refused a recipient with a non-error reply; answering 451");
                Some(Reply::TEMPORARY)
            }
        };
        self.reply(refusal.as_ref().unwrap_or(&Reply::RECIPIENT_OK));
        None
    }
}
