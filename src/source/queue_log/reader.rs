//! Reading queue_log files incrementally (SPEC §6): `-` for stdin, `.gz` (multi-member, as
//! logrotate writes) transparently, and a per-file [`Cursor`] (device + inode, byte offset,
//! hash of the first line) so that a re-run reads only new complete lines. When the live file
//! is no longer the cursor's file, the cursor's file is looked for among the rotated files
//! (`NAME.1`, `NAME.2.gz`, `NAME-20220801`, ...; by identity, then by first line), finished
//! from the cursor, and every newer rotated file is read before the live file; when it is
//! nowhere, the gap is reported ([`Gap`]). A file truncated in place (copytruncate) is found
//! the same way in its copy, then read from the start.
//!
//! Lines are bounded ([`MAX_LINE_BYTES`]); empty lines are counted and skipped; NUL bytes
//! before a line (what an unclean shutdown leaves) are stripped and the line counted as
//! repaired.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};
use crate::model::state::{Cursor, Gap, QUEUE_LOG_CURSORS};

/// Hash of a line's bytes (without its line end); stable across builds and platforms,
/// because it is stored (dedupe key of `queue_log`, cursor's first line).
pub fn line_hash(line: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(line)
}

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

fn is_gz(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Base name and rotation number: `queue_log.2.gz` → (`queue_log`, 2), `queue_log` → 0.
fn rotation(p: &str) -> (&str, u32) {
    let s = p.strip_suffix(".gz").unwrap_or(p);
    if let Some((base, n)) = s.rsplit_once('.')
        && let Ok(n) = n.parse::<u32>()
    {
        return (base, n);
    }
    (s, 0)
}

/// Orders the files so that, per base name, older rotations come first
/// (`queue_log.2.gz`, `queue_log.1`, `queue_log`); bases keep the order they were given in.
pub fn rotation_order(paths: &[String]) -> Vec<String> {
    let mut bases: Vec<&str> = Vec::new();
    let mut keyed: Vec<(usize, std::cmp::Reverse<u32>, usize, &String)> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let (base, n) = rotation(p);
        let bi = match bases.iter().position(|b| *b == base) {
            Some(bi) => bi,
            None => {
                bases.push(base);
                bases.len() - 1
            }
        };
        keyed.push((bi, std::cmp::Reverse(n), i, p));
    }
    keyed.sort();
    keyed.into_iter().map(|k| k.3.clone()).collect()
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// A queue_log file that cannot be opened: missing or unreadable input, exit 2 (SPEC §9).
pub(crate) fn open_err(path: &Path, e: std::io::Error) -> Error {
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
pub fn check_readable(files: &[String]) -> crate::Result<()> {
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

/// Hash of the first complete line of a file (decompressed for `.gz`); `None` when the file
/// has no complete line yet.
pub fn first_line_hash(path: &Path) -> Result<Option<u64>> {
    let file = File::open(path).map_err(|e| open_err(path, e))?;
    let mut r: Box<dyn BufRead> = if is_gz(path) {
        Box::new(BufReader::new(MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)
        .map_err(|e| read_error(&path.display().to_string(), is_gz(path), e))?;
    Ok(line
        .strip_suffix(b"\n")
        .map(|l| line_hash(l.strip_suffix(b"\r").unwrap_or(l))))
}

/// Plans the reading of one argument given its stored cursor (looked up by `cursor_of`).
pub fn plan(
    arg: &str,
    cursor_of: &mut dyn FnMut(&str) -> Result<Option<Cursor>>,
) -> Result<Vec<Segment>> {
    if arg == "-" {
        return Ok(vec![Segment {
            path: None,
            display: "<stdin>".into(),
            gz: false,
            start: Cursor {
                dev: 0,
                ino: 0,
                offset: 0,
                line_no: 0,
                first_hash: 0,
            },
            take_partial_last: true,
            cursor_key: None,
            note: None,
            gap: None,
        }]);
    }
    let path = PathBuf::from(arg);
    let meta = std::fs::metadata(&path).map_err(|e| open_err(&path, e))?;
    if meta.is_dir() {
        return Err(Error::input(format!(
            "'{arg}' is a directory; expected a queue_log file"
        )));
    }
    let abs = std::fs::canonicalize(&path).map_err(|e| open_err(&path, e))?;
    let key = QUEUE_LOG_CURSORS.key(&abs.display().to_string());
    let (dev, ino) = identity(&meta);
    let gz = is_gz(&path);
    let first = first_line_hash(&path)?.unwrap_or(0);
    let fresh = Cursor {
        dev,
        ino,
        offset: 0,
        line_no: 0,
        first_hash: first,
    };
    let mk = |start: Cursor, note: Option<String>| Segment {
        path: Some(path.clone()),
        display: arg.to_string(),
        gz,
        start,
        take_partial_last: gz,
        cursor_key: Some(key.clone()),
        note,
        gap: None,
    };
    let Some(c) = cursor_of(&key)? else {
        return Ok(vec![mk(fresh, None)]);
    };
    let same_content = c.first_hash == first && first != 0;
    if gz {
        // Compressed files are rewritten whole; the first line tells whether it is the same.
        return Ok(vec![if same_content {
            mk(Cursor { dev, ino, ..c }, None)
        } else {
            mk(
                fresh,
                Some("content changed; reading from the start".into()),
            )
        }]);
    }
    let same_file = (c.dev, c.ino) == (dev, ino);
    if same_file && same_content && meta.len() >= c.offset {
        return Ok(vec![mk(c, None)]);
    }
    if c.offset == 0 {
        return Ok(vec![mk(fresh, None)]);
    }
    // Rotated (or truncated): the cursor's file is looked for among the rotated files, by
    // identity first, then by its first line (compressing gives it a new inode, and a new
    // file may reuse the old inode). It is finished from the cursor, then every newer
    // rotated file is read whole, then the live file.
    let siblings = rotated_siblings(&abs)?;
    let mut found = None;
    for (i, sib) in siblings.iter().enumerate() {
        if !sib.gz
            && (sib.dev, sib.ino) == (c.dev, c.ino)
            && sib.len >= c.offset
            && first_line_hash(&sib.path)? == Some(c.first_hash)
        {
            found = Some(i);
            break;
        }
    }
    if found.is_none() && c.first_hash != 0 {
        for (i, sib) in siblings.iter().enumerate() {
            let long_enough = sib.gz || sib.len >= c.offset;
            if long_enough && first_line_hash(&sib.path)? == Some(c.first_hash) {
                found = Some(i);
                break;
            }
        }
    }
    let sibling_segment = |sib: &Sibling, start: Option<Cursor>| -> Result<Segment> {
        let start = match start {
            Some(c) => Cursor {
                dev: sib.dev,
                ino: sib.ino,
                ..c
            },
            None => Cursor {
                dev: sib.dev,
                ino: sib.ino,
                offset: 0,
                line_no: 0,
                first_hash: first_line_hash(&sib.path)?.unwrap_or(0),
            },
        };
        Ok(Segment {
            path: Some(sib.path.clone()),
            display: sib.path.display().to_string(),
            gz: sib.gz,
            start,
            take_partial_last: true,
            cursor_key: Some(key.clone()),
            note: None,
            gap: None,
        })
    };
    let mut segments = Vec::new();
    let mut lost = None;
    let note = match found {
        Some(k) => {
            segments.push(sibling_segment(&siblings[k], Some(c))?);
            for sib in &siblings[k + 1..] {
                segments.push(sibling_segment(sib, None)?);
            }
            let newer: Vec<String> = siblings[k + 1..]
                .iter()
                .map(|s| s.path.display().to_string())
                .collect();
            let mut note = format!("rotated; finished {} first", siblings[k].path.display());
            if !newer.is_empty() {
                note.push_str(&format!(", then read {}", newer.join(", ")));
            }
            note
        }
        // Truncated in place, with no rotation beside it: nothing else to read. With
        // rotated files beside it, the same inode is more likely a new file that reused the
        // old one's inode, and the old content is lost: a gap.
        None if same_file && siblings.is_empty() => "truncated; reading from the start".to_string(),
        None => {
            // The file the cursor points at is gone (rotated more often than apr ran, or
            // deleted). Whatever rotated files remain are read whole (lines stored before
            // are skipped), and the gap is said and recorded, never silent.
            for sib in &siblings {
                segments.push(sibling_segment(sib, None)?);
            }
            let gap = Gap {
                file: abs.display().to_string(),
                line_no: c.line_no,
                offset: c.offset,
                first_hash: c.first_hash,
                searched: siblings
                    .iter()
                    .map(|s| s.path.display().to_string())
                    .collect(),
            };
            lost = Some(gap);
            "rotated; the file read before is not among its rotated files".to_string()
        }
    };
    segments.push(mk(fresh, Some(note)));
    // The gap rides on the first segment read, so that it is recorded with the first chunk
    // committed after it.
    segments[0].gap = lost;
    Ok(segments)
}

/// A rotated file beside a queue_log.
struct Sibling {
    path: PathBuf,
    gz: bool,
    dev: u64,
    ino: u64,
    len: u64,
}

/// How a rotated name sorts, oldest first: numbered rotations (`NAME.3`, `NAME.2.gz`,
/// `NAME.1`, `NAME.0`; higher numbers are older), then date-stamped ones (`NAME-20220801`,
/// logrotate's `dateext`; earlier names are older).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RotationKey {
    Numbered(std::cmp::Reverse<u32>),
    Dated(String),
}

/// The rotation key of a file name beside `base`, if it is one of `base`'s rotated names.
fn rotation_key(base: &str, name: &str) -> Option<RotationKey> {
    let rest = name.strip_prefix(base)?;
    let rest = rest.strip_suffix(".gz").unwrap_or(rest);
    if let Some(n) = rest.strip_prefix('.') {
        return n
            .parse::<u32>()
            .ok()
            .map(|n| RotationKey::Numbered(std::cmp::Reverse(n)));
    }
    let stamp = rest.strip_prefix('-')?;
    let ok = stamp.starts_with(|c: char| c.is_ascii_digit())
        && stamp
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '_');
    ok.then(|| RotationKey::Dated(stamp.to_string()))
}

/// The rotated files beside `abs`, oldest first.
fn rotated_siblings(abs: &Path) -> Result<Vec<Sibling>> {
    let (Some(dir), Some(base)) = (abs.parent(), abs.file_name().and_then(|n| n.to_str())) else {
        return Ok(Vec::new());
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot list '{}'", dir.display()), e))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(key) = name.to_str().and_then(|n| rotation_key(base, n)) else {
            continue;
        };
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let (dev, ino) = identity(&meta);
        found.push((
            key,
            Sibling {
                gz: is_gz(&path),
                path,
                dev,
                ino,
                len: meta.len(),
            },
        ));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.path.cmp(&b.1.path)));
    Ok(found.into_iter().map(|(_, s)| s).collect())
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
fn read_error(display: &str, gz: bool, e: std::io::Error) -> Error {
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
    use std::collections::HashMap;
    use std::io::Write;

    fn read_all(seg: &Segment) -> (Vec<String>, u64, u64) {
        let mut r = SegmentReader::open(seg).unwrap();
        let mut chunk = Chunk::default();
        let mut out = Vec::new();
        while r.next_chunk(&mut chunk, 2).unwrap() {
            for i in 0..chunk.lines.len() {
                out.push(String::from_utf8_lossy(chunk.line(i)).into_owned());
            }
        }
        (out, r.offset, r.line_no)
    }

    fn cursor_after(seg: &Segment, offset: u64, line_no: u64) -> Cursor {
        Cursor {
            offset,
            line_no,
            ..seg.start
        }
    }

    #[test]
    fn rotation_order_puts_older_files_first() {
        let given: Vec<String> = ["queue_log", "other", "queue_log.1", "queue_log.2.gz"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            rotation_order(&given),
            ["queue_log.2.gz", "queue_log.1", "queue_log", "other"]
        );
    }

    #[test]
    fn incremental_reads_only_new_complete_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log");
        std::fs::write(&p, "a|1\nb|2\nc|3").unwrap();
        let arg = p.to_str().unwrap().to_string();
        let mut cursors: HashMap<String, Cursor> = HashMap::new();
        let segs = plan(&arg, &mut |k| Ok(cursors.get(k).copied())).unwrap();
        assert_eq!(segs.len(), 1);
        let (lines, off, n) = read_all(&segs[0]);
        assert_eq!(lines, ["a|1", "b|2"], "the unterminated line waits");
        cursors.insert(
            segs[0].cursor_key.clone().unwrap(),
            cursor_after(&segs[0], off, n),
        );
        // Nothing new: nothing read.
        let segs = plan(&arg, &mut |k| Ok(cursors.get(k).copied())).unwrap();
        assert_eq!(read_all(&segs[0]).0, Vec::<String>::new());
        // The line completes and another arrives.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"0\nd|4\n").unwrap();
        let segs = plan(&arg, &mut |k| Ok(cursors.get(k).copied())).unwrap();
        let (lines, off, n) = read_all(&segs[0]);
        assert_eq!(lines, ["c|30", "d|4"]);
        assert_eq!(n, 4);
        cursors.insert(
            segs[0].cursor_key.clone().unwrap(),
            cursor_after(&segs[0], off, n),
        );
        // Truncated and rewritten: from the start, with a note.
        std::fs::write(&p, "x|9\n").unwrap();
        let segs = plan(&arg, &mut |k| Ok(cursors.get(k).copied())).unwrap();
        assert!(segs[0].note.as_deref().unwrap().contains("truncated"));
        assert_eq!(read_all(&segs[0]).0, ["x|9"]);
    }

    /// Plans and reads `p` once, returning its argument and the cursors a run would store.
    fn read_once(p: &Path) -> (String, HashMap<String, Cursor>) {
        let arg = p.to_str().unwrap().to_string();
        let segs = plan(&arg, &mut |_| Ok(None)).unwrap();
        let (_, off, n) = read_all(&segs[0]);
        let mut cursors = HashMap::new();
        cursors.insert(
            segs[0].cursor_key.clone().unwrap(),
            cursor_after(&segs[0], off, n),
        );
        (arg, cursors)
    }

    #[test]
    fn rotated_file_is_finished_first() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log");
        std::fs::write(&p, "a|1\nb|2\n").unwrap();
        let (arg, cursors) = read_once(&p);
        // More lines land in the old file, then logrotate moves it and a new file starts.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"c|3\n").unwrap();
        std::fs::rename(&p, dir.path().join("queue_log.1")).unwrap();
        std::fs::write(&p, "d|4\n").unwrap();
        let segs = plan(&arg, &mut |k| Ok(cursors.get(k).copied())).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(read_all(&segs[0]).0, ["c|3"]);
        assert_eq!(read_all(&segs[1]).0, ["d|4"]);
    }

    #[test]
    fn rotated_and_compressed_file_is_finished_first() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log");
        std::fs::write(&p, "a|1\nb|2\n").unwrap();
        let (arg, cursors) = read_once(&p);
        // The old file is gone and the new one may reuse its inode.
        std::fs::remove_file(&p).unwrap();
        write_gz_members(&dir.path().join("queue_log.1.gz"), &["a|1\nb|2\n", "c|3\n"]);
        std::fs::write(&p, "d|4\n").unwrap();
        let segs = plan(&arg, &mut |k| Ok(cursors.get(k).copied())).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(read_all(&segs[0]).0, ["c|3"]);
        assert_eq!(read_all(&segs[1]).0, ["d|4"]);
    }

    fn write_gz_members(path: &Path, members: &[&str]) {
        let mut out = Vec::new();
        for m in members {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(m.as_bytes()).unwrap();
            out.extend(enc.finish().unwrap());
        }
        std::fs::write(path, out).unwrap();
    }

    #[test]
    fn multi_member_gzip_reads_whole_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log.2.gz");
        write_gz_members(&p, &["a|1\nb|2\n", "c|3"]);
        let arg = p.to_str().unwrap().to_string();
        let mut cursors: HashMap<String, Cursor> = HashMap::new();
        let segs = plan(&arg, &mut |k| Ok(cursors.get(k).copied())).unwrap();
        let (lines, off, n) = read_all(&segs[0]);
        assert_eq!(lines, ["a|1", "b|2", "c|3"]);
        cursors.insert(
            segs[0].cursor_key.clone().unwrap(),
            cursor_after(&segs[0], off, n),
        );
        let segs = plan(&arg, &mut |k| Ok(cursors.get(k).copied())).unwrap();
        assert!(read_all(&segs[0]).0.is_empty());
    }

    #[test]
    fn damaged_gzip_is_an_input_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log.3.gz");
        std::fs::write(&p, b"\x1f\x8b\x08\x00garbage that is not deflate").unwrap();
        let arg = p.to_str().unwrap().to_string();
        let err = plan(&arg, &mut |_| Ok(None))
            .and_then(|segs| {
                let mut r = SegmentReader::open(&segs[0])?;
                r.next_chunk(&mut Chunk::default(), 10)
            })
            .unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(err.to_string().contains("queue_log.3.gz"), "{err}");
    }

    #[test]
    fn missing_file_is_an_input_error() {
        let err = plan("/nonexistent/queue_log", &mut |_| Ok(None)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("/nonexistent/queue_log"));
    }
    #[test]
    fn rotated_names_sort_oldest_first() {
        let base = "queue_log";
        let mut names = [
            "queue_log.1",
            "queue_log-20220802.gz",
            "queue_log.2.gz",
            "queue_log-20220801",
            "queue_log.10",
            "queue_log.0",
        ];
        names.sort_by_key(|n| rotation_key(base, n).unwrap());
        assert_eq!(
            names,
            [
                "queue_log.10",
                "queue_log.2.gz",
                "queue_log.1",
                "queue_log.0",
                "queue_log-20220801",
                "queue_log-20220802.gz"
            ]
        );
        for other in [
            "queue_log",
            "queue_log.bak",
            "queue_log-old",
            "queue_logx.1",
            "other.1",
        ] {
            assert_eq!(rotation_key(base, other), None, "{other}");
        }
    }

    #[test]
    fn nul_prefixed_empty_and_overlong_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log");
        let mut bytes = b"a|1\n\n\r\n\0\0\0b|2\n\0\0\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES + 10));
        bytes.extend_from_slice(b"\nc|3\n");
        std::fs::write(&p, &bytes).unwrap();
        let segs = plan(p.to_str().unwrap(), &mut |_| Ok(None)).unwrap();
        let mut r = SegmentReader::open(&segs[0]).unwrap();
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
