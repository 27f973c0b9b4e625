//! Splitting the input into command lines, with a cap on their length.

use super::{Command, CommandError, Receive};

/// Reads command lines from the input and parses each into a [`Command`].
///
/// A line ends at LF (after an optional CR; see the [module docs](super) for the policy). A line
/// longer than the cap is read to its end and discarded, then reported as
/// [`CommandError::LineTooLong`], so one over-long line costs at most `max_line` octets of memory
/// and leaves the session in step.
#[derive(Clone, Debug)]
pub struct CommandReceiver {
    buf: Vec<u8>,
    max_line: usize,
    /// Octets of the current line seen so far while it is being discarded.
    discarded: Option<usize>,
}

impl CommandReceiver {
    /// A receiver for lines of at most `max_line` octets, CRLF included.
    #[must_use]
    pub fn new(max_line: usize) -> Self {
        CommandReceiver { buf: Vec::new(), max_line: max_line.max(3), discarded: None }
    }

    /// Takes bytes from the front of `input` up to the end of one line and parses the line.
    ///
    /// Returns [`Receive::NeedsMoreData`] after taking all of `input` if no line ended in it.
    pub fn ingest(&mut self, input: &mut &[u8]) -> Receive<Result<Command, CommandError>> {
        match self.ingest_line(input) {
            Receive::NeedsMoreData => Receive::NeedsMoreData,
            Receive::Ready(Ok(line)) => Receive::Ready(parse_line(&line)),
            Receive::Ready(Err(e)) => Receive::Ready(Err(e)),
        }
    }

    /// Takes bytes up to the end of one line and returns the line as it is, its LF or CRLF
    /// included, without parsing it: for the client's answers in a SASL exchange (RFC 4954),
    /// which are not commands. The length cap applies.
    pub fn ingest_line(&mut self, input: &mut &[u8]) -> Receive<Result<Vec<u8>, CommandError>> {
        let bytes = *input;
        let (chunk, ended) = match bytes.iter().position(|&b| b == b'\n') {
            Some(lf) => (bytes.get(..=lf).unwrap_or(bytes), true),
            None => (bytes, false),
        };
        *input = bytes.get(chunk.len()..).unwrap_or_default();
        if let Some(seen) = &mut self.discarded {
            *seen += chunk.len();
        } else if self.buf.len() + chunk.len() > self.max_line {
            self.discarded = Some(self.buf.len() + chunk.len());
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(chunk);
        }
        if !ended {
            return Receive::NeedsMoreData;
        }
        if let Some(len) = self.discarded.take() {
            return Receive::Ready(Err(CommandError::LineTooLong { len, max: self.max_line }));
        }
        Receive::Ready(Ok(std::mem::take(&mut self.buf)))
    }

    /// Whether part of a line is buffered (bytes arrived but no end of line yet).
    #[must_use]
    pub fn has_partial_line(&self) -> bool {
        !self.buf.is_empty() || self.discarded.is_some()
    }
}

/// Parses one line, its LF or CRLF included.
fn parse_line(line: &[u8]) -> Result<Command, CommandError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Some(&byte) = line.iter().find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(CommandError::ControlChar { byte });
    }
    let line = std::str::from_utf8(line).map_err(|_| CommandError::NotUtf8)?;
    Command::parse(line)
}
