//! A response body read for its shape: each top-level field's name and JSON type, and the
//! value only of the few fields whose value the contract constrains and that hold no secret
//! (`mfa`, `channel`, the expiry numbers, `error`, ...). Token and code strings are skipped
//! as they are parsed, never copied, so the comparison keeps no secret in memory.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields whose string values are kept (none of them is a secret).
const KEPT: [&str; 9] = [
    "mfa",
    "channel",
    "tokenType",
    "error",
    "message",
    "success",
    "exp",
    "expires",
    "refreshExpires",
];

/// What one field held.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// `null`.
    Null,
    /// A boolean.
    Bool,
    /// A number.
    Number(f64),
    /// A string: its number when it spells one, and its text for the kept fields.
    Str {
        /// The number the string spells (`"300"`), when it does.
        numeric: Option<f64>,
        /// The text, for the fields in `KEPT`.
        text: Option<String>,
    },
    /// An array: whether every item is a string.
    Array {
        /// Every item is a string.
        all_strings: bool,
    },
    /// An object.
    Object,
}

impl Seen {
    /// The contract's name for the type seen.
    pub fn type_name(&self) -> &'static str {
        match self {
            Seen::Null => "null",
            Seen::Bool => "boolean",
            Seen::Number(_) => "number",
            Seen::Str { .. } => "string",
            Seen::Array { all_strings: true } => "string array",
            Seen::Array { .. } => "array",
            Seen::Object => "object",
        }
    }
}

/// Why a body is not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnObject {
    /// No bytes at all.
    Empty,
    /// Not JSON (HTML, text, garbage).
    NotJson,
    /// JSON, but an array, a string, a number, ...
    OtherJson,
}

/// The fields of a JSON object body, in order.
#[derive(Debug, Default)]
pub struct Shallow {
    /// Name and what it held.
    pub fields: Vec<(String, Seen)>,
}

impl Shallow {
    /// Reads `body`.
    ///
    /// # Errors
    /// The body is empty, not JSON, or JSON but not an object.
    pub fn read(body: &[u8]) -> Result<Self, NotAnObject> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(NotAnObject::Empty);
        }
        let mut de = serde_json::Deserializer::from_slice(body);
        match de.deserialize_any(ObjectVisitor) {
            Ok(Some(fields)) if de.end().is_ok() => Ok(Shallow { fields }),
            Ok(Some(_)) => Err(NotAnObject::NotJson),
            Ok(None) => Err(NotAnObject::OtherJson),
            Err(_) => Err(NotAnObject::NotJson),
        }
    }

    /// The field called `name`.
    pub fn get(&self, name: &str) -> Option<&Seen> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// The top level: `Some(fields)` for an object, `None` for any other JSON value.
struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Option<Vec<(String, Seen)>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let keep = KEPT.contains(&name.as_str());
            let seen = map.next_value_seed(FieldSeed { keep })?;
            fields.push((name, seen));
        }
        Ok(Some(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// One field's value.
struct FieldSeed {
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Seen;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Seen, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Seen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Seen, E> {
        Ok(Seen::Bool)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seen, E> {
        Ok(Seen::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seen, E> {
        Ok(Seen::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seen, E> {
        Ok(Seen::Number(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Seen, E> {
        let t = v.trim();
        let numeric = if !t.is_empty()
            && t.len() <= 32
            && t.bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            t.parse::<f64>().ok()
        } else {
            None
        };
        Ok(Seen::Str {
            numeric,
            text: self.keep.then(|| v.chars().take(256).collect()),
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Seen, E> {
        Ok(Seen::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Seen, E> {
        Ok(Seen::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seen, A::Error> {
        let mut all_strings = true;
        while let Some(is_string) = seq.next_element_seed(IsString)? {
            all_strings &= is_string;
        }
        Ok(Seen::Array { all_strings })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seen, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Seen::Object)
    }
}

/// Whether an array item is a string (its text is not kept).
struct IsString;

impl<'de> DeserializeSeed<'de> for IsString {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IsString {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_read_and_secret_values_are_not_kept() {
        let body = br#"{"accessToken":"CANARY-A","expires":"300","mfa":"otp","scope":["a","b"],
                        "x":{"y":[1]},"n":null,"ok":true,"r":[1,"a"]}"#;
        let s = Shallow::read(body).unwrap();
        assert_eq!(
            s.get("accessToken"),
            Some(&Seen::Str {
                numeric: None,
                text: None
            })
        );
        assert!(!format!("{s:?}").contains("CANARY"));
        assert_eq!(
            s.get("expires"),
            Some(&Seen::Str {
                numeric: Some(300.0),
                text: Some("300".into())
            })
        );
        assert_eq!(s.get("scope").map(Seen::type_name), Some("string array"));
        assert_eq!(s.get("r").map(Seen::type_name), Some("array"));
        assert_eq!(s.get("x"), Some(&Seen::Object));
        assert_eq!(s.get("n"), Some(&Seen::Null));
        assert_eq!(Shallow::read(b" ").unwrap_err(), NotAnObject::Empty);
        assert_eq!(Shallow::read(b"<html>").unwrap_err(), NotAnObject::NotJson);
        assert_eq!(Shallow::read(b"[1]").unwrap_err(), NotAnObject::OtherJson);
        assert_eq!(Shallow::read(b"{} x").unwrap_err(), NotAnObject::NotJson);
    }
}
