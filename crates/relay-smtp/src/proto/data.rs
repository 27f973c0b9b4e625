//! The message after `DATA` (RFC 5321 §4.1.1.4 and §4.5.2).
//!
//! The content is a sequence of lines ending in CRLF, terminated by a line holding only `.`; a
//! line that starts with `.` has had one more `.` put in front of it by the client
//! ("dot-stuffing"), which comes off here. The `CRLF` that ends the `DATA` command counts as the
//! first `CRLF` of `CRLF.CRLF`, so `DATA\r\n.\r\n` is an empty message.

use core::fmt;

use super::Receive;

/// Where the receiver is within the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line (after CRLF, or at the very start).
    LineStart,
    /// Inside a line.
    Mid,
    /// After a CR inside a line.
    Cr,
    /// After a `.` at the start of a line.
    Dot,
    /// After `.` CR at the start of a line: one LF more ends the message.
    DotCr,
}

/// Why a message was refused. The receiver still read it to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataError {
    /// The message is larger than the cap (552 5.3.4).
    TooBig {
        /// Octets received, after un-dot-stuffing.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The message has a bare LF or a bare CR (554 5.6.0).
    BareLineEnding,
    /// The server ran out of room for messages in flight and stopped keeping this one
    /// ([`DataReceiver::abandon`]); 452 4.3.1, the client retries later.
    OverBudget,
}

impl DataError {
    /// The reply for this error.
    #[must_use]
    pub fn reply(&self) -> crate::Reply {
        match self {
            Self::TooBig { .. } => crate::Reply::MESSAGE_TOO_BIG,
            Self::BareLineEnding => crate::Reply::BARE_LINE_ENDING,
            Self::OverBudget => crate::Reply::INSUFFICIENT_STORAGE,
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooBig { size, max } => write!(f, "message of at least {size} octets, more than {max}"),
            Self::BareLineEnding => f.write_str("message contains a bare CR or LF"),
            Self::OverBudget => f.write_str("no room for the message in memory"),
        }
    }
}

impl std::error::Error for DataError {}

/// Octets after which a [`DataReceiver`] reserves room for the largest message (see
/// [`DataReceiver::with_headroom`]).
pub const LARGE_MESSAGE: usize = 1024 * 1024;

/// Receives one message: un-dot-stuffs it, finds its end, and enforces the size cap.
///
/// The result is the message as sent, CRLF line endings and all, with the final CRLF of its last
/// line and without the terminating `.` line. After a [`DataError`] the receiver still reads to
/// the end of the data before it answers, so the client and server stay in step; past the cap it
/// only counts octets, it does not keep them.
#[derive(Clone, Debug)]
pub struct DataReceiver {
    state: State,
    message: Vec<u8>,
    size: usize,
    max_size: usize,
    headroom: usize,
    too_big: bool,
    bare: bool,
    abandoned: bool,
}

impl DataReceiver {
    /// A receiver for a message of at most `max_size` octets (after un-dot-stuffing).
    #[must_use]
    pub fn new(max_size: usize) -> Self {
        DataReceiver {
            state: State::LineStart,
            message: Vec::new(),
            size: 0,
            max_size,
            headroom: 0,
            too_big: false,
            bare: false,
            abandoned: false,
        }
    }

    /// Once a message passes [`LARGE_MESSAGE`] octets, room for the largest message plus
    /// `headroom` is reserved at once, so the message never moves again while it grows, and
    /// whoever takes it can grow it by `headroom` in place (the relay signs, encrypts and
    /// base64-encodes a forward in it: 40% more). Reserving is not using: an allocator maps a
    /// block this large lazily, and only the pages written take memory. Without it, each
    /// doubling of the vector copies the message, and the old and new blocks exist at once.
    #[must_use]
    pub fn with_headroom(mut self, headroom: usize) -> Self {
        self.headroom = headroom;
        self
    }

    /// Stops keeping the message: what came is dropped, the rest is only read to its end, and
    /// the result is [`DataError::OverBudget`] (unless it is too big anyway).
    pub fn abandon(&mut self) {
        self.abandoned = true;
        self.message = Vec::new();
    }

    /// Where the message is kept (tests check that it does not move).
    #[cfg(test)]
    pub(crate) fn buffer_ptr(&self) -> *const u8 {
        self.message.as_ptr()
    }

    /// Octets of message received so far (after un-dot-stuffing).
    #[must_use]
    pub fn size(&self) -> usize {
        self.size
    }

    /// Takes bytes from the front of `input` up to the end of the message (`CRLF.CRLF`).
    ///
    /// Returns [`Receive::NeedsMoreData`] after taking all of `input` if the message did not end
    /// in it. Once it returned [`Receive::Ready`] the receiver is spent; make a new one for the
    /// next message.
    pub fn ingest(&mut self, input: &mut &[u8]) -> Receive<Result<Vec<u8>, DataError>> {
        let bytes = *input;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match self.state {
                State::LineStart if b == b'.' => {
                    self.state = State::Dot;
                    i += 1;
                }
                State::LineStart | State::Mid => {
                    let rest = bytes.get(i..).unwrap_or_default();
                    let n = rest.iter().position(|&c| c == b'\r' || c == b'\n').unwrap_or(rest.len());
                    if n > 0 {
                        self.push(rest.get(..n).unwrap_or_default());
                        self.state = State::Mid;
                        i += n;
                        continue;
                    }
                    if b == b'\r' {
                        self.state = State::Cr;
                    } else {
                        self.bare = true;
                        self.push(b"\n");
                        self.state = State::Mid;
                    }
                    i += 1;
                }
                State::DotCr if b == b'\n' => {
                    *input = bytes.get(i + 1..).unwrap_or_default();
                    return Receive::Ready(self.finish());
                }
                State::Cr if b == b'\n' => {
                    self.push(b"\r\n");
                    self.state = State::LineStart;
                    i += 1;
                }
                State::Cr | State::DotCr => {
                    // A bare CR; the byte after it is read as part of the line.
                    self.bare = true;
                    self.push(b"\r");
                    self.state = State::Mid;
                }
                State::Dot if b == b'\r' => {
                    self.state = State::DotCr;
                    i += 1;
                }
                State::Dot => {
                    // A dot-stuffed line: the leading dot comes off, the rest is read as usual.
                    self.state = State::Mid;
                }
            }
        }
        *input = &[];
        Receive::NeedsMoreData
    }

    fn push(&mut self, bytes: &[u8]) {
        self.size = self.size.saturating_add(bytes.len());
        if self.too_big {
            return;
        }
        if self.size > self.max_size {
            self.too_big = true;
            self.message = Vec::new();
        } else if !self.abandoned {
            let len = self.message.len();
            if len >= LARGE_MESSAGE && len + bytes.len() > self.message.capacity() {
                let room = self.max_size.saturating_add(self.headroom).saturating_sub(len);
                self.message.reserve_exact(room.max(bytes.len()));
            }
            self.message.extend_from_slice(bytes);
        }
    }

    fn finish(&mut self) -> Result<Vec<u8>, DataError> {
        if self.too_big {
            Err(DataError::TooBig { size: self.size, max: self.max_size })
        } else if self.abandoned {
            Err(DataError::OverBudget)
        } else if self.bare {
            Err(DataError::BareLineEnding)
        } else {
            Ok(std::mem::take(&mut self.message))
        }
    }
}
