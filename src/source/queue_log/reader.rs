//! Reading a planned [`Segment`] of a queue_log in chunks of complete lines: `-` for stdin,
//! `.gz` (multi-member, as logrotate writes) transparently, from the segment's cursor on, so
//! that a re-run reads only new complete lines.
//!
//! Lines are bounded ([`MAX_LINE_BYTES`]); empty lines are counted and skipped; NUL bytes
//! before a line (what an unclean shutdown leaves) are stripped and the line counted as
//! repaired.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::checkpoint::{Cursor, Gap};
use crate::error::{Error, Result};

/// One stretch of input to read, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// `None` for stdin.
    pub path: Option<PathBuf>,
    /// The name rejects and messages use.
    pub display: String,
    pub gz: bool,
    /// Where to start, and the identity the cursor records.
    pub start: Cursor,
    /// Read an unterminated last line too (stdin, `.gz`, a rotated file: nothing will append).
    pub take_partial_last: bool,
    /// The `etl_state` key this segment advances (`None` for stdin).
    pub cursor_key: Option<String>,
    /// Why the file is read from the start although a cursor existed (for `-v`).
    pub note: Option<String>,
    /// Lines that could not be read before this segment (recorded with its first chunk).
    pub gap: Option<Gap>,
}

pub(super) fn is_gz(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// A queue_log file that cannot be opened: missing or unreadable input, exit 2 (SPEC §9).
pub(super) fn open_err(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::input(format!(
            "queue_log file '{}' does not exist; expected a path to Asterisk's queue_log (or - for stdin)",
            path.display()
        ))
    } else {
        Error::input(format!(
            "queue_log file '{}' cannot be read ({}); check its permissions",
            path.display(),
            crate::error::one_line(&e.to_string())
        ))
    }
}

/// Checks, before anything is opened for writing, that every input file can be read.
pub fn check_readable(files: &[String]) -> Result<()> {
    for f in files.iter().filter(|f| f.as_str() != "-") {
        let path = Path::new(f);
        match File::open(path).and_then(|file| file.metadata()) {
            Ok(meta) if meta.is_dir() => {
                return Err(Error::input(format!(
                    "queue_log file '{f}' is a directory; expected a path to Asterisk's queue_log"
                )));
            }
            Ok(_) => {}
            Err(e) => return Err(open_err(path, e)),
        }
    }
    Ok(())
}

/// The longest line kept (SPEC §6). A longer line is read past in constant memory and
/// rejected, with its first [`OVERLONG_HEAD_BYTES`] bytes kept in the reject row. Asterisk's
/// own lines stay under a few kilobytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Bytes of an over-long line kept in its reject row.
pub const OVERLONG_HEAD_BYTES: usize = 1024;
/// A chunk ends early once its lines hold this many bytes, so that memory stays bounded
/// whatever the lines' lengths (chunk boundaries never change what is stored).
const MAX_CHUNK_BYTES: usize = 64 << 20;

/// Complete lines of one segment, in chunks.
pub struct SegmentReader {
    reader: Box<dyn BufRead>,
    take_partial_last: bool,
    /// Bytes and lines consumed so far (cursor position after the last returned line).
    pub offset: u64,
    pub line_no: u64,
    /// Size on disk, for progress (`None` for stdin).
    pub total_bytes: Option<u64>,
    /// Compressed bytes are not what `offset` counts, so progress uses line counts.
    pub compressed: bool,
    /// The input's name, for errors.
    display: String,
    done: bool,
}

/// One line of a [`Chunk`]: its span in `bytes` (without its line end), its 1-based line
/// number, and for a line longer than [`MAX_LINE_BYTES`] its full length (the span then
/// holds only its first [`OVERLONG_HEAD_BYTES`] bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLine {
    pub start: usize,
    pub end: usize,
    pub line_no: u64,
    pub overlong: Option<u64>,
}

/// One chunk of complete lines, back to back in `bytes`. Empty lines are not kept, only
/// counted; lines that began with NUL bytes (what an unclean shutdown leaves) are kept
/// without them and counted as repaired.
#[derive(Debug, Default)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub lines: Vec<ChunkLine>,
    pub empty: u64,
    pub repaired: u64,
}

impl Chunk {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.lines.clear();
        self.empty = 0;
        self.repaired = 0;
    }

    pub fn line(&self, i: usize) -> &[u8] {
        let l = self.lines[i];
        &self.bytes[l.start..l.end]
    }
}

/// A read failure naming the input; a damaged gzip stream is bad input (exit 2).
pub(super) fn read_error(display: &str, gz: bool, e: std::io::Error) -> Error {
    if gz
        && matches!(
            e.kind(),
            std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::UnexpectedEof
        )
    {
        Error::input(format!(
            "'{display}' is not a readable gzip file ({e}); expected a .gz as gzip or logrotate writes it"
        ))
    } else {
        Error::io(format!("cannot read '{display}'"), e)
    }
}

impl SegmentReader {
    pub fn open(seg: &Segment) -> Result<SegmentReader> {
        const BUF: usize = 1 << 20;
        let (reader, total): (Box<dyn BufRead>, Option<u64>) = match &seg.path {
            None => (
                Box::new(BufReader::with_capacity(BUF, std::io::stdin())),
                None,
            ),
            Some(p) => {
                let mut f = File::open(p).map_err(|e| open_err(p, e))?;
                let len = f.metadata().ok().map(|m| m.len());
                if seg.gz {
                    let mut r: Box<dyn BufRead> =
                        Box::new(BufReader::with_capacity(BUF, MultiGzDecoder::new(f)));
                    let skipped =
                        std::io::copy(&mut (&mut r).take(seg.start.offset), &mut std::io::sink())
                            .map_err(|e| read_error(&seg.display, true, e))?;
                    if skipped < seg.start.offset {
                        return Err(Error::input(format!(
                            "'{}' is shorter than its recorded cursor; it changed after it was read",
                            p.display()
                        )));
                    }
                    (r, len)
                } else {
                    f.seek(SeekFrom::Start(seg.start.offset))
                        .map_err(|e| Error::io(format!("cannot seek '{}'", p.display()), e))?;
                    (Box::new(BufReader::with_capacity(BUF, f)), len)
                }
            }
        };
        Ok(SegmentReader {
            reader,
            take_partial_last: seg.take_partial_last,
            offset: seg.start.offset,
            line_no: seg.start.line_no,
            total_bytes: total,
            compressed: seg.gz,
            display: seg.display.clone(),
            done: false,
        })
    }

    /// Appends the next line to `bytes` (at most `MAX_LINE_BYTES + 1` of it are kept),
    /// consuming it whatever its length. Returns the bytes consumed, whether the line ended
    /// in `\n`, and its length without the `\n`; `None` at the end of the input.
    fn read_line(&mut self, bytes: &mut Vec<u8>) -> Result<Option<(u64, bool, u64)>> {
        let start = bytes.len();
        let mut len = 0u64;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(&self.display, self.compressed, e)),
            };
            if buf.is_empty() {
                return Ok((len > 0).then_some((len, false, len)));
            }
            let (piece, ends) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            let room = (MAX_LINE_BYTES + 1).saturating_sub(bytes.len() - start);
            bytes.extend_from_slice(&buf[..piece.min(room)]);
            len += piece as u64;
            self.reader.consume(piece + usize::from(ends));
            if ends {
                return Ok(Some((len + 1, true, len)));
            }
        }
    }

    /// Fills `chunk` with up to `max_lines` complete lines (fewer once they hold
    /// `MAX_CHUNK_BYTES`); `false` once the input is used up and nothing was read.
    pub fn next_chunk(&mut self, chunk: &mut Chunk, max_lines: usize) -> Result<bool> {
        chunk.clear();
        let mut consumed_any = false;
        while !self.done && chunk.lines.len() < max_lines && chunk.bytes.len() < MAX_CHUNK_BYTES {
            // A run of empty lines is skipped in bulk (a file of newlines costs a scan).
            let blank = match self.reader.fill_buf() {
                Ok(buf) => buf.iter().take_while(|b| **b == b'\n').count(),
                Err(_) => 0,
            };
            if blank > 0 {
                self.reader.consume(blank);
                self.offset += blank as u64;
                self.line_no += blank as u64;
                chunk.empty += blank as u64;
                consumed_any = true;
                continue;
            }
            let start = chunk.bytes.len();
            let Some((n, complete, len)) = self.read_line(&mut chunk.bytes)? else {
                self.done = true;
                break;
            };
            if !complete {
                self.done = true;
                if !self.take_partial_last {
                    // An unterminated last line is still being written; the next run reads it.
                    chunk.bytes.truncate(start);
                    break;
                }
            }
            self.offset += n;
            self.line_no += 1;
            consumed_any = true;
            if len as usize > MAX_LINE_BYTES {
                chunk.bytes.truncate(start + OVERLONG_HEAD_BYTES);
                chunk.lines.push(ChunkLine {
                    start,
                    end: chunk.bytes.len(),
                    line_no: self.line_no,
                    overlong: Some(len),
                });
                continue;
            }
            if chunk.bytes.last() == Some(&b'\r') {
                chunk.bytes.pop();
            }
            let nuls = chunk.bytes[start..].iter().take_while(|b| **b == 0).count();
            if nuls > 0 {
                chunk.bytes.drain(start..start + nuls);
            }
            if chunk.bytes.len() == start {
                chunk.empty += 1;
                continue;
            }
            if nuls > 0 {
                chunk.repaired += 1;
            }
            chunk.lines.push(ChunkLine {
                start,
                end: chunk.bytes.len(),
                line_no: self.line_no,
                overlong: None,
            });
        }
        Ok(consumed_any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole file at `p`, as a first run reads it.
    fn whole(p: &Path) -> Segment {
        Segment {
            path: Some(p.to_path_buf()),
            display: p.display().to_string(),
            gz: is_gz(p),
            start: Cursor::default(),
            take_partial_last: is_gz(p),
            cursor_key: None,
            note: None,
            gap: None,
        }
    }

    #[test]
    fn damaged_gzip_is_an_input_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log.3.gz");
        std::fs::write(&p, b"\x1f\x8b\x08\x00garbage that is not deflate").unwrap();
        let err = SegmentReader::open(&whole(&p))
            .and_then(|mut r| r.next_chunk(&mut Chunk::default(), 10))
            .unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(err.to_string().contains("queue_log.3.gz"), "{err}");
    }

    #[test]
    fn nul_prefixed_empty_and_overlong_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log");
        let mut bytes = b"a|1\n\n\r\n\0\0\0b|2\n\0\0\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES + 10));
        bytes.extend_from_slice(b"\nc|3\n");
        std::fs::write(&p, &bytes).unwrap();
        let mut r = SegmentReader::open(&whole(&p)).unwrap();
        let mut chunk = Chunk::default();
        assert!(r.next_chunk(&mut chunk, 100).unwrap());
        let lines: Vec<(&[u8], u64, Option<u64>)> = (0..chunk.lines.len())
            .map(|i| {
                (
                    chunk.line(i),
                    chunk.lines[i].line_no,
                    chunk.lines[i].overlong,
                )
            })
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], (&b"a|1"[..], 1, None));
        assert_eq!(lines[1], (&b"b|2"[..], 4, None));
        assert_eq!(lines[2].0.len(), OVERLONG_HEAD_BYTES);
        assert_eq!(lines[2].1, 6);
        assert_eq!(lines[2].2, Some(MAX_LINE_BYTES as u64 + 10));
        assert_eq!(lines[3], (&b"c|3"[..], 7, None));
        assert_eq!((chunk.empty, chunk.repaired), (3, 1));
        assert_eq!(r.offset, bytes.len() as u64);
        assert!(!r.next_chunk(&mut chunk, 100).unwrap());
    }
}
