//! Tolerant field readers for response bodies: a field of an unexpected type is not an error
//! (the contract's tolerant reader), and nothing is built that is not kept (no `Value` trees).

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::wire::{MAX_SERVER_TEXT, bound};

/// A text field: a string is kept (length-bounded, control characters dropped); an array of
/// strings is joined with spaces (a scope sometimes arrives so); any other type reads as absent.
#[derive(Debug, Default)]
pub(crate) struct Text(pub(crate) Option<String>);

fn bound_owned(s: String) -> String {
    if s.len() <= MAX_SERVER_TEXT && !s.chars().any(char::is_control) {
        s
    } else {
        bound(&s)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(bound(v))))
            }
            fn visit_string<E>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(bound_owned(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Text, D2::Error> {
                Text::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                let mut joined = String::new();
                while let Some(item) = seq.next_element::<Text>()? {
                    if let Some(s) = item.0 {
                        if !joined.is_empty() {
                            joined.push(' ');
                        }
                        joined.push_str(&s);
                    }
                }
                Ok(Text(Some(bound_owned(joined))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number of seconds: an integer, a float or a numeric string. `Some(None)` when present but
/// not a number.
#[derive(Debug, Default)]
pub(crate) struct Seconds(pub(crate) Option<Option<f64>>);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number of seconds")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Seconds, E> {
                Ok(Seconds(Some(Some(v as f64))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(Some(Some(v as f64))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Seconds, E> {
                Ok(Seconds(Some(Some(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Seconds, E> {
                Ok(Seconds(Some(v.trim().parse::<f64>().ok())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Seconds, E> {
                Ok(Seconds(Some(None)))
            }
            fn visit_unit<E>(self) -> Result<Seconds, E> {
                Ok(Seconds(None))
            }
            fn visit_none<E>(self) -> Result<Seconds, E> {
                Ok(Seconds(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Seconds, D2::Error> {
                Seconds::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seconds, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Seconds(Some(None)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seconds, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Seconds(Some(None)))
            }
        }
        d.deserialize_any(V)
    }
}
