//! JSON text written by hand where the request encoder's shapes are fixed: a string, copied as is
//! when nothing in it needs escaping.

/// `value` as a JSON string: copied as is when nothing in it needs escaping (the common case,
/// checked without branching per byte), else escaped by serde_json.
pub fn string(out: &mut Vec<u8>, value: &str) {
    let plain = value.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.reserve(value.len() + 2);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, value).expect("serializing a string cannot fail");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
