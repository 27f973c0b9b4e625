//! `DATA` (RFC 5321 §4.1.1.4): the message, then synchronous delivery.

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{CloseReason, Session, State, Transaction};
use crate::smtp::proto::{DataError, DataReceiver};
use crate::smtp::{Handler, Reply};

impl<T, H> Session<T, H>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    /// Starts receiving the message if the transaction has a recipient.
    pub(super) fn data(&mut self) -> Option<CloseReason> {
        match std::mem::replace(&mut self.state, State::Ready) {
            State::Mail(txn) if !txn.rcpts.is_empty() => {
                let max = self.limits.max_message_size;
                self.state = State::Data(txn, DataReceiver::new(max).with_headroom(max / 2));
                self.deadline = Instant::now() + self.limits.data_timeout;
                self.reply(&Reply::START_DATA);
                None
            }
            State::Mail(txn) => {
                // RFC 5321 §3.3: no recipient was accepted. The transaction stays open, so the
                // client may still add one.
                self.state = State::Mail(txn);
                self.error(&Reply::NO_VALID_RECIPIENTS)
            }
            State::Connected => {
                self.state = State::Connected;
                self.error(&Reply::HELO_FIRST)
            }
            state @ (State::Ready | State::Data(..)) => {
                self.state = state;
                self.error(&Reply::MAIL_FIRST)
            }
        }
    }

    /// The message is complete (or failed): deliver it, or say why not. The transaction ends
    /// either way (§4.1.1.4), and the session waits for the next command.
    pub(super) async fn end_of_data(
        &mut self,
        txn: Transaction,
        message: Result<Vec<u8>, DataError>,
    ) -> io::Result<Option<CloseReason>> {
        self.state = State::Ready;
        let reply = match message {
            Err(e) => {
                info!(error = %e, rcpts = txn.rcpts.len(), "message refused");
                e.reply()
            }
            Ok(message) => {
                // The client waits for this answer anyway; send what is queued before it.
                self.flush().await?;
                let handler = Arc::clone(&self.handler);
                let info = self.info();
                let size = message.len();
                match handler.deliver_with(&info, txn.from.as_ref(), &txn.rcpts, message).await {
                    Ok(()) => {
                        info!(size, rcpts = txn.rcpts.len(), tls = self.tls.is_some(), "message delivered");
                        Reply::DELIVERED
                    }
                    Err(reply) if reply.is_refusal() => {
                        info!(size, rcpts = txn.rcpts.len(), code = reply.code, "message not delivered");
                        reply
                    }
                    Err(reply) => {
                        warn!(code = reply.code, "handler refused a message with a non-error reply; answering 451");
                        Reply::TEMPORARY
                    }
                }
            }
        };
        debug!(code = reply.code, "end of data");
        self.deadline = Instant::now() + self.limits.command_timeout;
        self.reply(&reply);
        Ok(None)
    }
}
