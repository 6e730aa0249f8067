//! Sanitizing of free-text names and reasons coming from upstream (SPEC §4): `+` becomes a
//! space, `%XX` is percent-decoded (an invalid sequence is kept literally), control characters
//! become spaces, whitespace runs collapse, and the result is trimmed. And the extension a
//! queue_log agent field names by its form alone (below the queue_log source, whose agent map
//! adds aliases, and the store, whose schema 8 step reads stored lines).

/// The extension of a channel (`PJSIP/201`, `Local/201@from-queue/n` → `201`).
pub fn channel_ext(agent: &str) -> Option<&str> {
    let (_, after) = agent.split_once('/')?;
    after.split(['@', '/']).next().filter(|e| !e.is_empty())
}

/// The extension a queue_log agent field names without an alias table: a channel's, else
/// the field itself; `NONE` and an empty field name none.
pub fn agent_field_ext(agent: &str) -> Option<&str> {
    let agent = agent.trim();
    if agent.is_empty() || agent == "NONE" {
        return None;
    }
    Some(channel_ext(agent).unwrap_or(agent))
}

/// Returns the sanitized form of a raw upstream name.
pub fn sanitize(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut decoded: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => decoded.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    decoded.push(h << 4 | l);
                    i += 2;
                }
                _ => decoded.push(b'%'),
            },
            b => decoded.push(b),
        }
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded);
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn plus_becomes_space_and_runs_collapse() {
        assert_eq!(sanitize("Karan+ Sengar"), "Karan Sengar");
        assert_eq!(sanitize("Omar Jade+Moor+Pine"), "Omar Jade Moor Pine");
        assert_eq!(sanitize("  a \t b  "), "a b");
    }

    #[test]
    fn percent_sequences_decode_and_invalid_ones_stay() {
        assert_eq!(sanitize("Jos%C3%A9"), "José");
        assert_eq!(sanitize("100%"), "100%");
        assert_eq!(sanitize("50%ZZoff"), "50%ZZoff");
        assert_eq!(sanitize("%4"), "%4");
        assert_eq!(sanitize("a%20b"), "a b");
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(sanitize("a%0Ab%0D%09c"), "a b c");
        assert_eq!(sanitize("x\ny\rz"), "x y z");
    }

    #[test]
    fn empty_and_blank() {
        assert_eq!(sanitize(""), "");
        assert_eq!(sanitize(" + "), "");
    }
}
