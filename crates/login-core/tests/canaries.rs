//! Canary values for every secret (password, client secret, OTP, device token, captcha answer,
//! configured authorize tokens; access/refresh tokens, reqId, reset ticket, loginChallenge,
//! authToken, code, login-challenge token and mfaChallenge in server replies; the PKCE verifier
//! and the envelope seen on the wire): no `Debug` of a state, request, pending step, error,
//! `Failed`, `TokenSet` or configuration holds one, and no error's `Display` either, also when
//! a malformed body carries the canary.

mod common;

use common::*;
use login_core::ciam::Credentials;
use login_core::secret::{CaptchaAnswer, Password};
use login_core::table::{Api, StateId};
use login_core::{Error, Flow, Response, TokenSet};
use serde_json::json;

/// Secrets without the canary mark that the flows below produce: PKCE verifiers and envelopes.
fn wire_secrets(env: &mut Env) -> Vec<String> {
    let mut out = Vec::new();
    for (_, flow) in all_states(env) {
        for act in legal(&flow) {
            if let Begun::Sent(req, _) = begin(flow.clone(), act, env, &Inputs::default()) {
                if let Ok(seen) = check_request(&req, &env.profile) {
                    for field in ["codeVerifier", "authToken"] {
                        if let Some(v) = seen.str(field) {
                            if !v.contains(MARK) {
                                out.push(v.to_owned());
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(out.len() >= 2, "found the verifier and an envelope");
    out
}

/// Replies whose bodies carry canaries but cannot be used: the error must not quote them.
fn canary_laden_replies() -> Vec<Response> {
    let mut out = vec![
        json(
            200,
            json!({"accessToken": "CANARY-AT-leak", "refreshToken": 7}),
        ),
        json(201, json!({"accessToken": "CANARY-AT-leak"})),
        json(201, json!({"reqId": "CANARY-REQ-leak", "mfa": "maybe"})),
        json(
            201,
            json!({"reqId": "CANARY-REQ-leak", "exp": -5, "mfa": "otp"}),
        ),
        json(200, json!({"loginChallenge": "CANARY-LC-leak"})),
        json(200, json!({"code": "CANARY-CODE-leak"})),
        json(200, json!({"token": "CANARY-LCTOKEN-leak", "code": 5})),
        json(200, json!({"mfaChallenge": ["CANARY-MFA-leak"]})),
        json(
            200,
            json!({"captchaId": "x", "image": "CANARY-not-base64!"}),
        ),
        json(
            200,
            json!({"accessToken": "CANARY-AT-leak", "refreshToken": "CANARY-RT-leak", "expires": "CANARY-EXP"}),
        ),
        json(201, json!({"reqId": "CANARY-TICKET-leak"})),
        json(200, json!({"success": false, "detail": "CANARY-detail"})),
        Response::new(200, b"{\"accessToken\":\"CANARY-AT-trunc".to_vec()),
        Response::new(200, b"{\"accessToken\":\"CANARY-AT-x\",}".to_vec()),
        Response::new(201, b"{\"reqId\":\"CANARY-REQ-\xff\xfe\"}".to_vec()),
        Response::new(200, b"<html>CANARY-html</html>".to_vec()),
        Response::new(200, b"CANARY-bare".to_vec()),
    ];
    // Error statuses with canaries outside `error` and `message`.
    for status in [400u16, 401, 403, 404, 423, 429, 500, 418, 302] {
        out.push(json(
            status,
            json!({"error": "invalid_otp", "accessToken": "CANARY-AT-err", "detail": {"x": "CANARY-nested"}}),
        ));
        out.push(Response::new(
            status,
            b"<html><body>CANARY-in-html</body></html>".to_vec(),
        ));
    }
    out
}

/// Every `Debug`/`Display` text the engine produces while running every method of every state
/// against every class of reply.
fn every_text(env: &mut Env) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    let states = all_states(env);
    let mut replies = error_replies();
    replies.extend(canary_laden_replies());
    let mut n = 500;
    for (name, flow) in &states {
        texts.push((format!("{name}: state"), format!("{flow:?}")));
        texts.push((
            format!("{name}: snapshot"),
            format!("{:?}", flow.to_snapshot()),
        ));
        if let Some(t) = tokens(flow) {
            texts.push((format!("{name}: token set"), format!("{t:?}")));
        }
        for act in legal(flow) {
            let mut all = replies.clone();
            all.extend(success_replies(act, n).into_iter().map(|(_, r)| r));
            n += 1;
            for reply in all {
                match begin(flow.clone(), act, env, &Inputs::default()) {
                    Begun::Local(next) => {
                        texts.push((format!("{name} {act:?}"), format!("{next:?}")))
                    }
                    Begun::Refused(d) => texts.push((format!("{name} {act:?}"), d.debug)),
                    Begun::Sent(req, pending) => {
                        texts.push((format!("{name} {act:?}: request"), format!("{req:?}")));
                        texts.push((
                            format!("{name} {act:?}: headers"),
                            format!("{:?}", req.headers()),
                        ));
                        texts.push((format!("{name} {act:?}: pending"), pending.debug.clone()));
                        let done = pending.receive(reply, env.now);
                        push_done(&mut texts, &format!("{name} {act:?}"), done);
                    }
                }
            }
            for failure in transport_failures() {
                if let Begun::Sent(_, pending) = begin(flow.clone(), act, env, &Inputs::default()) {
                    push_done(
                        &mut texts,
                        &format!("{name} {act:?} fail"),
                        pending.fail(failure),
                    );
                }
            }
        }
    }
    texts
}

fn push_done(texts: &mut Vec<(String, String)>, what: &str, done: Done) {
    texts.push((format!("{what}: result"), done.debug));
    if let Some(d) = done.display {
        texts.push((format!("{what}: display"), d));
    }
    match done.result {
        Ok(next) => texts.push((format!("{what}: next"), format!("{next:?}"))),
        Err((e, state)) => {
            texts.push((format!("{what}: error"), format!("{e:?} / {e}")));
            if let Some(se) = e.server_error() {
                texts.push((format!("{what}: server error"), format!("{se:?} / {se}")));
            }
            if let Some(s) = state {
                texts.push((format!("{what}: state back"), format!("{s:?}")));
            }
        }
    }
}

#[test]
fn no_debug_or_display_anywhere_holds_a_secret() {
    for profile in [Profile::default(), Profile::everything()] {
        let mut env = Env::new(profile, 77);
        let extra = wire_secrets(&mut Env::new(env.profile.clone(), 77));
        let texts = every_text(&mut env);
        assert!(texts.len() > 2000, "{} texts", texts.len());
        for (what, text) in &texts {
            assert_no_secret(what, text, &extra);
        }
    }
}

/// The sweep above only means something if the canaries were really inside: the requests carry
/// them on the wire and the states hold them.
#[test]
fn the_canaries_are_really_in_the_flows() {
    let mut env = Env::new(Profile::everything(), 77);
    let mut wire = String::new();
    for (_, flow) in all_states(&mut env) {
        let snap = String::from_utf8(snap(&flow)).expect("utf-8 snapshot");
        wire.push_str(&snap);
        for act in legal(&flow) {
            if let Begun::Sent(req, _) = begin(flow.clone(), act, &mut env, &Inputs::default()) {
                wire.push_str(&String::from_utf8_lossy(req.body().unwrap_or_default()));
                for h in req.headers() {
                    wire.push_str(h.value());
                }
            }
        }
    }
    for canary in [
        PASSWORD,
        NEW_PASSWORD,
        CLIENT_SECRET,
        OTP,
        DEVICE_TOKEN,
        CFG_AUTH_TOKEN,
        CFG_LOGIN_VERIFIER,
        ACCESS,
        REFRESH,
        REQ_ID,
        RESET_REQ_ID,
        TICKET,
        LOGIN_CHALLENGE,
        AUTH_TOKEN,
        CODE,
        TOKEN,
        MFA,
    ] {
        assert!(wire.contains(canary), "{canary} never reached the wire");
    }
}

#[test]
fn token_sets_and_configs_redact() {
    let mut env = Env::new(Profile::everything(), 1);
    let t = TokenSet::from_response(&json(200, token_set(1)), t0()).expect("token set");
    let creds = Credentials::new(USERNAME, Password::new(PASSWORD))
        .with_captcha_answer(CaptchaAnswer::new(CAPTCHA_ANSWER));
    let texts = [
        format!("{t:?}"),
        format!("{:?}", env.realm),
        format!("{:?}", env.ciam),
        format!("{creds:?}"),
        format!("{:?}", env.sealer),
        format!("{:?}", env.sealer.key()),
    ];
    for text in &texts {
        assert_no_secret("config", text, &[]);
    }
    // The value is still there to use.
    assert_eq!(t.access_token().expose(), format!("{ACCESS}-1"));
    let _ = &mut env;
}

#[test]
fn snapshot_errors_never_quote_the_input() {
    let inputs = [
        r#"{"v":1,"api":"realm","flow":{"state":"Tokened","data":{"tokens":{"accessToken":"CANARY-AT-s","refreshToken":5}}}}"#,
        r#"{"v":1,"api":"CANARY-api","flow":{}}"#,
        r#"{"v":1,"api":"ciam","flow":{"state":"CANARY-state","data":{}}}"#,
        r#"{"v":1,"api":"ciam","flow":{"state":"MfaPending","data":{"mfaChallenge":"CANARY-MFA-s"}}}"#,
        r#"{"v":1,"api":"realm","flow":{"state":"MfaPending","data":{"reqId":"CANARY-REQ-s""#,
        r#"{"v":"CANARY-v"}"#,
        r#"CANARY-bare"#,
    ];
    for input in inputs {
        let e = Flow::from_snapshot(input.as_bytes()).expect_err("corrupt");
        assert_no_secret("snapshot error", &format!("{e:?} / {e}"), &[]);
    }
}

#[test]
fn server_text_is_kept_bounded_and_only_error_and_message() {
    // The server's own `error`/`message` are kept (bounded) by design; other fields are not.
    let r = json(
        401,
        json!({"error": "invalid_otp", "message": "wrong code", "otp": "CANARY-OTP-echo"}),
    );
    let e = Error::from_response(&r);
    assert_eq!(e.kind().as_str(), "invalid_otp");
    let se = e.server_error().expect("server error");
    assert_eq!(se.message.as_deref(), Some("wrong code"));
    assert_no_secret("error", &format!("{e:?} {e}"), &[]);
}

/// An OAuth server that answers with a redirect carries `code` and `state` in `Location`. The
/// engine never follows it and keeps `Location` in the error: it must not carry the code into
/// `Debug`/`Display`.
#[test]
fn a_redirect_location_with_a_code_does_not_leak() {
    let r = Response::new(302, Vec::new()).with_header(
        "Location",
        "https://app.example/cb?code=CANARY-CODE-redirect&state=abc",
    );
    let e = Error::from_response(&r);
    assert_eq!(e.kind().as_str(), "redirect");
    assert_no_secret("redirect error", &format!("{e} / {e:?}"), &[]);
}

#[test]
fn the_verifier_never_shows_in_any_state_debug() {
    let mut env = Env::new(Profile::default(), 3);
    let extra = wire_secrets(&mut Env::new(Profile::default(), 3));
    for (name, flow) in all_states(&mut env) {
        if flow.api() == Api::Ciam && flow.state_id() != StateId::Revoked {
            assert_no_secret(name, &format!("{flow:?}"), &extra);
        }
    }
}
