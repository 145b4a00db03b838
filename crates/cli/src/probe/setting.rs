//! A profile setting the probe names: a key of login-core's profile (`scopeForm`, `expiry`,
//! `routes`, `envelope`, ...) and its JSON value, applied by merging it into the profile's
//! serialized form, and shown and written as the profile file's key (`scope-form`,
//! `envelope-field`, `paths.authorize`: see `crate::readings`). The probe's alternatives for a
//! refused step come from here.

use login_core::Profile;
use login_core::contract::Reading;
use login_core::table::StepId;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// A profile key and the value that accepts what the server did. It is held as login-core's
/// profile key (camelCase, how it is applied) and shown and written as the profile file's key
/// (kebab-case; `envelope-field`, `paths.authorize`).
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The profile key (camelCase, as login-core's profiles serialize).
    pub key: String,
    /// Its value; an object is merged into the key's object (`routes`, `envelope`).
    pub value: Value,
}

/// `{"key": <the profile file's key>, "value": ...}`.
impl Serialize for Setting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (key, value) = self.file_entry();
        json!({"key": key, "value": value}).serialize(s)
    }
}

/// `scopeForm` as a profile file spells it: `scope-form`.
fn kebab(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Setting {
    /// `key` = `value`.
    pub fn new(key: &str, value: Value) -> Self {
        Self {
            key: key.to_owned(),
            value,
        }
    }

    /// The profile file's key and value: `scope-form`, `envelope-field` (an `envelope`
    /// object's one key), `paths.authorize` (a `routes` object's one key).
    pub fn file_entry(&self) -> (String, Value) {
        match (self.key.as_str(), &self.value) {
            ("envelope", Value::Object(m)) if m.len() == 1 => {
                let (k, v) = m
                    .iter()
                    .next()
                    .map_or((String::new(), Value::Null), |(k, v)| {
                        (k.clone(), v.clone())
                    });
                (format!("envelope-{}", kebab(&k)), v)
            }
            ("routes", Value::Object(m)) if m.len() == 1 => {
                let (k, v) = m
                    .iter()
                    .next()
                    .map_or((String::new(), Value::Null), |(k, v)| {
                        (k.clone(), v.clone())
                    });
                (format!("paths.{k}"), v)
            }
            (k, v) => (kebab(k), v.clone()),
        }
    }

    /// `key = value` as a profile file says it, for text output.
    pub fn shown(&self) -> String {
        let (key, value) = self.file_entry();
        format!("{key} = {value}")
    }
}

/// Merges `patch` into `target`: objects key by key, anything else replaced.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// `profile` with `readings` (login-core profile keys) merged into its serialized form.
///
/// # Errors
/// The merged form is not a profile of its API (a value of the wrong kind).
fn apply_map(profile: &Profile, readings: &Map<String, Value>) -> Result<Profile, String> {
    let patch = Value::Object(readings.clone());
    let apply = |mut v: Value| {
        merge(&mut v, &patch);
        v
    };
    let bad = |e: serde_json::Error| e.to_string();
    Ok(match profile {
        Profile::Realm(p) => Profile::Realm(
            serde_json::from_value(apply(serde_json::to_value(p).map_err(bad)?)).map_err(bad)?,
        ),
        Profile::Ciam(p) => Profile::Ciam(
            serde_json::from_value(apply(serde_json::to_value(p).map_err(bad)?)).map_err(bad)?,
        ),
    })
}

/// `profile` with `settings` applied.
///
/// # Errors
/// As [`apply_map`].
pub fn apply(profile: &Profile, settings: &[Setting]) -> Result<Profile, String> {
    let mut map = Map::new();
    for s in settings {
        merge(map.entry(s.key.clone()).or_insert(Value::Null), &s.value);
    }
    apply_map(profile, &map)
}

/// Whether `profile` already holds `setting`.
pub fn holds(profile: &Profile, setting: &Setting) -> bool {
    apply(profile, std::slice::from_ref(setting)).is_ok_and(|p| &p == profile)
}

/// The profile's serialized value at `key` (`None` when left out: the default).
pub fn value_of(profile: &Profile, key: &str) -> Option<Value> {
    let v = match profile {
        Profile::Realm(p) => serde_json::to_value(p).ok()?,
        Profile::Ciam(p) => serde_json::to_value(p).ok()?,
    };
    v.get(key).cloned()
}

/// The route key of an internet-banking step in a profile's `routes`.
pub fn route_key(step: StepId) -> Option<&'static str> {
    login_core::ciam::Routes::name_of(step)
}

/// The setting that sends `step` where a redirect pointed (`location`), when the API has
/// configurable routes and the target is on the base URL's origin under its path (`prefix`,
/// the base URL's path without a trailing slash).
pub fn route_setting(step: StepId, location: &str, origin: &str, prefix: &str) -> Option<Setting> {
    let key = route_key(step)?;
    let path = match location.strip_prefix(origin) {
        Some(rest) if rest.starts_with('/') => rest,
        Some(_) => return None,
        None if location.starts_with('/') && !location.starts_with("//") => location,
        None => return None,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let relative = path.strip_prefix(prefix).filter(|p| p.starts_with('/'))?;
    Some(Setting::new("routes", json!({ key: relative })))
}

/// Names a refusal's message gives that could be a field or header name: what a server says
/// it expected instead. Quoted ones first (`` `x` ``, `'x'`, `"x"`), then bare camelCase or
/// hyphenated words (`captchaIdentity`, `x-captcha-id`).
pub fn quoted_names(message: &str) -> Vec<String> {
    let is_name = |w: &str| {
        !w.is_empty()
            && w.len() <= 64
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut out: Vec<String> = Vec::new();
    for quote in ['`', '\'', '"'] {
        let parts: Vec<&str> = message.split(quote).collect();
        // Odd parts are inside a pair of quotes (the last part has no closing quote).
        for inside in parts
            .iter()
            .skip(1)
            .step_by(2)
            .take(parts.len().saturating_sub(1) / 2)
        {
            if is_name(inside) && !out.iter().any(|o| o == inside) {
                out.push((*inside).to_owned());
            }
        }
    }
    for word in message.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        let word = word.trim_matches('-');
        let camel = word.starts_with(|c: char| c.is_ascii_lowercase())
            && word.contains(|c: char| c.is_ascii_uppercase());
        let hyphenated = word.contains('-') && word.contains(|c: char| c.is_ascii_alphabetic());
        if (camel || hyphenated) && is_name(word) && !out.iter().any(|o| o == word) {
            out.push(word.to_owned());
        }
    }
    out
}

/// The settings worth one more try of `step` after it was refused with 400 `invalid_request`
/// (its `message` read for names), each with the reading it departs from: the request-side
/// readings that apply to the step, the message's hints first. At most three.
pub fn alternatives(step: StepId, profile: &Profile, message: &str) -> Vec<(Setting, Reading)> {
    let names = quoted_names(message);
    let lower = message.to_ascii_lowercase();
    let mut out: Vec<(Setting, Reading)> = Vec::new();
    let flip_scope = |profile: &Profile| -> Option<(Setting, Reading)> {
        let (other, reading) = match (profile, value_of(profile, "scopeForm")) {
            (Profile::Realm(_), Some(v)) if v == "string" => ("array", Reading::RealmScope),
            (Profile::Realm(_), _) => ("string", Reading::RealmScope),
            (Profile::Ciam(_), Some(v)) if v == "array" => ("string", Reading::CiamScope),
            (Profile::Ciam(_), _) => ("array", Reading::CiamScope),
        };
        Some((Setting::new("scopeForm", json!(other)), reading))
    };
    match step {
        StepId::RealmToken
        | StepId::CiamAuthorize
        | StepId::CiamAccessToken
        | StepId::CiamRefresh => out.extend(flip_scope(profile)),
        _ => {}
    }
    match step {
        StepId::RealmRefresh => {
            out.push((
                Setting::new("refreshFields", json!("tokenOnly")),
                Reading::RealmRefreshFields,
            ));
        }
        StepId::CiamCaptcha => {
            for name in names.iter().filter(|n| *n != "checkIdentity") {
                out.push((
                    Setting::new("captchaHeader", json!(name)),
                    Reading::CaptchaHeader,
                ));
            }
        }
        StepId::CiamLoginChallenge => {
            let enc_hint = lower.contains("a128gcm") || lower.contains("enc");
            let enc = (
                Setting::new("envelope", json!({"enc": "A128GCM"})),
                Reading::CredentialEnvelope,
            );
            if enc_hint {
                out.push(enc.clone());
            }
            for name in names.iter().filter(|n| {
                !matches!(
                    n.as_str(),
                    "authToken" | "loginChallenge" | "A128GCM" | "A256GCM"
                )
            }) {
                out.push((
                    Setting::new("envelope", json!({"field": name})),
                    Reading::CredentialEnvelope,
                ));
            }
            if !enc_hint {
                out.push(enc);
            }
        }
        _ => {}
    }
    // A message that names the scope puts the scope first.
    if lower.contains("scope") {
        out.sort_by_key(|(s, _)| s.key != "scopeForm");
    }
    out.retain(|(s, _)| !holds(profile, s));
    out.truncate(3);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use login_core::ciam::CiamProfile;

    #[test]
    fn quoted_names_are_found_in_any_quotes() {
        assert_eq!(
            quoted_names("send the envelope in `credentials`, not 'authToken' (\"x y\")"),
            ["credentials", "authToken"]
        );
        assert_eq!(
            quoted_names("send the login challenge in the captchaIdentity header"),
            ["captchaIdentity"]
        );
        assert!(quoted_names("no quotes at all").is_empty());
    }

    #[test]
    fn a_route_setting_is_relative_to_the_base_url() {
        let s = route_setting(
            StepId::CiamAuthorize,
            "http://h:1/base/v2/authorize?x=1",
            "http://h:1",
            "/base",
        );
        assert_eq!(
            s.map(|s| s.value),
            Some(json!({"authorize": "/v2/authorize"}))
        );
        assert!(
            route_setting(StepId::CiamAuthorize, "https://other/x", "http://h:1", "").is_none()
        );
        assert!(route_setting(StepId::RealmToken, "/x", "http://h:1", "").is_none());
    }

    #[test]
    fn settings_are_shown_as_profile_file_keys() {
        let entry = |k: &str, v: Value| Setting::new(k, v).file_entry();
        assert_eq!(
            entry("scopeForm", json!("array")),
            ("scope-form".into(), json!("array"))
        );
        assert_eq!(
            entry("envelope", json!({"field": "credentials"})),
            ("envelope-field".into(), json!("credentials"))
        );
        assert_eq!(
            entry("routes", json!({"authorize": "/api/v2/authorize"})),
            ("paths.authorize".into(), json!("/api/v2/authorize"))
        );
        assert_eq!(
            serde_json::to_value(Setting::new("refreshFields", json!("tokenOnly"))).unwrap(),
            json!({"key": "refresh-fields", "value": "tokenOnly"})
        );
    }

    #[test]
    fn routes_merge_into_the_profile() {
        let p = Profile::from(CiamProfile::new("ib", "https://app.example/cb"));
        let s = Setting::new("routes", json!({"authorize": "/v2/authorize"}));
        let Profile::Ciam(changed) = apply(&p, std::slice::from_ref(&s)).unwrap() else {
            panic!("ciam")
        };
        assert_eq!(
            changed.route_set().path(StepId::CiamAuthorize),
            "/v2/authorize"
        );
        assert_eq!(
            changed.route_set().path(StepId::CiamRefresh),
            "/api/v1/refresh-token"
        );
        assert!(!holds(&p, &s));
        assert!(holds(&Profile::Ciam(changed), &s));
    }
}
