//! Drops bare SGR resets (`ESC [ m`) on their way to the terminal.
//!
//! With NO_COLOR set, crossterm writes every colour change as an empty SGR
//! (`ESC [ m`), which terminals read as "reset everything": it would cancel
//! the bold and reverse video that the mono theme relies on. We honour
//! NO_COLOR ourselves (no colour is ever set), so these resets carry nothing
//! and are dropped. ratatui's own resets are `ESC [ 0 m` and pass through.

use std::io::{self, Write};

const ESC: u8 = 0x1b;

pub struct NoBareReset<W: Write> {
    inner: W,
    /// `ESC` or `ESC [` held back until the next byte decides.
    held: Vec<u8>,
}

impl<W: Write> NoBareReset<W> {
    pub fn new(inner: W) -> Self {
        NoBareReset {
            inner,
            held: Vec::with_capacity(2),
        }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

impl<W: Write> Write for NoBareReset<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 2);
        for &b in buf {
            match (self.held.as_slice(), b) {
                ([], ESC) => self.held.push(ESC),
                ([], _) => out.push(b),
                ([ESC], b'[') => self.held.push(b'['),
                ([ESC], ESC) => out.push(ESC),
                ([ESC], _) => {
                    out.extend([ESC, b]);
                    self.held.clear();
                }
                ([ESC, b'['], b'm') => self.held.clear(),
                ([ESC, b'['], ESC) => {
                    out.extend([ESC, b'[']);
                    self.held.truncate(1);
                }
                (_, _) => {
                    out.extend_from_slice(&self.held);
                    out.push(b);
                    self.held.clear();
                }
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A flush mid-sequence never happens with crossterm (a command is
        // written whole); if it did, the held bytes must still arrive.
        if !self.held.is_empty() {
            self.inner.write_all(&self.held)?;
            self.held.clear();
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(chunks: &[&[u8]]) -> Vec<u8> {
        let mut f = NoBareReset::new(Vec::new());
        for c in chunks {
            f.write_all(c).unwrap();
        }
        f.flush().unwrap();
        f.inner
    }

    #[test]
    fn bare_resets_go_and_everything_else_stays_even_when_split() {
        assert_eq!(filtered(&[b"a\x1b[mb"]), b"ab");
        assert_eq!(filtered(&[b"a\x1b", b"[", b"m", b"b"]), b"ab");
        assert_eq!(
            filtered(&[b"\x1b[0m\x1b[7mX\x1b[1;2H"]),
            b"\x1b[0m\x1b[7mX\x1b[1;2H"
        );
        assert_eq!(filtered(&[b"\x1b\x1b[m\x1b["]), b"\x1b\x1b[");
        assert_eq!(filtered(&[b"\x1b[\x1b[mZ"]), b"\x1b[Z");
        assert_eq!(filtered(&[b"\x1b]52;c;x\x07"]), b"\x1b]52;c;x\x07");
    }
}
