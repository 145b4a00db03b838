//! Canary values for every secret (password, client secret, OTP, device token, captcha answer,
//! configured authorize tokens; access/refresh tokens, reqId, reset ticket, loginChallenge,
//! authToken, code, login-challenge token and mfaChallenge in server replies; the PKCE verifier
//! and the envelope seen on the wire): no `Debug` of a state, action, environment, request,
//! pending step, error, `Failed`, `TokenSet`, configuration or runner answer holds one, and no
//! error's `Display` either, also when a malformed body carries the canary.

mod common;

use common::*;
use login_core::action::{Action, Begun};
use login_core::runner::Answer;
use login_core::secret::{CaptchaAnswer, Otp, Password};
use login_core::table::{Api, StateId};
use login_core::{Error, Failed, Flow, Response, TokenSet};
use serde_json::json;

/// Secrets without the canary mark that the flows below produce: PKCE verifiers and envelopes.
fn wire_secrets(fx: &mut Fixture) -> Vec<String> {
    let inputs = Inputs::default();
    let mut out = Vec::new();
    for (_, flow) in all_states(fx) {
        for (step, input) in flow.actions() {
            let action = action_for(step, input, &inputs);
            if let Ok(Begun::Send(req, _)) = fx.begin(flow.clone(), action)
                && let Ok(seen) = check_request(&req, &fx.settings)
            {
                for field in ["codeVerifier", "authToken"] {
                    if let Some(v) = seen.str(field)
                        && !v.contains(MARK)
                    {
                        out.push(v.to_owned());
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

/// Every `Debug`/`Display` text the engine produces while running every action of every state
/// (listed or refused) against every class of reply.
fn every_text(fx: &mut Fixture) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    let states = all_states(fx);
    let inputs = Inputs::default();
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
        for action in every_action(&inputs) {
            let what = format!("{name} {action:?}");
            let Some((step, _)) = listed(flow, &action) else {
                // Refused before anything is sent: the refusal's texts.
                if let Err(refused) = fx.begin(flow.clone(), action) {
                    push_result(&mut texts, &what, Err(refused));
                }
                continue;
            };
            let mut all = replies.clone();
            all.extend(
                success_replies(flow.state_id(), step, n)
                    .into_iter()
                    .map(|(_, r)| r),
            );
            n += 1;
            for reply in all {
                match fx.begin(flow.clone(), action.clone()) {
                    Ok(Begun::Local(next)) => texts.push((what.clone(), format!("{next:?}"))),
                    Err(refused) => push_result(&mut texts, &what, Err(refused)),
                    Ok(Begun::Send(req, pending)) => {
                        texts.push((format!("{what}: request"), format!("{req:?}")));
                        texts.push((format!("{what}: headers"), format!("{:?}", req.headers())));
                        texts.push((format!("{what}: pending"), format!("{pending:?}")));
                        let result = pending.receive(&reply, fx.now);
                        push_result(&mut texts, &what, result);
                    }
                }
            }
            for failure in transport_failures() {
                if let Ok(Begun::Send(_, pending)) = fx.begin(flow.clone(), action.clone()) {
                    push_result(
                        &mut texts,
                        &format!("{what} fail"),
                        Err(pending.fail(failure)),
                    );
                }
            }
        }
    }
    texts
}

fn push_result(texts: &mut Vec<(String, String)>, what: &str, result: Result<Flow, Failed<Flow>>) {
    texts.push((format!("{what}: result"), format!("{result:?}")));
    match result {
        Ok(next) => texts.push((format!("{what}: next"), format!("{next:?}"))),
        Err(f) => {
            texts.push((format!("{what}: display"), format!("{f} / {}", f.error)));
            let e = &f.error;
            texts.push((format!("{what}: error"), format!("{e:?} / {e}")));
            if let Some(se) = e.server_error() {
                texts.push((format!("{what}: server error"), format!("{se:?} / {se}")));
            }
            if let Some(s) = f.state {
                texts.push((format!("{what}: state back"), format!("{s:?}")));
            }
        }
    }
}

#[test]
fn no_debug_or_display_anywhere_holds_a_secret() {
    for settings in [Settings::default(), Settings::everything()] {
        let mut fx = Fixture::new(settings, 77);
        let extra = wire_secrets(&mut Fixture::new(fx.settings.clone(), 77));
        let texts = every_text(&mut fx);
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
    let mut fx = Fixture::new(Settings::everything(), 77);
    let inputs = Inputs::default();
    let mut wire = String::new();
    for (_, flow) in all_states(&mut fx) {
        let snap = String::from_utf8(snap(&flow)).expect("utf-8 snapshot");
        wire.push_str(&snap);
        for (step, input) in flow.actions() {
            let action = action_for(step, input, &inputs);
            if let Ok(Begun::Send(req, _)) = fx.begin(flow.clone(), action) {
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
fn token_sets_configs_actions_and_answers_redact() {
    let mut fx = Fixture::new(Settings::everything(), 1);
    let t = TokenSet::from_response(&json(200, token_set(1)), t0()).expect("token set");
    let inputs = Inputs::default();
    let mut texts = vec![
        format!("{t:?}"),
        format!("{:?}", fx.realm),
        format!("{:?}", fx.ciam),
        format!("{:?}", inputs.credentials()),
        format!("{:?}", CaptchaAnswer::new(CAPTCHA_ANSWER)),
        format!("{:?}", fx.sealer),
        format!("{:?}", fx.sealer.key()),
        format!("{:?}", Answer::Otp(Otp::new(OTP))),
        format!("{:?}", Answer::Captcha(CaptchaAnswer::new(CAPTCHA_ANSWER))),
        format!("{:?}", Answer::Credentials(inputs.credentials())),
        format!("{:?}", Answer::NewPassword(Password::new(NEW_PASSWORD))),
    ];
    texts.extend(every_action(&inputs).iter().map(|a| format!("{a:?}")));
    for api in [Api::Realm, Api::ForgotPassword, Api::Ciam] {
        texts.push(format!("{:?}", fx.env(api)));
    }
    for text in &texts {
        assert_no_secret("config", text, &[]);
    }
    // The value is still there to use.
    assert_eq!(t.access_token().expose(), format!("{ACCESS}-1"));
    let Action::CaptchaAnswer(_, answer) = inputs.captcha_answer() else {
        panic!("a captcha answer")
    };
    assert_eq!(answer.expose(), CAPTCHA_ANSWER);
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
    let mut fx = Fixture::new(Settings::default(), 3);
    let extra = wire_secrets(&mut Fixture::new(Settings::default(), 3));
    for (name, flow) in all_states(&mut fx) {
        if flow.api() == Api::Ciam && flow.state_id() != StateId::Revoked {
            assert_no_secret(name, &format!("{flow:?}"), &extra);
        }
    }
}
