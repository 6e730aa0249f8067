//! Reading queue_log files incrementally (SPEC §6): `-` for stdin, `.gz` (multi-member, as
//! logrotate writes) transparently, and a per-file [`Cursor`] (device + inode, byte offset,
//! hash of the first line) so that a re-run reads only new complete lines. A file whose inode
//! changed was rotated: its rotated sibling (`queue_log.1`, `queue_log.1.gz`) is finished from
//! the old offset first, then the new file is read from the start. A file shorter than the
//! cursor, or whose first line changed, was truncated and is read from the start.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `etl_state` key prefix of the per-file cursors.
pub const CURSOR_KEY_PREFIX: &str = "queue_log.cursor:";

/// Hash of a line's bytes (without its line end); stable across builds and platforms,
/// because it is stored (dedupe key of `queue_log`, cursor's first line).
pub fn line_hash(line: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(line)
}

/// Where reading a file stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub dev: u64,
    pub ino: u64,
    /// Bytes consumed (of the decompressed stream for `.gz`): the end of the last complete line.
    pub offset: u64,
    /// Lines consumed.
    pub line_no: u64,
    /// Hash of the first line, to tell a truncated-and-rewritten file from a grown one.
    pub first_hash: u64,
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
    let key = format!("{CURSOR_KEY_PREFIX}{}", abs.display());
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
    // Rotated (or truncated): finish the old file under its rotated name first. It is
    // recognized by its first line, since compressing gives it a new inode and a new file
    // may reuse the old inode.
    let mut segments = Vec::new();
    let mut note = if same_file {
        "truncated; reading from the start".to_string()
    } else {
        "rotated (new inode); rotated file not found beside it".to_string()
    };
    for suffix in [".1", ".0", ".1.gz"] {
        let mut sib = abs.clone().into_os_string();
        sib.push(suffix);
        let sib = PathBuf::from(sib);
        let Ok(sm) = std::fs::metadata(&sib) else {
            continue;
        };
        let sib_gz = is_gz(&sib);
        let long_enough = sib_gz || sm.len() >= c.offset;
        if long_enough && first_line_hash(&sib)? == Some(c.first_hash) {
            note = format!("rotated; finished {} first", sib.display());
            segments.push(Segment {
                path: Some(sib.clone()),
                display: sib.display().to_string(),
                gz: sib_gz,
                start: c,
                take_partial_last: true,
                cursor_key: Some(key.clone()),
                note: None,
            });
            break;
        }
    }
    segments.push(mk(fresh, Some(note)));
    Ok(segments)
}

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
    scratch: Vec<u8>,
}

/// One chunk of complete lines: `bytes` holds them back to back, `lines[i]` is the span of
/// line `i` (without its line end) and its 1-based line number.
#[derive(Debug, Default)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub lines: Vec<(usize, usize, u64)>,
}

impl Chunk {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.lines.clear();
    }

    pub fn line(&self, i: usize) -> &[u8] {
        let (s, e, _) = self.lines[i];
        &self.bytes[s..e]
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
            scratch: Vec::new(),
        })
    }

    /// Fills `chunk` with up to `max_lines` complete lines; `false` once nothing is left.
    pub fn next_chunk(&mut self, chunk: &mut Chunk, max_lines: usize) -> Result<bool> {
        chunk.clear();
        while !self.done && chunk.lines.len() < max_lines {
            self.scratch.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.scratch)
                .map_err(|e| read_error(&self.display, self.compressed, e))?;
            if n == 0 {
                self.done = true;
                break;
            }
            let complete = self.scratch.last() == Some(&b'\n');
            if !complete {
                self.done = true;
                if !self.take_partial_last {
                    // An unterminated last line is still being written; the next run reads it.
                    break;
                }
            }
            let mut line: &[u8] = &self.scratch;
            line = line.strip_suffix(b"\n").unwrap_or(line);
            line = line.strip_suffix(b"\r").unwrap_or(line);
            self.offset += n as u64;
            self.line_no += 1;
            let start = chunk.bytes.len();
            chunk.bytes.extend_from_slice(line);
            chunk.lines.push((start, chunk.bytes.len(), self.line_no));
        }
        Ok(!chunk.lines.is_empty())
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
}
