//! The limits `scope` reads its CSV under, so a hostile or wrong file
//! (`/dev/zero`, a binary, one endless line) is refused with a clear error
//! instead of read until memory runs out.

use std::io::{self, Read};

/// Longest CSV record, in bytes (a quoted field may span lines: they count
/// together). A line of counts is well under a kilobyte.
pub const MAX_SCOPE_LINE_BYTES: usize = 64 * 1024;

/// Most distinct (leaf, timestamp) cells held; a file with more must be
/// aggregated first. About 40 bytes each: 4 M cells is ~160 MB at most.
pub const MAX_SCOPE_CELLS: usize = 4_000_000;

/// A reader that fails on a NUL byte (not text) or a record longer than
/// [`MAX_SCOPE_LINE_BYTES`], naming the line.
pub struct TextLimits<R> {
    inner: R,
    line: u64,
    record_bytes: usize,
    in_quotes: bool,
}

impl<R: Read> TextLimits<R> {
    pub fn new(inner: R) -> Self {
        TextLimits {
            inner,
            line: 1,
            record_bytes: 0,
            in_quotes: false,
        }
    }
}

impl<R: Read> Read for TextLimits<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            match b {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "line {}: a NUL byte: this is not a text CSV file",
                            self.line
                        ),
                    ));
                }
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' => {
                    self.line += 1;
                    if !self.in_quotes {
                        self.record_bytes = 0;
                        continue;
                    }
                }
                _ => {}
            }
            self.record_bytes += 1;
            if self.record_bytes > MAX_SCOPE_LINE_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "line {}: longer than {MAX_SCOPE_LINE_BYTES} bytes: not a CSV of counts",
                        self.line
                    ),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> io::Result<usize> {
        let mut out = Vec::new();
        TextLimits::new(input).read_to_end(&mut out)
    }

    #[test]
    fn a_nul_byte_is_refused_naming_its_line() {
        let e = read_all(b"ts,good\n1,2\n\0\0").unwrap_err();
        assert!(e.to_string().starts_with("line 3: a NUL byte"), "{e}");
    }

    #[test]
    fn a_record_over_the_limit_is_refused_and_lines_under_it_pass() {
        let mut long = b"a,b\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_SCOPE_LINE_BYTES + 1));
        let e = read_all(&long).unwrap_err();
        assert!(e.to_string().starts_with("line 2: longer than"), "{e}");
        let mut many = Vec::new();
        for _ in 0..100 {
            many.extend(std::iter::repeat_n(b'y', 1000));
            many.push(b'\n');
        }
        assert!(read_all(&many).is_ok());
    }
}
