//! JSON text written by hand where the request encoder's shapes are fixed: a string, copied as is
//! when nothing in it needs escaping.

/// `value` as a JSON string: copied as is when nothing in it needs escaping (the common case,
/// checked eight bytes at a time), else escaped by serde_json.
pub fn string(out: &mut Vec<u8>, value: &str) {
    if needs_escaping(value.as_bytes()) {
        serde_json::to_writer(&mut *out, value).expect("serializing a string cannot fail");
    } else {
        out.reserve(value.len() + 2);
        quoted(out, value);
    }
}

/// `value` between quotes, as is: the caller has checked that nothing in it needs escaping.
pub fn quoted(out: &mut Vec<u8>, value: &str) {
    debug_assert!(!needs_escaping(value.as_bytes()));
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

/// `parts` joined, as one JSON string (a trace id: the job's prefix and the row number), with no
/// allocation when none of them needs escaping.
pub fn joined_string(out: &mut Vec<u8>, parts: &[&str]) {
    if parts.iter().any(|part| needs_escaping(part.as_bytes())) {
        string(out, &parts.concat());
    } else {
        out.push(b'"');
        for part in parts {
            out.extend_from_slice(part.as_bytes());
        }
        out.push(b'"');
    }
}

/// Whether `bytes` hold a control character, `"` or `\` (what a JSON string escapes).
pub fn needs_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The classic bit tricks: whether a byte of `word` is below `n` (n <= 128), or is zero.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * n as u64) & !word & HIGHS;
    let zero = |word: u64| below(word, 1);
    let special = |word: u64| {
        below(word, 0x20) | zero(word ^ (ONES * b'"' as u64)) | zero(word ^ (ONES * b'\\' as u64))
            != 0
    };
    let word = |eight: &[u8]| u64::from_ne_bytes(eight.try_into().expect("eight bytes"));
    if bytes.len() < 8 {
        // Shifted into a word of plain letters, a byte a lane (a padded copy was a `memcpy` call).
        let short = bytes
            .iter()
            .fold(ONES * b'a' as u64, |w, &b| (w << 8) | b as u64);
        return special(short);
    }
    let mut chunks = bytes.chunks_exact(8);
    if chunks.any(|chunk| special(word(chunk))) {
        return true;
    }
    // The last eight bytes, overlapping the words already checked, cover the remainder.
    !chunks.remainder().is_empty() && special(word(&bytes[bytes.len() - 8..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_that_needs_escaping_is_found_at_every_place() {
        for len in 1..=19 {
            for at in 0..len {
                for b in 0u8..=0xff {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let expected = b < 0x20 || b == b'"' || b == b'\\';
                    assert_eq!(needs_escaping(&bytes), expected, "{b:#x} at {at} of {len}");
                }
            }
        }
        assert!(!needs_escaping(
            "é東京🙂 plain text, long enough".as_bytes()
        ));
    }

    #[test]
    fn joined_parts_read_back_as_one_string() {
        for parts in [&["5f3a9c01-", "151"][..], &["a\"b-", "7"], &[]] {
            let mut out = Vec::new();
            joined_string(&mut out, parts);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, parts.concat());
        }
    }

    #[test]
    fn strings_read_back_as_written() {
        for value in [
            "",
            "plain",
            "a \"q\" \\ b",
            "\t\n\r\u{1}\u{1f}",
            "Zoë 東京 🙂",
            "\u{7f}",
        ] {
            let mut out = Vec::new();
            string(&mut out, value);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, value);
        }
    }
}
