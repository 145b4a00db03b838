//! Byte- and text-level readings of what crosses the wire: JSON from a body, server text cut to
//! a bound, header-safe values. The lowest layer of the crate: it imports nothing from it, so
//! `error.rs`, `pending.rs`, `request.rs` and the states all build on it without a cycle.

/// The longest server `error` code or `message` kept, in characters; the rest is cut.
pub const MAX_SERVER_TEXT: usize = 256;

/// `serde_json::from_slice`, with the UTF-8 check done once over the whole body instead of once
/// per string (`from_slice` validates every key and value it reads separately, which costs more
/// than the parse itself on short token bodies). A body that is not UTF-8 throughout (invalid
/// bytes inside a string the reader skips) still goes through `from_slice`, so what parses and
/// what fails is exactly as before.
pub(crate) fn json_from_bytes<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Cuts to [`MAX_SERVER_TEXT`] characters and drops control characters.
pub(crate) fn bound(s: &str) -> String {
    // Fast path for what servers send almost always (ids, tokens, codes): short printable
    // ASCII, which has no control characters and cannot exceed the cap in characters.
    if s.len() <= MAX_SERVER_TEXT && all_bytes_in(s, 0x20, 0x7e) {
        return s.to_owned();
    }
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_SERVER_TEXT)
        .collect()
}

/// Whether a server-issued value can be sent back in a header: non-empty visible ASCII, so a
/// hostile server cannot split headers (`\r\n`) or smuggle bytes HTTP libraries reject.
pub(crate) fn is_header_safe(value: &str) -> bool {
    !value.is_empty() && all_bytes_in(value, 0x21, 0x7e)
}

/// Whether every byte of `s` is in `lo..=hi`. No early exit, so the loop vectorizes: these
/// checks run over every token of every response, and the answer is almost always yes.
pub(crate) fn all_bytes_in(s: &str, lo: u8, hi: u8) -> bool {
    s.bytes().fold(true, |ok, b| ok & (lo..=hi).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Probe {
        a: String,
    }

    #[test]
    fn json_from_bytes_reads_as_from_slice_does() {
        let bodies: [&[u8]; 6] = [
            br#"{"a":"x\u00e9y","b":1}"#,
            "{\"a\":\"caf\u{e9}\"}".as_bytes(),
            // Invalid UTF-8 inside a string the reader skips: `from_slice` accepts it.
            b"{\"skipped\":\"\xff\xfe\",\"a\":\"ok\"}",
            // ... and inside a string it keeps: both refuse it.
            b"{\"a\":\"\xff\"}",
            b"{\"a\":1}",
            b"",
        ];
        for body in bodies {
            let ours =
                json_from_bytes::<Probe>(body).map_err(|e| (e.classify(), e.line(), e.column()));
            let theirs = serde_json::from_slice::<Probe>(body)
                .map_err(|e| (e.classify(), e.line(), e.column()));
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(
            json_from_bytes::<Probe>(b"{\"skipped\":\"\xff\",\"a\":\"ok\"}")
                .map(|p| p.a)
                .ok(),
            Some("ok".to_owned())
        );
    }
}
