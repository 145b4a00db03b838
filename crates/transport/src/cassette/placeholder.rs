//! Placeholders (`<password>`, `<access_token#1>`) and recorded strings made of text and
//! placeholders (`Bearer <flow_token#1>`).

use login_core::redact::SecretKind;

/// A placeholder: the kind of value it stands for, and its number when the kind is numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placeholder {
    pub kind: SecretKind,
    pub number: Option<u32>,
}

impl Placeholder {
    /// `<kind>` or `<kind#n>`.
    pub fn text(self) -> String {
        match self.number {
            Some(n) => format!("<{}#{n}>", self.kind.name()),
            None => format!("<{}>", self.kind.name()),
        }
    }

    /// Whether a replay ties the placeholder to one value (numbered ones), rather than
    /// letting it stand for any.
    pub fn binds(self) -> bool {
        self.number.is_some()
    }

    /// The value a replayed response carries where the cassette has this placeholder and the
    /// run has sent no value for it yet: visible ASCII, unique per placeholder.
    pub fn synthetic_value(self) -> String {
        let kind = self.kind.name().replace('_', "-");
        match self.number {
            Some(n) => format!("replayed-{kind}-{n}"),
            None => format!("replayed-{kind}"),
        }
    }
}

/// One piece of a recorded string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    /// Text kept as it was.
    Text(&'a str),
    /// A placeholder, with its text as written.
    Hole(Placeholder, &'a str),
}

/// Parses `<name>` or `<name#n>` where `name` is a [`SecretKind`] name; anything else is text.
fn parse_hole(candidate: &str) -> Option<Placeholder> {
    let inner = candidate.strip_prefix('<')?.strip_suffix('>')?;
    let (name, number) = match inner.split_once('#') {
        Some((name, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (name, Some(n.parse().ok()?))
        }
        Some(_) => return None,
        None => (inner, None),
    };
    let kind = SecretKind::from_name(name)?;
    // The recorder numbers exactly the numbered kinds: `<code>` (an HTML tag in an error page)
    // is text, `<code#1>` a placeholder.
    (number.is_some() == kind.is_numbered()).then_some(Placeholder { kind, number })
}

/// The pieces of a recorded string, in order. Adjacent text is one piece.
pub(crate) fn parts(s: &str) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    let mut text_from = 0;
    let mut at = 0;
    while let Some(open) = s[at..].find('<').map(|i| at + i) {
        let Some(close) = s[open..].find('>').map(|i| open + i) else {
            break;
        };
        // The last `<` before the `>`: `a<b<password>` has the hole at the second.
        let open = s[open..close].rfind('<').map_or(open, |i| open + i);
        match parse_hole(&s[open..=close]) {
            Some(hole) => {
                if text_from < open {
                    out.push(Part::Text(&s[text_from..open]));
                }
                out.push(Part::Hole(hole, &s[open..=close]));
                text_from = close + 1;
                at = close + 1;
            }
            None => at = open + 1,
        }
    }
    if text_from < s.len() || out.is_empty() {
        out.push(Part::Text(&s[text_from..]));
    }
    out
}

/// Whether `s` holds at least one placeholder.
pub(crate) fn has_holes(s: &str) -> bool {
    s.contains('<') && parts(s).iter().any(|p| matches!(p, Part::Hole(..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_strings_split_into_text_and_placeholders() {
        let token = Placeholder {
            kind: SecretKind::FlowToken,
            number: Some(2),
        };
        assert_eq!(
            parts("Bearer <flow_token#2>"),
            [Part::Text("Bearer "), Part::Hole(token, "<flow_token#2>")]
        );
        let password = Placeholder {
            kind: SecretKind::Password,
            number: None,
        };
        assert_eq!(
            parts("a<b<password>c"),
            [
                Part::Text("a<b"),
                Part::Hole(password, "<password>"),
                Part::Text("c")
            ]
        );
        for text in [
            "<b>bold</b>",
            "<username>",
            "<otp#>",
            "<otp#x>",
            "x < y > z",
            "",
        ] {
            assert_eq!(parts(text), [Part::Text(text)], "{text}");
            assert!(!has_holes(text));
        }
        assert_eq!(token.text(), "<flow_token#2>");
        assert_eq!(token.synthetic_value(), "replayed-flow-token-2");
    }
}
