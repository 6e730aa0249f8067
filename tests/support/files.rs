//! Files the queue_log tests grow and rotate.

use std::io::Write;
use std::path::Path;

/// `bytes` cut at line ends into `n` nearly equal parts.
pub fn parts_at_line_ends(bytes: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    let mut done = 0;
    for i in 1..=n {
        let end = if i == n {
            bytes.len()
        } else {
            let cut = bytes.len() * i / n;
            cut + bytes[cut..].iter().position(|b| *b == b'\n').unwrap() + 1
        };
        parts.push(bytes[done..end].to_vec());
        done = end;
    }
    parts
}

/// Appends `bytes` to `path`, creating it, as a writer of the log would.
pub fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

/// The lines of the file at `path`, each with its line end.
pub fn file_lines(path: &str) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap()
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}
