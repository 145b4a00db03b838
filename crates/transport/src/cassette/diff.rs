//! Why a replay refused a request: a readable diff of what the cassette recorded against
//! what the run sent, field by field, with every secret of both sides shown as a placeholder.

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Where: `method`, `path`, `header.checkIdentity`, `body.scope[0]`, `body`.
    pub at: String,
    /// What the cassette recorded there (placeholders as recorded), or `nothing`.
    pub expected: String,
    /// What the run sent there, secrets redacted, or `nothing`.
    pub got: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.at, self.expected, self.got
        )
    }
}

/// Why a replay could not answer a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The request differs from the next exchange the cassette recorded.
    #[error("{}", render_mismatch(*.exchange, *.of, .step, .differences))]
    Mismatch {
        /// The exchange it was compared with, from 1.
        exchange: usize,
        /// How many exchanges the cassette holds.
        of: usize,
        /// The recorded exchange's step, method and path (`realm.token POST /auth/...`).
        step: String,
        /// Each field that differs.
        differences: Vec<Difference>,
    },
    /// Every recorded exchange was used, and the run sent another request.
    #[error(
        "the cassette holds {recorded} exchanges, all replayed, and the run sent another: \
         {request}; it was not recorded"
    )]
    PastTheEnd {
        /// How many exchanges the cassette holds.
        recorded: usize,
        /// The extra request's step, method and path.
        request: String,
    },
}

fn render_mismatch(exchange: usize, of: usize, step: &str, differences: &[Difference]) -> String {
    let mut out =
        format!("the request differs from exchange {exchange} of {of} in the cassette ({step}):");
    for d in differences {
        out.push_str("\n  ");
        out.push_str(&d.to_string());
    }
    out
}

/// The longest value shown in a difference, in characters.
const SHOWN: usize = 120;

/// `text` quoted as JSON, cut to [`SHOWN`] characters.
pub(crate) fn quoted(text: &str) -> String {
    let json = serde_json::Value::String(text.to_owned()).to_string();
    cut(&json)
}

/// `text` cut to [`SHOWN`] characters.
pub(crate) fn cut(text: &str) -> String {
    if text.chars().count() <= SHOWN {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN).collect();
    format!("{head}... ({} characters)", text.chars().count())
}

/// A JSON value as a diff shows it: scalars as JSON, containers by shape (a container the run
/// sent in an unexpected place could hold anything).
pub(crate) fn shape(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            format!("an object with keys {}", cut(&keys.join(", ")))
        }
        serde_json::Value::Array(items) => format!("an array of {} items", items.len()),
        serde_json::Value::String(_) => "a string".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_lists_each_field() {
        let e = ReplayError::Mismatch {
            exchange: 2,
            of: 3,
            step: "realm.token POST /auth/realm/cap/token".into(),
            differences: vec![Difference {
                at: "body.scope[0]".into(),
                expected: "\"openid\"".into(),
                got: "\"profile\"".into(),
            }],
        };
        assert_eq!(
            e.to_string(),
            "the request differs from exchange 2 of 3 in the cassette (realm.token POST \
             /auth/realm/cap/token):\n  body.scope[0]: expected \"openid\", got \"profile\""
        );
        assert!(cut(&"x".repeat(500)).ends_with("(500 characters)"));
    }
}
