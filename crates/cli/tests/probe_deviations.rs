//! One test per sandbox deviation (its `deviations` config section): the probe reports it, with
//! the reading it breaks and the setting that accepts it (none for what the tolerant reader
//! takes), and a login with the profile file `--suggest-profile` wrote then succeeds.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use common::{Env, json_of};
use login_sandbox::SandboxConfig;
use login_sandbox::config::Limit;
use login_sandbox::deviation::Deviation;
use serde_json::{Value, json};

/// Which API a case runs, and as whom.
#[derive(Clone, Copy)]
enum Api {
    /// The realm API as alice (no OTP).
    Realm,
    /// Internet banking as alice.
    Ciam,
}

/// A deviation the probe must report: on a call of `probe`/`step`, `what` (a part of it),
/// `reading`, the profile file's `setting` (`{"key", "value"}`, or null) and `accepted`.
struct Expected {
    at: &'static str,
    what: &'static str,
    reading: &'static str,
    setting: Value,
    accepted: bool,
}

/// What a case runs: the sandbox's deviation (and other changes), the API, extra probe and
/// login arguments, and the deviation expected.
struct Case {
    deviation: Deviation,
    adjust: fn(&mut SandboxConfig),
    api: Api,
    extra: &'static [&'static str],
    expected: Expected,
}

fn nothing(_: &mut SandboxConfig) {}

impl Case {
    fn env(&self) -> Env {
        Env::with(|c| {
            c.deviations = vec![self.deviation];
            (self.adjust)(c);
        })
    }

    fn command(&self, env: &Env) -> assert_cmd::Command {
        match self.api {
            Api::Realm => env.cap(),
            Api::Ciam => env.ciam(),
        }
    }

    fn user(&self) -> (&'static str, &'static str) {
        ("alice", "alice-password\n")
    }

    /// Probes (exit `exit`), checks the deviation, then logs in with the suggested profile.
    fn run(&self, exit: i32) -> (Env, Value) {
        let env = self.env();
        let suggested = env.path("suggested.toml");
        let (user, password) = self.user();
        let out = self
            .command(&env)
            .args([
                "--output",
                "json",
                "probe",
                "--username",
                user,
                "--password-stdin",
            ])
            .args(["--otp", "123456"])
            .args(self.extra)
            .arg("--suggest-profile")
            .arg(&suggested)
            .write_stdin(password)
            .output()
            .unwrap();
        let v = json_of(&out);
        assert_eq!(out.status.code(), Some(exit), "{}", pretty(&v));
        let e = &self.expected;
        let found = v["steps"].as_array().unwrap().iter().any(|s| {
            let at = format!(
                "{}/{}",
                s["probe"].as_str().unwrap(),
                s["step"].as_str().unwrap()
            );
            at == e.at
                && s["deviations"].as_array().unwrap().iter().any(|d| {
                    d["what"].as_str().unwrap().contains(e.what)
                        && d["reading"] == e.reading
                        && d["setting"] == e.setting
                        && d["accepted"] == e.accepted
                })
        });
        assert!(
            found,
            "{} at {}: {:?} ({}, {}, {}) in {}",
            self.deviation,
            e.at,
            e.what,
            e.reading,
            e.setting,
            e.accepted,
            pretty(&v)
        );
        // The file holds the setting, and the other commands take it.
        let text = std::fs::read_to_string(&suggested).unwrap();
        if let Some(key) = e.setting["key"].as_str() {
            let file: toml::Table = toml::from_str(&text).unwrap();
            let value = match key.split_once('.') {
                Some((table, k)) => file[table][k].clone(),
                None => file[key].clone(),
            };
            assert_eq!(json!(value), e.setting["value"], "{key} in {text}");
        }
        let out = self
            .command(&env)
            .arg("--profile")
            .arg(&suggested)
            .args([
                "--output",
                "json",
                "login",
                "--username",
                user,
                "--password-stdin",
            ])
            .args(["--otp", "123456"])
            .args(self.extra)
            .write_stdin(password)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} login: {out:?}\n{text}",
            self.deviation
        );
        assert_eq!(json_of(&out)["state"], "Tokened");
        (env, v)
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

fn setting(key: &str, value: &str) -> Value {
    json!({"key": key, "value": value})
}

#[test]
fn status_200_for_201_is_reported_and_accepted_by_the_default() {
    Case {
        deviation: Deviation::Status200,
        adjust: nothing,
        api: Api::Realm,
        extra: &[],
        expected: Expected {
            at: "login/request_login",
            what: "status 200, the contract documents 201",
            reading: "success-status",
            setting: setting("success", "any2xx"),
            accepted: true,
        },
    }
    .run(1);
}

#[test]
fn numbers_as_strings_are_taken_by_the_tolerant_reader() {
    Case {
        deviation: Deviation::NumbersAsStrings,
        adjust: nothing,
        api: Api::Realm,
        extra: &[],
        expected: Expected {
            at: "login/token",
            what: "field expires is a numeric string",
            reading: "tolerant-reader",
            setting: Value::Null,
            accepted: true,
        },
    }
    .run(1);
}

#[test]
fn a_scope_array_is_found_by_trying_and_named_as_scope_form() {
    let (_, v) = Case {
        deviation: Deviation::ScopeArray,
        adjust: nothing,
        api: Api::Ciam,
        extra: &[],
        expected: Expected {
            at: "wrong password/authorize",
            what: "refused with 400 invalid_request; the same step passed with scope-form",
            reading: "ciam-scope",
            setting: setting("scope-form", "array"),
            accepted: false,
        },
    }
    .run(1);
    assert_eq!(v["extraRequests"], 1, "one more authorize: {}", pretty(&v));
}

#[test]
fn a_realm_scope_string_is_found_by_trying_and_named_as_scope_form() {
    let (_, v) = Case {
        deviation: Deviation::ScopeString,
        adjust: nothing,
        api: Api::Realm,
        extra: &[],
        expected: Expected {
            at: "login/token",
            what: "refused with 400 invalid_request; the same step passed with scope-form",
            reading: "realm-scope",
            setting: setting("scope-form", "string"),
            accepted: false,
        },
    }
    .run(1);
    // Found on the login's token call; the made-up request id that follows already sends a
    // string, and gets the contract's 404.
    assert_eq!(v["extraRequests"], 1, "one more token call: {}", pretty(&v));
    let unknown = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["probe"] == "unknown request id")
        .unwrap();
    assert_eq!(unknown["status"], 404, "{}", pretty(&v));
}

#[test]
fn without_credentials_the_realm_scope_string_is_found_on_the_made_up_request_id() {
    let env = Env::with(|c| c.deviations = vec![Deviation::ScopeString]);
    let out = env
        .cap()
        .args(["--output", "json", "probe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json_of(&out);
    let steps = v["steps"].as_array().unwrap();
    // The array is refused (400), the string gets the contract's 404: the setting is named.
    let unknown: Vec<&Value> = steps
        .iter()
        .filter(|s| s["probe"] == "unknown request id")
        .collect();
    let statuses: Vec<&Value> = unknown.iter().map(|s| &s["status"]).collect();
    assert_eq!(statuses, [&json!(400), &json!(404)], "{}", pretty(&v));
    assert!(
        unknown[0]["deviations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["reading"] == "realm-scope"
                && d["setting"] == setting("scope-form", "string")),
        "{}",
        pretty(&v)
    );
    assert_eq!(v["extraRequests"], 1, "{}", pretty(&v));
}

#[test]
fn unknown_fields_are_taken_by_the_tolerant_reader() {
    Case {
        deviation: Deviation::UnknownFields,
        adjust: nothing,
        api: Api::Realm,
        extra: &[],
        expected: Expected {
            at: "login/request_login",
            what: "unknown field sandboxNote",
            reading: "tolerant-reader",
            setting: Value::Null,
            accepted: true,
        },
    }
    .run(1);
}

#[test]
fn a_missing_ref_id_conforms_and_is_noted() {
    let env = Env::with(|c| c.deviations = vec![Deviation::MissingRefId]);
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "probe",
            "--username",
            "bob",
            "--password-stdin",
        ])
        .args(["--otp", "123456"])
        .write_stdin("bob-password\n")
        .output()
        .unwrap();
    // The contract says the answer *may* carry refId: not a deviation, but worth a note.
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    let login = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["probe"] == "login" && s["step"] == "request_login")
        .unwrap();
    assert!(
        login["notes"].to_string().contains("mfa otp without refId"),
        "{}",
        pretty(&v)
    );
}

#[test]
fn html_error_bodies_are_reported_on_the_error_body_reading() {
    Case {
        deviation: Deviation::HtmlErrors,
        adjust: nothing,
        api: Api::Realm,
        extra: &[],
        expected: Expected {
            at: "wrong password/request_login",
            what: "the error body is not JSON",
            reading: "error-body",
            setting: Value::Null,
            accepted: true,
        },
    }
    .run(1);
}

#[test]
fn text_plain_answers_are_reported_on_the_json_bodies_reading() {
    Case {
        deviation: Deviation::TextPlain,
        adjust: nothing,
        api: Api::Realm,
        extra: &[],
        expected: Expected {
            at: "login/request_login",
            what: "content type \"text/plain",
            reading: "json-bodies",
            setting: Value::Null,
            accepted: true,
        },
    }
    .run(1);
}

#[test]
fn retry_after_as_a_date_is_reported_and_read() {
    // One credential attempt per user per 5 s: a second probe's login is throttled, and the
    // sandbox says when to come back as an HTTP date.
    let env = Env::with(|c| {
        c.deviations = vec![Deviation::RetryAfterDate];
        c.throttle.login_per_user = Some(Limit {
            limit: 1,
            window_secs: 5,
        });
    });
    let probe = || {
        env.cap()
            .args([
                "--output",
                "json",
                "probe",
                "--username",
                "alice",
                "--password-stdin",
            ])
            .write_stdin("alice-password\n")
            .output()
            .unwrap()
    };
    let first = probe();
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let out = probe();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json_of(&out);
    let dated = v["steps"].as_array().unwrap().iter().any(|s| {
        s["probe"] == "login"
            && s["status"] == 429
            && s["deviations"].as_array().unwrap().iter().any(|d| {
                d["what"].as_str().unwrap().contains("Retry-After is")
                    && d["reading"] == "retry-after"
                    && d["setting"].is_null()
                    && d["accepted"] == true
            })
    });
    assert!(dated, "{}", pretty(&v));
    // The driver waited until the date and the login went through.
    let login_token = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["probe"] == "login" && s["step"] == "token" && s["status"] == 201);
    assert!(login_token, "{}", pretty(&v));
    // Nothing to set: the login works as it is (waiting out the throttle again).
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .write_stdin("alice-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn a_redirected_step_is_followed_once_and_named_as_its_path() {
    let (_, v) = Case {
        deviation: Deviation::RedirectStep,
        adjust: nothing,
        api: Api::Ciam,
        extra: &[],
        expected: Expected {
            at: "wrong password/authorize",
            what: "answered 308 (a redirect to",
            reading: "no-redirects",
            setting: setting("paths.authorize", "/api/v2/authorize"),
            accepted: false,
        },
    }
    .run(1);
    assert_eq!(v["extraRequests"], 1, "{}", pretty(&v));
}

#[test]
fn another_envelope_field_is_read_from_the_refusal() {
    Case {
        deviation: Deviation::EnvelopeField,
        adjust: nothing,
        api: Api::Ciam,
        extra: &[],
        expected: Expected {
            at: "wrong password/login_challenge",
            what: "refused with 400 invalid_request; the same step passed with envelope-field",
            reading: "credential-envelope",
            setting: setting("envelope-field", "credentials"),
            accepted: false,
        },
    }
    .run(1);
}

#[test]
fn absolute_expiries_are_named_as_unix_time() {
    Case {
        deviation: Deviation::AbsoluteExpiry,
        adjust: nothing,
        api: Api::Realm,
        extra: &[],
        expected: Expected {
            at: "login/token",
            what: "field expires",
            reading: "expiry-lifetimes",
            setting: setting("expiry", "unixTime"),
            accepted: false,
        },
    }
    .run(1);
}

#[test]
fn a_refresh_that_takes_the_token_alone_is_found_and_then_works() {
    let (env, v) = Case {
        deviation: Deviation::RefreshTokenOnly,
        adjust: nothing,
        api: Api::Realm,
        extra: &[],
        expected: Expected {
            at: "refresh/refresh",
            what: "refused with 400 invalid_request; the same step passed with refresh-fields",
            reading: "realm-refresh-fields",
            setting: setting("refresh-fields", "tokenOnly"),
            accepted: false,
        },
    }
    .run(1);
    // The refresh was sent again with the token alone, and passed: one extra call.
    let again = v["steps"].as_array().unwrap().iter().any(|s| {
        s["probe"] == "refresh"
            && s["status"] == 200
            && s["request"]["fields"] == json!(["refreshToken"])
    });
    assert!(again, "{}", pretty(&v));
    // The made-up refresh that follows already goes out with what was found.
    assert_eq!(v["extraRequests"], 1, "{}", pretty(&v));
    // The suggested profile's refresh works too.
    let session = env.path("alice.session");
    env.cap()
        .arg("--profile")
        .arg(env.path("suggested.toml"))
        .args([
            "login",
            "--username",
            "alice",
            "--password-stdin",
            "--save-session",
        ])
        .arg(&session)
        .write_stdin("alice-password\n")
        .assert()
        .code(0);
    common::loginflow()
        .args(["refresh", "--session"])
        .arg(&session)
        .assert()
        .code(0);
}

#[test]
fn another_captcha_header_is_read_from_the_refusal() {
    fn captcha(c: &mut SandboxConfig) {
        c.captcha_required = true;
    }
    Case {
        deviation: Deviation::CaptchaHeader,
        adjust: captcha,
        api: Api::Ciam,
        extra: &["--captcha", "--captcha-answer", "ABCD"],
        expected: Expected {
            // The made-up login already meets the captcha (400 captcha_required, then the
            // fetch): the header is found there, before the real login.
            at: "wrong password/captcha",
            what: "refused with 400 invalid_request; the same step passed with captcha-header",
            reading: "captcha-header",
            setting: setting("captcha-header", "captchaIdentity"),
            accepted: false,
        },
    }
    .run(1);
}

#[test]
fn an_a128gcm_envelope_is_found_by_trying() {
    Case {
        deviation: Deviation::A128gcm,
        adjust: nothing,
        api: Api::Ciam,
        extra: &[],
        expected: Expected {
            at: "wrong password/login_challenge",
            what: "refused with 400 invalid_request; the same step passed with envelope-enc",
            reading: "credential-envelope",
            setting: setting("envelope-enc", "A128GCM"),
            accepted: false,
        },
    }
    .run(1);
}
