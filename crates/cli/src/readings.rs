//! The reading settings of a profile file (`--profile FILE`): the wire readings a bank may take
//! the other way (login-core's `readings`), under kebab-case keys beside the flags' keys. They
//! have no flags: a bank's dialect is written down once, in its profile file (which
//! `loginflow probe --suggest-profile` can write), and every command run with the file uses it.
//!
//! ```toml
//! scope-form = "array"          # "string" | "array" (default: realm array, ciam string)
//! expiry = "unixTime"           # "lifetime" | "unixTime"
//! success = "documented"        # "any2xx" | "documented"
//! refresh-fields = "tokenOnly"  # realm: "clientIdAndToken" | "tokenOnly"
//! ticket-source = "verify_ref_id"   # realm: "verify_req_id" | "verify_ref_id"
//! captcha-header = "captchaIdentity"  # ciam
//! envelope-field = "credentials"      # ciam
//! envelope-enc = "A128GCM"            # ciam: "A256GCM" | "A128GCM"
//! envelope-username-field = "login"   # ciam
//! envelope-password-field = "secret"  # ciam
//! [paths]                             # ciam: a step's path, over the `routes` set
//! authorize = "/api/v2/authorize"
//! ```
//!
//! The values are spelled as in a serialized login-core profile. A key of the other API is
//! ignored (one file may serve both APIs), like the other settings of a profile file.

use std::collections::BTreeMap;

use login_core::Profile;
use login_core::ciam::{CiamProfile, Routes};
use login_core::readings::{
    ContentEncryption, ExpiryForm, HeaderName, RefreshFields, ScopeForm, SuccessStatus,
    TicketSource,
};
use login_core::realm::RealmProfile;
use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// The reading keys of a profile file; each absent one keeps the API's default (the contract's
/// reading). It also serializes (only what is set), for writing a profile file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProfileReadings {
    /// `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<SuccessStatus>,
    /// `scope-form`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_form: Option<ScopeForm>,
    /// `expiry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<ExpiryForm>,
    /// `refresh-fields` (realm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_fields: Option<RefreshFields>,
    /// `ticket-source` (realm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_source: Option<TicketSource>,
    /// `captcha-header` (internet banking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captcha_header: Option<HeaderName>,
    /// `envelope-field` (internet banking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_field: Option<String>,
    /// `envelope-enc` (internet banking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_enc: Option<ContentEncryption>,
    /// `envelope-username-field` (internet banking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_username_field: Option<String>,
    /// `envelope-password-field` (internet banking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_password_field: Option<String>,
    /// `paths` (internet banking): route name (`authorize`, `captcha`, `loginChallenge`,
    /// `preLoginVerify`, `accessToken`, `revoke`, `refresh`) to path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paths: BTreeMap<String, String>,
}

impl ProfileReadings {
    /// The realm profile with the realm readings set here.
    pub fn apply_realm(&self, mut p: RealmProfile) -> RealmProfile {
        if let Some(v) = self.success {
            p = p.success_status(v);
        }
        if let Some(v) = self.scope_form {
            p = p.scope_form(v);
        }
        if let Some(v) = self.expiry {
            p = p.expiry(v);
        }
        if let Some(v) = self.refresh_fields {
            p = p.refresh_fields(v);
        }
        if let Some(v) = self.ticket_source {
            p = p.ticket_source(v);
        }
        p
    }

    /// The internet-banking profile with the readings set here (its routes already chosen).
    ///
    /// # Errors
    /// A configuration error for an envelope field name login-core refuses, or a `paths` key
    /// that names no step.
    pub fn apply_ciam(&self, mut p: CiamProfile) -> Result<CiamProfile, CliError> {
        let bad = |key: &str, e: &dyn std::fmt::Display| {
            CliError::config(format!("profile file: {key}: {e}"))
        };
        if let Some(v) = self.success {
            p = p.success_status(v);
        }
        if let Some(v) = self.scope_form {
            p = p.scope_form(v);
        }
        if let Some(v) = self.expiry {
            p = p.expiry(v);
        }
        if let Some(v) = &self.captcha_header {
            p = p.captcha_header(v.clone());
        }
        let mut envelope = p.envelope_value().clone();
        if let Some(v) = &self.envelope_field {
            envelope = envelope
                .field(v.as_str())
                .map_err(|e| bad("envelope-field", &e))?;
        }
        if let Some(v) = self.envelope_enc {
            envelope = envelope.enc(v);
        }
        if let Some(v) = &self.envelope_username_field {
            envelope = envelope
                .username_field(v.as_str())
                .map_err(|e| bad("envelope-username-field", &e))?;
        }
        if let Some(v) = &self.envelope_password_field {
            envelope = envelope
                .password_field(v.as_str())
                .map_err(|e| bad("envelope-password-field", &e))?;
        }
        p = p.envelope(envelope);
        if !self.paths.is_empty() {
            let mut routes = p.route_set().clone();
            for (name, path) in &self.paths {
                let step = Routes::step_named(name).ok_or_else(|| {
                    bad(
                        "paths",
                        &format!(
                            "{name:?} is no step; the steps are authorize, captcha, \
                             loginChallenge, preLoginVerify, accessToken, revoke, refresh"
                        ),
                    )
                })?;
                routes = routes.with(step, path.as_str());
            }
            p = p.routes(routes);
        }
        Ok(p)
    }

    /// The readings of `profile` that differ from its API's defaults, as a profile file writes
    /// them (`paths` holds each step whose path is not the gateway's).
    #[allow(
        dead_code,
        reason = "for `loginflow probe --suggest-profile`, which writes these keys"
    )]
    pub fn of_profile(profile: &Profile) -> Self {
        match profile {
            Profile::Realm(p) => {
                let d = RealmProfile::new(p.realm_id(), p.client_id());
                ProfileReadings {
                    success: changed(p.success_status_value(), d.success_status_value()),
                    scope_form: changed(p.scope_form_value(), d.scope_form_value()),
                    expiry: changed(p.expiry_value(), d.expiry_value()),
                    refresh_fields: changed(p.refresh_fields_value(), d.refresh_fields_value()),
                    ticket_source: changed(p.ticket_source_value(), d.ticket_source_value()),
                    ..ProfileReadings::default()
                }
            }
            Profile::Ciam(p) => {
                let d = CiamProfile::new(p.client_id(), p.redirect_uri());
                let (e, de) = (p.envelope_value(), d.envelope_value());
                let text = |a: &str, b: &str| (a != b).then(|| a.to_owned());
                let gateway = Routes::gateway();
                let paths = [
                    login_core::table::StepId::CiamAuthorize,
                    login_core::table::StepId::CiamCaptcha,
                    login_core::table::StepId::CiamLoginChallenge,
                    login_core::table::StepId::CiamPreLoginVerify,
                    login_core::table::StepId::CiamAccessToken,
                    login_core::table::StepId::CiamRevoke,
                    login_core::table::StepId::CiamRefresh,
                ]
                .into_iter()
                .filter(|s| p.route_set().path(*s) != gateway.path(*s))
                .filter_map(|s| {
                    Routes::name_of(s).map(|n| (n.to_owned(), p.route_set().path(s).to_owned()))
                })
                .collect();
                ProfileReadings {
                    success: changed(p.success_status_value(), d.success_status_value()),
                    scope_form: changed(p.scope_form_value(), d.scope_form_value()),
                    expiry: changed(p.expiry_value(), d.expiry_value()),
                    captcha_header: (p.captcha_header_name() != d.captcha_header_name())
                        .then(|| HeaderName::new(p.captcha_header_name()).ok())
                        .flatten(),
                    envelope_field: text(e.field_name(), de.field_name()),
                    envelope_enc: changed(e.enc_value(), de.enc_value()),
                    envelope_username_field: text(
                        e.username_field_name(),
                        de.username_field_name(),
                    ),
                    envelope_password_field: text(
                        e.password_field_name(),
                        de.password_field_name(),
                    ),
                    paths,
                    ..ProfileReadings::default()
                }
            }
        }
    }
}

/// `value` when it differs from the default.
#[allow(dead_code, reason = "used by `of_profile`")]
fn changed<T: PartialEq>(value: T, default: T) -> Option<T> {
    (value != default).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use login_core::table::StepId;

    const FILE: &str = r#"
scope-form = "array"
expiry = "unixTime"
success = "documented"
refresh-fields = "tokenOnly"
ticket-source = "verify_ref_id"
captcha-header = "captchaIdentity"
envelope-field = "credentials"
envelope-enc = "A128GCM"
envelope-username-field = "login"
envelope-password-field = "secret"

[paths]
authorize = "/api/v2/authorize"
"#;

    #[test]
    fn every_key_reaches_the_profile_of_its_api() {
        let r: ProfileReadings = toml::from_str(FILE).unwrap();
        let realm = r.apply_realm(RealmProfile::new("cap", "c"));
        assert_eq!(realm.scope_form_value(), ScopeForm::Array);
        assert_eq!(realm.expiry_value(), ExpiryForm::UnixTime);
        assert_eq!(realm.success_status_value(), SuccessStatus::Documented);
        assert_eq!(realm.refresh_fields_value(), RefreshFields::TokenOnly);
        assert_eq!(realm.ticket_source_value(), TicketSource::VerifyRefId);

        let ciam = r
            .apply_ciam(CiamProfile::new("ib", "https://app.example/cb").routes(Routes::service()))
            .unwrap();
        assert_eq!(ciam.scope_form_value(), ScopeForm::Array);
        assert_eq!(ciam.captcha_header_name(), "captchaIdentity");
        let e = ciam.envelope_value();
        assert_eq!(
            (
                e.field_name(),
                e.enc_value(),
                e.username_field_name(),
                e.password_field_name()
            ),
            ("credentials", ContentEncryption::A128Gcm, "login", "secret")
        );
        assert_eq!(
            ciam.route_set().path(StepId::CiamAuthorize),
            "/api/v2/authorize"
        );
        // Over the chosen set: the other steps keep the service paths.
        assert_eq!(
            ciam.route_set().path(StepId::CiamAccessToken),
            Routes::service().path(StepId::CiamAccessToken)
        );
    }

    #[test]
    fn what_a_profile_changes_is_written_back_and_reads_the_same() {
        let r: ProfileReadings = toml::from_str(FILE).unwrap();
        let ciam = r
            .apply_ciam(CiamProfile::new("ib", "https://app.example/cb"))
            .unwrap();
        let written = ProfileReadings::of_profile(&Profile::from(ciam.clone()));
        assert_eq!(
            written.refresh_fields, None,
            "a realm key is not a ciam reading"
        );
        let again: ProfileReadings =
            serde_json::from_str(&serde_json::to_string(&written).unwrap()).unwrap();
        assert_eq!(
            again
                .apply_ciam(CiamProfile::new("ib", "https://app.example/cb"))
                .unwrap(),
            ciam
        );
        let defaults = ProfileReadings::of_profile(&Profile::from(RealmProfile::new("cap", "c")));
        assert_eq!(serde_json::to_string(&defaults).unwrap(), "{}");
    }

    #[test]
    fn bad_values_are_configuration_errors() {
        for bad in [
            "expiry = \"absolute\"",
            "captcha-header = \"a b\"",
            "envelope-enc = \"A192GCM\"",
        ] {
            assert!(toml::from_str::<ProfileReadings>(bad).is_err(), "{bad}");
        }
        let r: ProfileReadings = toml::from_str("envelope-field = \"loginChallenge\"").unwrap();
        let e = r
            .apply_ciam(CiamProfile::new("ib", "https://app.example/cb"))
            .unwrap_err();
        assert!(e.message().contains("envelope-field"), "{}", e.message());
        let r: ProfileReadings = toml::from_str("[paths]\ntoken = \"/x\"").unwrap();
        let e = r
            .apply_ciam(CiamProfile::new("ib", "https://app.example/cb"))
            .unwrap_err();
        assert!(
            e.message().contains("\"token\" is no step"),
            "{}",
            e.message()
        );
    }
}
