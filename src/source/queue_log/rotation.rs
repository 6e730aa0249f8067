//! Planning the reading of a queue_log argument from its stored [`Cursor`]: a file's
//! fingerprint (device + inode, hash of its first line) tells whether it is still the file
//! the cursor was taken on. When it is not, the cursor's file is looked for among the
//! rotated files (`NAME.1`, `NAME.2.gz`, `NAME-20220801`, ...; by identity, then by first
//! line), finished from the cursor, and every newer rotated file is read before the live
//! file; when it is nowhere, the gap is reported ([`Gap`]). A file truncated in place
//! (copytruncate) is found the same way in its copy, then read from the start. The plan is
//! a list of [`Segment`]s for the [`super::reader`].

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::checkpoint::{Cursor, Gap};
use super::parse::line_hash;
use super::reader::{Segment, is_gz, open_err, read_error};
use crate::error::{Error, Result};

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
            start: Cursor::default(),
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
    let key = Cursor::key(&abs);
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
    // Rotated (or truncated): the cursor's file is looked for among the rotated files. It
    // is finished from the cursor, then every newer rotated file is read whole, then the
    // live file.
    let siblings = rotated_siblings(&abs)?;
    let found = cursor_file(&siblings, &c)?;
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

/// Which of the rotated files is the one the cursor `c` was taken on: by identity first,
/// then by its first line (compressing gives it a new inode, and a new file may reuse the
/// old inode). A candidate is never shorter than the cursor's offset.
fn cursor_file(siblings: &[Sibling], c: &Cursor) -> Result<Option<usize>> {
    for (i, sib) in siblings.iter().enumerate() {
        if !sib.gz
            && (sib.dev, sib.ino) == (c.dev, c.ino)
            && sib.len >= c.offset
            && first_line_hash(&sib.path)? == Some(c.first_hash)
        {
            return Ok(Some(i));
        }
    }
    if c.first_hash != 0 {
        for (i, sib) in siblings.iter().enumerate() {
            let long_enough = sib.gz || sib.len >= c.offset;
            if long_enough && first_line_hash(&sib.path)? == Some(c.first_hash) {
                return Ok(Some(i));
            }
        }
    }
    Ok(None)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::Write;

    use super::super::reader::{Chunk, SegmentReader};

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
    fn planning_a_damaged_gzip_is_an_input_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log.3.gz");
        std::fs::write(&p, b"\x1f\x8b\x08\x00garbage that is not deflate").unwrap();
        let err = plan(p.to_str().unwrap(), &mut |_| Ok(None)).unwrap_err();
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
}
