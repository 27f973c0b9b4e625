//! The sending side of `DATA` (RFC 5321 §4.5.2): a message becomes its transmission, CRLF
//! lines with every leading dot doubled, in bounded chunks, so that a large message is sent
//! without a second copy of it.

/// Dot-stuffs a message a chunk at a time. Bare CR and bare LF become CRLF (as
/// `pki_core::mime::canonicalize` does), a line that starts with `.` gets another, and
/// [`finish`](Self::finish) ends the last line and adds the end marker `.` CRLF.
#[derive(Debug)]
pub struct DotStuffer {
    at_line_start: bool,
    pending_cr: bool,
    ends_with_crlf: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer { at_line_start: true, pending_cr: false, ends_with_crlf: false }
    }
}

impl DotStuffer {
    /// A stuffer at the start of a message.
    #[must_use]
    pub fn new() -> Self {
        DotStuffer::default()
    }

    /// Appends the transmission of `data` (the next bytes of the message) to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.reserve(data.len() + data.len() / 64 + 2);
        for &b in data {
            match b {
                b'\r' => {
                    if self.pending_cr {
                        self.line_break(out);
                    }
                    self.pending_cr = true;
                }
                b'\n' => self.line_break(out),
                _ => {
                    if self.pending_cr {
                        self.line_break(out);
                    }
                    if self.at_line_start && b == b'.' {
                        out.push(b'.');
                    }
                    out.push(b);
                    self.at_line_start = false;
                    self.ends_with_crlf = false;
                }
            }
        }
    }

    /// Ends the message: a final CRLF if the last line lacks one, then `.` CRLF.
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.pending_cr || !self.ends_with_crlf {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }

    fn line_break(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        self.pending_cr = false;
        self.at_line_start = true;
        self.ends_with_crlf = true;
    }
}

/// The whole transmission of `data` at once (for small messages and tests).
#[must_use]
pub fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut s = DotStuffer::new();
    s.push(data, &mut out);
    s.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: canonical line ends, then a dot doubled at each line start, a
    /// final CRLF, the end marker.
    fn reference(data: &[u8]) -> Vec<u8> {
        let mut canonical = Vec::new();
        let mut i = 0;
        while i < data.len() {
            match (data[i], data.get(i + 1)) {
                (b'\r', Some(b'\n')) => {
                    canonical.extend_from_slice(b"\r\n");
                    i += 1;
                }
                (b'\r' | b'\n', _) => canonical.extend_from_slice(b"\r\n"),
                (b, _) => canonical.push(b),
            }
            i += 1;
        }
        let mut out = Vec::new();
        let mut start = true;
        for &b in &canonical {
            if start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            start = b == b'\n';
        }
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    #[test]
    fn examples() {
        assert_eq!(dot_stuff(b".a\n..b\nc"), b"..a\r\n...b\r\nc\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\r\n.\r\n"), b"x\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b"\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\r"), b"a\r\n.\r\n");
    }

    /// Every message over a small alphabet, cut into chunks at every place: the same bytes as
    /// the plain definition.
    #[test]
    fn chunked_equals_the_definition() {
        let alphabet = [b'.', b'\r', b'\n', b'a'];
        for len in 0..=7u32 {
            for n in 0..4usize.pow(len) {
                let msg: Vec<u8> = (0..len).map(|i| alphabet[n / 4usize.pow(i) % 4]).collect();
                let want = reference(&msg);
                assert_eq!(dot_stuff(&msg), want, "{msg:?}");
                for cut in 0..=msg.len() {
                    let mut out = Vec::new();
                    let mut s = DotStuffer::new();
                    s.push(&msg[..cut], &mut out);
                    s.push(&msg[cut..], &mut out);
                    s.finish(&mut out);
                    assert_eq!(out, want, "{msg:?} cut at {cut}");
                }
            }
        }
    }
}
