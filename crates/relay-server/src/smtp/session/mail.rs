//! `MAIL FROM` (RFC 5321 §4.1.1.2): opens a transaction.

use relay_engine::address::Address;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use super::{CloseReason, Session, State, Transaction};
use crate::smtp::proto::MailParams;
use crate::smtp::{Handler, MemoryBudget, Reply};

impl<T, H> Session<T, H>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    /// Checks the sequence, the parameters and the declared size, then opens the transaction.
    /// The sender itself is not judged here: the handler sees it with each recipient.
    pub(super) fn mail(&mut self, from: Option<Address>, params: MailParams) -> Option<CloseReason> {
        match self.state {
            State::Connected => return self.error(&Reply::HELO_FIRST),
            State::Mail(_) | State::Data(..) => return self.error(&Reply::NESTED_MAIL),
            State::Ready => {}
        }
        if self.submission && self.submitter.is_none() {
            return self.error(&Reply::AUTH_REQUIRED);
        }
        if self.transactions >= self.limits.max_transactions {
            debug!(transactions = self.transactions, "transaction limit");
            self.reply(&Reply::TOO_MANY_TRANSACTIONS);
            return Some(CloseReason::SessionLimit);
        }
        if !self.message_allowed() {
            debug!("message rate of the client's network spent");
            self.reply(&Reply::TOO_MANY_MESSAGES_FROM_IP);
            return None;
        }
        if !self.esmtp && !params.is_empty() {
            // ESMTP parameters need EHLO (RFC 5321 §4.1.1.2, §2.2.1).
            return self.error(&Reply::UNKNOWN_PARAMETER);
        }
        let max = u64::try_from(self.limits.max_message_size).unwrap_or(u64::MAX);
        if params.size.is_some_and(|size| size > max) {
            debug!(declared = params.size, max, "declared size too big");
            self.reply(&Reply::MESSAGE_TOO_BIG);
            return None;
        }
        if params.size.is_some_and(|size| {
            usize::try_from(size).unwrap_or(usize::MAX).saturating_mul(MemoryBudget::COST) > self.budget.available()
        }) {
            debug!(declared = params.size, "declared size does not fit the memory budget now");
            self.reply(&Reply::INSUFFICIENT_STORAGE);
            return None;
        }
        if from.as_ref().is_some_and(|a| !a.is_ascii()) && !params.smtputf8 {
            return self.error(&Reply::NEEDS_SMTPUTF8);
        }
        debug!(from = from.as_ref().map(Address::as_str), "sender");
        self.transactions += 1;
        self.state = State::Mail(Transaction { from, params, rcpts: Vec::new(), destination: None });
        self.reply(&Reply::SENDER_OK);
        None
    }
}
