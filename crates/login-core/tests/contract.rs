//! Every request the engine emits, checked against `shared/wire-contract.md`: method, path,
//! exactly the contract headers its row lists, `Content-Type` only with a body, and exactly the
//! listed body fields with the right JSON types and values. The contract is written out as data
//! in `tests/common` (literal paths and field names), not taken from the engine.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use login_core::action::{Action, Begun};
use login_core::ciam::{self, CiamConfig};
use login_core::realm::{self, TicketSource};
use login_core::secret::{DeviceToken, Password};
use login_core::table::{Api, StateId, StepId};
use login_core::{ErrorKind, Failed, Flow, PendingFlow, Request, Response, forgot};
use serde_json::{Value, json};

fn otp() -> Action {
    Inputs::default().otp()
}

fn login() -> Action {
    Inputs::default().login()
}

fn captcha_answer() -> Action {
    Inputs::default().captcha_answer()
}

fn new_password() -> Action {
    Inputs::default().new_password()
}

/// Drives one step with a success reply: checks the request against the contract and what it must carry (opening
/// the envelope), feeds the reply, records it.
struct Walker {
    fx: Fixture,
    mem: Memory,
    inputs: Inputs,
    n: u32,
    seen: Vec<(StepId, Seen)>,
}

impl Walker {
    fn new(settings: Settings) -> Self {
        Self {
            fx: Fixture::new(settings, 11),
            mem: Memory::default(),
            inputs: Inputs::default(),
            n: 0,
            seen: Vec::new(),
        }
    }

    fn start(&mut self, api: Api) -> Flow {
        self.mem = Memory::default();
        self.fx.start(api)
    }

    fn step(&mut self, flow: Flow, action: Action, branch: usize) -> Flow {
        self.n += 1;
        let before = flow.clone();
        let key = listed(&flow, &action).expect("the walker takes only the table's actions");
        match self.fx.begin(flow, action) {
            Ok(Begun::Local(next)) => next,
            Err(f) => panic!("{key:?} refused: {f:?}"),
            Ok(Begun::Send(req, pending)) => {
                let settings = &self.fx.settings;
                let seen =
                    check_request(&req, settings).unwrap_or_else(|e| panic!("{settings:?}: {e}"));
                check_carried(
                    &before,
                    key,
                    &self.inputs,
                    &self.mem,
                    &seen,
                    self.fx.now,
                    true,
                )
                .unwrap_or_else(|e| panic!("{settings:?}: {e}"));
                self.mem.on_request(key.0, &seen);
                let (_, reply) =
                    success_replies(before.state_id(), key.0, self.n).swap_remove(branch);
                let next = pending
                    .receive(&reply, self.fx.now)
                    .unwrap_or_else(|f| panic!("{key:?} failed: {f:?}"));
                self.mem.on_success(key.0, &reply, &next);
                self.seen.push((req.step(), seen));
                next
            }
        }
    }

    /// Every step of every API, along several paths.
    fn all_paths(&mut self) {
        // Realm, mfa none, refreshed twice (the second refresh must send the rotated token).
        let f = self.start(Api::Realm);
        let f = self.step(f, Action::RequestLogin, 0);
        let f = self.step(f, Action::Token, 0);
        let f = self.step(f, Action::Refresh, 0);
        let f = self.step(f, Action::Refresh, 0);
        let f = self.step(f, Action::Revoke, 0);
        assert_eq!(f.state_id(), StateId::Revoked);
        // Realm, mfa otp with and without refId.
        for branch in [1, 2] {
            let f = self.start(Api::Realm);
            let f = self.step(f, Action::RequestLogin, branch);
            let f = self.step(f, otp(), 0);
            assert_eq!(f.state_id(), StateId::Tokened);
        }
        // Forgot password.
        let f = self.start(Api::ForgotPassword);
        let f = self.step(f, Action::RequestReset, 0);
        let f = self.step(f, otp(), 0);
        let f = self.step(f, new_password(), 0);
        assert_eq!(f.state_id(), StateId::PasswordReset);
        // Internet banking without 2FA, with a captcha, refreshed twice, revoked.
        let f = self.start(Api::Ciam);
        let f = self.step(f, Action::Authorize, 0);
        let f = self.step(f, Action::FetchCaptcha, 0);
        let f = self.step(f, captcha_answer(), 0);
        let f = self.step(f, Action::Token, 0);
        let f = self.step(f, Action::Refresh, 0);
        let f = self.step(f, Action::Refresh, 0);
        let f = self.step(f, Action::Revoke, 0);
        assert_eq!(f.state_id(), StateId::Revoked);
        // Internet banking with 2FA, no captcha.
        let f = self.start(Api::Ciam);
        let f = self.step(f, Action::Authorize, 0);
        let f = self.step(f, login(), 1);
        let f = self.step(f, otp(), 0);
        let f = self.step(f, Action::Token, 0);
        let f = self.step(f, Action::Revoke, 0);
        assert_eq!(f.state_id(), StateId::Revoked);
    }
}

const REQUEST_STEPS: [StepId; 13] = [
    StepId::RealmRequestLogin,
    StepId::RealmToken,
    StepId::RealmRefresh,
    StepId::ResetRequest,
    StepId::ResetVerifyOtp,
    StepId::ResetPassword,
    StepId::CiamAuthorize,
    StepId::CiamCaptcha,
    StepId::CiamLoginChallenge,
    StepId::CiamPreLoginVerify,
    StepId::CiamAccessToken,
    StepId::CiamRefresh,
    StepId::CiamRevoke,
];

#[test]
fn every_step_matches_the_contract_under_every_profile() {
    for settings in Settings::variants() {
        let mut w = Walker::new(settings);
        w.all_paths();
        let steps: BTreeSet<StepId> = w.seen.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            steps,
            BTreeSet::from(REQUEST_STEPS),
            "every step was checked"
        );
    }
}

/// The checker itself must catch deviations, or the suite above proves nothing.
#[test]
fn the_checker_rejects_requests_of_another_profile() {
    let mut w = Walker::new(Settings::default());
    let f = w.start(Api::Ciam);
    let (req, _) = sent(f, Action::Authorize, &mut w.fx);
    assert!(check_request(&req, &Settings::default()).is_ok());
    // The same request judged against a profile with location, extras, other routes.
    for other in Settings::variants().into_iter().skip(1) {
        assert!(
            check_request(&req, &other).is_err(),
            "a default-profile authorize passes as {other:?}"
        );
    }
}

fn sent(flow: Flow, action: Action, fx: &mut Fixture) -> (Request, PendingFlow) {
    match fx.begin(flow, action) {
        Ok(Begun::Send(r, p)) => (r, p),
        other => panic!("expected a request, got {other:?}"),
    }
}

fn body(req: &Request) -> serde_json::Map<String, Value> {
    match serde_json::from_slice(req.body().expect("a body")) {
        Ok(Value::Object(m)) => m,
        other => panic!("not an object: {other:?}"),
    }
}

fn keys(m: &serde_json::Map<String, Value>) -> Vec<&str> {
    let mut k: Vec<&str> = m.keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[test]
fn realm_request_login_sends_the_four_credentials() {
    let mut fx = Fixture::new(Settings::default(), 1);
    let f = fx.start(Api::Realm);
    let (req, _) = sent(f, Action::RequestLogin, &mut fx);
    assert_eq!(req.method().as_str(), "POST");
    assert_eq!(req.path(), "/auth/realm/cap/request");
    let b = body(&req);
    assert_eq!(
        keys(&b),
        ["clientId", "clientSecret", "password", "username"]
    );
    assert_eq!(b["username"], USERNAME);
    assert_eq!(b["password"], PASSWORD);
    assert_eq!(b["clientId"], REALM_CLIENT_ID);
    assert_eq!(b["clientSecret"], CLIENT_SECRET);
    let names: Vec<&str> = req.headers().iter().map(|h| h.name()).collect();
    assert_eq!(names, ["Content-Type"]);
}

#[test]
fn realm_token_without_mfa_sends_req_id_and_scope_only_even_when_a_ref_id_came() {
    let mut fx = Fixture::new(Settings::everything(), 1);
    let f = fx.start(Api::Realm);
    let (_, p) = sent(f, Action::RequestLogin, &mut fx);
    let reply = json(
        201,
        json!({"reqId": "CANARY-REQ-x", "exp": 60, "mfa": "none", "refId": "R-1"}),
    );
    let f = p.receive(&reply, t0()).expect("mfa none");
    let (req, _) = sent(f, Action::Token, &mut fx);
    let b = body(&req);
    assert_eq!(keys(&b), ["reqId", "scope"]);
    assert_eq!(b["reqId"], "CANARY-REQ-x");
    assert_eq!(b["scope"], json!(["openid", "profile", "offline_access"]));
}

#[test]
fn realm_token_with_otp_sends_ref_id_only_when_known() {
    for (reply, want_ref) in [
        (
            json!({"reqId": "CANARY-REQ-1", "exp": 60, "mfa": "otp", "refId": "R-42"}),
            Some("R-42"),
        ),
        (json!({"reqId": "CANARY-REQ-1", "mfa": "otp"}), None),
    ] {
        let mut fx = Fixture::new(Settings::default(), 1);
        let f = fx.start(Api::Realm);
        let (_, p) = sent(f, Action::RequestLogin, &mut fx);
        let f = p.receive(&json(201, reply), t0()).expect("mfa otp");
        assert_eq!(f.state_id(), StateId::MfaPending);
        let (req, _) = sent(f, otp(), &mut fx);
        assert_eq!(req.path(), "/auth/realm/cap/token");
        let b = body(&req);
        let mut want = vec!["otp", "reqId", "scope"];
        if want_ref.is_some() {
            want.insert(1, "refId");
        }
        assert_eq!(keys(&b), want);
        assert_eq!(b["otp"], OTP);
        assert_eq!(b["reqId"], "CANARY-REQ-1");
        assert_eq!(b.get("refId").and_then(Value::as_str), want_ref);
        assert_eq!(
            b["scope"],
            json!(["openid"]),
            "scope is an array in the realm API"
        );
    }
}

#[test]
fn realm_refresh_is_a_patch_with_client_id_and_the_latest_refresh_token() {
    let mut fx = Fixture::new(Settings::default(), 1);
    let f = advance(fx.start(Api::Realm), Action::RequestLogin, 0, &mut fx, 1);
    let f = advance(f, Action::Token, 0, &mut fx, 2);
    let (req, p) = sent(f, Action::Refresh, &mut fx);
    assert_eq!(req.method().as_str(), "PATCH");
    assert_eq!(req.path(), "/auth/realm/cap/token");
    let b = body(&req);
    assert_eq!(keys(&b), ["clientId", "refreshToken"]);
    assert_eq!(b["refreshToken"], format!("{REFRESH}-2"));
    assert!(req.headers().iter().all(|h| h.name() != "Authorization"));
    let f = p
        .receive(&json(200, token_set(3)), t0())
        .expect("refreshed");
    let (req, _) = sent(f, Action::Refresh, &mut fx);
    assert_eq!(body(&req)["refreshToken"], format!("{REFRESH}-3"));
}

#[test]
fn realm_revoke_is_local_and_says_so() {
    let mut fx = Fixture::new(Settings::default(), 1);
    let f = advance(fx.start(Api::Realm), Action::RequestLogin, 0, &mut fx, 1);
    let tokened = advance(f, Action::Token, 0, &mut fx, 2);
    let Flow::Realm(realm::State::Tokened(t)) = tokened.clone() else {
        panic!("tokened")
    };
    assert!(!t.revoke().sent_request(), "the typed revoke sends nothing");
    match fx.begin(tokened, Action::Revoke) {
        Ok(Begun::Local(Flow::Realm(realm::State::Revoked(r)))) => assert!(!r.sent_request()),
        other => panic!("realm revoke is local: {other:?}"),
    }
}

#[test]
fn forgot_password_sends_the_contract_fields_and_the_ticket_as_bearer() {
    let mut fx = Fixture::new(Settings::default(), 1);
    let f = fx.start(Api::ForgotPassword);
    let (req, p) = sent(f, Action::RequestReset, &mut fx);
    assert_eq!(req.path(), "/realm/admin/cap/user/forgotPassword");
    assert_eq!(keys(&body(&req)), ["username"]);
    let f = p
        .receive(
            &json(201, json!({"reqId": "CANARY-RREQ-1", "refId": "RR-9"})),
            t0(),
        )
        .expect("otp sent");
    let (req, p) = sent(f, otp(), &mut fx);
    assert_eq!(req.path(), "/realm/admin/cap/user/verifyOtp");
    let b = body(&req);
    assert_eq!(keys(&b), ["otp", "refId", "reqId", "username"]);
    assert_eq!(
        (&b["otp"], &b["refId"], &b["reqId"], &b["username"]),
        (
            &json!(OTP),
            &json!("RR-9"),
            &json!("CANARY-RREQ-1"),
            &json!(USERNAME)
        )
    );
    assert!(req.headers().iter().all(|h| h.name() != "Authorization"));
    let f = p
        .receive(
            &json(201, json!({"reqId": "CANARY-TICKET-1", "refId": "RR-9"})),
            t0(),
        )
        .expect("verified");
    let (req, _) = sent(f, new_password(), &mut fx);
    assert_eq!(req.path(), "/realm/admin/cap/user/resetPassword");
    assert_eq!(keys(&body(&req)), ["newPassword"]);
    assert_eq!(body(&req)["newPassword"], NEW_PASSWORD);
    let auth: Vec<&str> = req
        .headers()
        .iter()
        .filter(|h| h.name() == "Authorization")
        .map(|h| h.value())
        .collect();
    assert_eq!(auth, ["Bearer CANARY-TICKET-1"]);
}

#[test]
fn the_reset_ticket_source_is_pluggable() {
    let cfg = Settings::default()
        .realm_config()
        .ticket_source(TicketSource::VerifyRefId);
    let (_, p) = forgot::Start::new(USERNAME).request_reset(&cfg);
    let sent = p
        .receive(
            &Response::new(201, br#"{"reqId":"q","refId":"r"}"#.to_vec()),
            t0(),
        )
        .expect("sent");
    let (_, p) = sent.verify(&cfg, login_core::secret::Otp::new(OTP));
    let verified = p
        .receive(
            &Response::new(
                201,
                br#"{"reqId":"q2","refId":"CANARY-REFTICKET"}"#.to_vec(),
            ),
            t0(),
        )
        .expect("verified");
    let (req, _) = verified.reset(&cfg, Password::new(NEW_PASSWORD));
    assert!(
        req.headers()
            .iter()
            .any(|h| h.name() == "Authorization" && h.value() == "Bearer CANARY-REFTICKET")
    );
}

#[test]
fn authorize_sends_pkce_s256_and_state_and_access_token_repeats_them() {
    for settings in Settings::variants() {
        let mut fx = Fixture::new(settings.clone(), 5);
        let start = fx.start(Api::Ciam);
        let Flow::Ciam(ciam::State::Start(s)) = &start else {
            panic!("start")
        };
        let state = s.state().to_owned();
        let (req, p) = sent(start, Action::Authorize, &mut fx);
        let auth = body(&req);
        let mut want = vec![
            "clientId",
            "codeChallenge",
            "codeChallengeMethod",
            "scope",
            "state",
        ];
        if settings.authorize_extras {
            want.extend(["authToken", "loginVerifier"]);
            want.sort_unstable();
        }
        assert_eq!(keys(&auth), want, "{settings:?}");
        assert_eq!(auth["codeChallengeMethod"], "S256");
        assert_eq!(auth["state"], state.as_str());
        assert!(state.len() >= 22);
        assert_eq!(auth["scope"], settings.ciam_scope.join(" "), "a string");
        let f = p
            .receive(
                &json(
                    200,
                    json!({"loginChallenge": "CANARY-LC-a", "authToken": "CANARY-AUTHTOK-a"}),
                ),
                t0(),
            )
            .expect("authorized");
        let f = advance(f, login(), 0, &mut fx, 1);
        let (req, _) = sent(f, Action::Token, &mut fx);
        let tok = body(&req);
        assert_eq!(tok["state"], auth["state"], "same state as authorize");
        assert_eq!(tok["scope"], auth["scope"], "same scope as authorize");
        assert_eq!(tok["grantType"], "authorization_code");
        assert_eq!(tok["redirectUri"], REDIRECT_URI);
        let verifier = tok["codeVerifier"].as_str().expect("verifier");
        assert!((43..=128).contains(&verifier.len()));
        assert_eq!(
            independent_s256(verifier),
            auth["codeChallenge"].as_str().expect("challenge"),
            "the verifier is the one whose challenge went to authorize"
        );
    }
}

#[test]
fn the_independent_s256_holds_rfc7636_appendix_b() {
    assert_eq!(
        independent_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[test]
fn each_flow_draws_a_fresh_verifier_and_state() {
    let mut fx = Fixture::new(Settings::default(), 9);
    let mut challenges = BTreeSet::new();
    let mut states = BTreeSet::new();
    for _ in 0..50 {
        let f = fx.start(Api::Ciam);
        let (req, _) = sent(f, Action::Authorize, &mut fx);
        let b = body(&req);
        challenges.insert(b["codeChallenge"].to_string());
        states.insert(b["state"].to_string());
    }
    assert_eq!((challenges.len(), states.len()), (50, 50));
}

#[test]
fn captcha_is_a_get_with_check_identity_and_no_body() {
    let mut fx = Fixture::new(Settings::everything(), 1);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 4);
    let (req, _) = sent(f, Action::FetchCaptcha, &mut fx);
    assert_eq!(req.method().as_str(), "GET");
    assert_eq!(req.path(), "/ciamauthsrvc/captcha", "the per-path override");
    assert!(req.body().is_none());
    let mut names: Vec<&str> = req.headers().iter().map(|h| h.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["checkIdentity", "locLatitude", "locLongitude"]);
    let ci = req
        .headers()
        .iter()
        .find(|h| h.name() == "checkIdentity")
        .expect("checkIdentity");
    assert_eq!(ci.value(), format!("{LOGIN_CHALLENGE}-4"));
}

#[test]
fn the_envelope_opens_to_exactly_the_contract_fields() {
    let mut fx = Fixture::new(Settings::default(), 2);
    fx.now = t0() + Duration::from_millis(1_500);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 6);
    // Without a captcha.
    let (req, _) = sent(f.clone(), login(), &mut fx);
    let b = body(&req);
    assert_eq!(keys(&b), ["authToken", "loginChallenge"]);
    assert_eq!(b["loginChallenge"], format!("{LOGIN_CHALLENGE}-6"));
    let plain: Value =
        serde_json::from_slice(&open_jwe(b["authToken"].as_str().expect("jwe")).expect("opens"))
            .expect("json");
    check_plaintext(&plain, Some(&format!("{AUTH_TOKEN}-6")), None, fx.now).expect("fields");
    assert_eq!(plain["iat"], json!(1_790_000_001u64), "whole seconds");
    // With a captcha.
    let f = advance(f, Action::FetchCaptcha, 0, &mut fx, 7);
    let (req, _) = sent(f, captcha_answer(), &mut fx);
    let plain: Value = serde_json::from_slice(
        &open_jwe(body(&req)["authToken"].as_str().expect("jwe")).expect("opens"),
    )
    .expect("json");
    check_plaintext(
        &plain,
        Some(&format!("{AUTH_TOKEN}-6")),
        Some("cap-7"),
        fx.now,
    )
    .expect("fields with captcha");
    assert_eq!(plain["captchaAnswer"], CAPTCHA_ANSWER);
}

#[test]
fn a_login_challenge_attempt_uses_the_captcha_up() {
    let mut fx = Fixture::new(Settings::default(), 2);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let f = advance(f, Action::FetchCaptcha, 0, &mut fx, 2);
    let (_, p) = sent(f, captcha_answer(), &mut fx);
    let back = p
        .receive(&json(400, json!({"error": "invalid_captcha"})), t0())
        .err()
        .and_then(|f| f.state)
        .expect("the login challenge survives a wrong captcha");
    assert_eq!(
        back.state_id(),
        StateId::Authorized,
        "the used captcha is gone"
    );
    let (req, _) = sent(back, login(), &mut fx);
    let plain = open_envelope(body(&req)["authToken"].as_str().expect("jwe")).expect("opens");
    assert!(plain.get("captchaId").is_none() && plain.get("captchaAnswer").is_none());
}

/// With a captcha shown, the table lists only the login challenge with its answer: one
/// without is refused before anything is sent, and the captcha is still there to answer.
#[test]
fn a_shown_captcha_without_an_answer_is_refused_before_sending() {
    let mut fx = Fixture::new(Settings::default(), 2);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let shown = advance(f, Action::FetchCaptcha, 0, &mut fx, 2);
    let before = snap(&shown);
    match fx.begin(shown, login()) {
        Err(f) => {
            assert_eq!(f.error.kind(), ErrorKind::Misuse);
            let back = f.state.expect("the flow comes back");
            assert_eq!(back.state_id(), StateId::CaptchaShown);
            assert_eq!(snap(&back), before, "unchanged");
        }
        Ok(begun) => panic!("a captcha with no answer must not be sent: {begun:?}"),
    }
}

#[test]
fn additional_authentication_only_when_configured() {
    for (profile, want) in [
        (Settings::default(), None),
        (Settings::everything(), Some("OTP")),
    ] {
        let mut fx = Fixture::new(profile, 3);
        let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
        let (req, _) = sent(f, login(), &mut fx);
        assert_eq!(
            body(&req)
                .get("additionalAuthentication")
                .and_then(Value::as_str),
            want
        );
    }
}

#[test]
fn pre_login_verify_and_access_token_carry_what_the_server_gave() {
    let mut fx = Fixture::new(Settings::default(), 3);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let f = advance(f, login(), 1, &mut fx, 2);
    let (req, p) = sent(f, otp(), &mut fx);
    let b = body(&req);
    assert_eq!(keys(&b), ["consentOtp", "mfaChallenge"]);
    assert_eq!(b["consentOtp"], OTP);
    assert_eq!(b["mfaChallenge"], format!("{MFA}-2"));
    let f = p
        .receive(
            &json(
                200,
                json!({"code": "CANARY-CODE-z", "token": "CANARY-LCTOKEN-z"}),
            ),
            t0(),
        )
        .expect("challenged");
    let (req, _) = sent(f, Action::Token, &mut fx);
    let b = body(&req);
    assert_eq!(b["code"], "CANARY-CODE-z");
    let auth: Vec<&str> = req
        .headers()
        .iter()
        .filter(|h| h.name() == "Authorization")
        .map(|h| h.value())
        .collect();
    assert_eq!(
        auth,
        ["Bearer CANARY-LCTOKEN-z"],
        "the token, not the device token"
    );
}

#[test]
fn ciam_refresh_has_no_authorization_and_revoke_bears_the_access_token() {
    let mut fx = Fixture::new(Settings::everything(), 3);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let f = advance(f, login(), 0, &mut fx, 2);
    let f = advance(f, Action::Token, 0, &mut fx, 3);
    let (req, p) = sent(f, Action::Refresh, &mut fx);
    assert_eq!(
        req.path(),
        "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh"
    );
    let mut names: Vec<&str> = req.headers().iter().map(|h| h.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Content-Type", "locLatitude", "locLongitude"]);
    let b = body(&req);
    assert_eq!(keys(&b), ["clientId", "grantType", "refreshToken", "scope"]);
    assert_eq!(b["grantType"], "refresh_token");
    assert_eq!(b["scope"], "openid accounts");
    assert_eq!(b["refreshToken"], format!("{REFRESH}-3"));
    let f = p
        .receive(&json(200, token_set(4)), t0())
        .expect("refreshed");
    let (req, _) = sent(f, Action::Revoke, &mut fx);
    assert_eq!(req.path(), "/ciamauthsrvc/internetBanking/oauth/revoke");
    assert_eq!(keys(&body(&req)), ["clientId"]);
    let auth: Vec<&str> = req
        .headers()
        .iter()
        .filter(|h| h.name() == "Authorization")
        .map(|h| h.value())
        .collect();
    assert_eq!(auth, [format!("Bearer {ACCESS}-4").as_str()]);
    assert!(req.headers().iter().all(|h| h.name() != "eventId"));
}

#[test]
fn optional_headers_go_exactly_where_the_contract_lists_them() {
    let on = Settings::everything();
    let off = Settings {
        routes: on.routes,
        overrides: on.overrides.clone(),
        ..Settings::default()
    };
    for (profile, loc, ev) in [(on, true, true), (off, false, false)] {
        let mut w = Walker::new(profile);
        w.all_paths();
        // Walker.step checks every request; here the per-step header sets are spelled out.
        for (step, _) in &w.seen {
            let h = expected_headers(*step, &w.fx.settings);
            let ciam = step.api() == Api::Ciam;
            assert_eq!(h.contains("locLatitude"), loc && ciam, "{step:?}");
            assert_eq!(h.contains("locLongitude"), loc && ciam, "{step:?}");
            let ev_step = matches!(
                step,
                StepId::CiamLoginChallenge | StepId::CiamPreLoginVerify | StepId::CiamAccessToken
            );
            assert_eq!(h.contains("eventId"), ev && ev_step, "{step:?}");
        }
    }
}

#[test]
fn both_route_sets_and_overrides() {
    let device = || DeviceToken::new(DEVICE_TOKEN);
    for (routes, expect) in [
        (ciam::Routes::gateway(), GATEWAY),
        (ciam::Routes::service(), SERVICE),
    ] {
        for (step, path) in expect {
            assert_eq!(routes.path(step), path, "{step:?}");
        }
        let overridden = routes.clone().with(StepId::CiamAccessToken, "custom/token");
        assert_eq!(overridden.path(StepId::CiamAccessToken), "/custom/token");
        for (step, path) in expect.iter().filter(|(s, _)| *s != StepId::CiamAccessToken) {
            assert_eq!(overridden.path(*step), *path, "other paths stay");
        }
        // Steps of other APIs are ignored.
        assert_eq!(
            routes.clone().with(StepId::RealmToken, "/x"),
            routes.clone()
        );
        let cfg = CiamConfig::new(CIAM_CLIENT_ID, REDIRECT_URI, device()).routes(overridden);
        let start = ciam::Start::new(&mut login_core::entropy::DeterministicEntropy::new(1))
            .expect("start");
        let (req, _) = start.authorize(&cfg);
        assert_eq!(req.path(), expect[0].1);
    }
}

#[test]
fn non_ciam_calls_never_carry_ciam_headers() {
    let mut w = Walker::new(Settings::everything());
    w.all_paths();
    for (step, seen) in &w.seen {
        if step.api() != Api::Ciam {
            assert!(seen.check_identity.is_none());
            assert_eq!(
                seen.authorization.is_some(),
                *step == StepId::ResetPassword,
                "{step:?}"
            );
        }
    }
}

#[test]
fn a_state_echo_must_match_where_it_is_read() {
    let mut fx = Fixture::new(Settings::default(), 12);
    let start = fx.start(Api::Ciam);
    let Flow::Ciam(ciam::State::Start(s)) = &start else {
        panic!("start")
    };
    let state = s.state().to_owned();
    let reply = |echo: &str| {
        json(
            200,
            json!({"loginChallenge": "CANARY-LC-e", "authToken": "CANARY-AUTHTOK-e", "state": echo}),
        )
    };
    let (_, p) = sent(start.clone(), Action::Authorize, &mut fx);
    let authorized = p.receive(&reply(&state), t0()).expect("a matching echo");
    let (_, p) = sent(start, Action::Authorize, &mut fx);
    let Err(failed) = p.receive(&reply("forged"), t0()) else {
        panic!("a forged echo must fail")
    };
    assert_eq!(failed.error.kind(), ErrorKind::StateMismatch);
    assert!(failed.state.is_none(), "a forged state ends the flow");

    let challenged = advance(authorized, login(), 0, &mut fx, 1);
    for (echo, ok) in [(state.as_str(), true), ("forged", false)] {
        let mut body = token_set(2);
        body["state"] = json!(echo);
        let (_, p) = sent(challenged.clone(), Action::Token, &mut fx);
        let result = p.receive(&json(200, body), t0());
        assert_eq!(result.is_ok(), ok, "echo {echo}");
    }
}

#[test]
fn a_new_captcha_replaces_the_earlier_one() {
    let mut fx = Fixture::new(Settings::default(), 13);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let f = advance(f, Action::FetchCaptcha, 0, &mut fx, 2);
    let f = advance(f, Action::FetchCaptcha, 0, &mut fx, 3);
    let (req, _) = sent(f, captcha_answer(), &mut fx);
    let plain = open_envelope(body(&req)["authToken"].as_str().expect("jwe")).expect("opens");
    assert_eq!(plain["captchaId"], "cap-3");
}

#[test]
fn every_failed_login_challenge_uses_the_captcha_up() {
    let mut fx = Fixture::new(Settings::default(), 14);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let with_captcha = advance(f, Action::FetchCaptcha, 0, &mut fx, 2);
    let mut outcomes = Vec::new();
    for reply in error_replies() {
        let (_, p) = sent(with_captcha.clone(), captcha_answer(), &mut fx);
        outcomes.push(p.receive(&reply, t0()));
    }
    for failure in transport_failures() {
        let (_, p) = sent(with_captcha.clone(), captcha_answer(), &mut fx);
        outcomes.push(Err(p.fail(failure)));
    }
    let mut kept = 0;
    for result in outcomes {
        if let Err(Failed {
            error,
            state: Some(back),
        }) = result
        {
            assert_eq!(
                back.state_id(),
                StateId::Authorized,
                "{error:?} left the used captcha"
            );
            kept += 1;
        }
    }
    assert!(kept > 20, "{kept} failures kept the state");
}

#[test]
fn ciam_revoke_reaches_the_server() {
    let mut fx = Fixture::new(Settings::default(), 15);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let f = advance(f, login(), 0, &mut fx, 2);
    let f = advance(f, Action::Token, 0, &mut fx, 3);
    let Flow::Ciam(ciam::State::Revoked(r)) = advance(f, Action::Revoke, 0, &mut fx, 4) else {
        panic!("revoked")
    };
    assert!(r.sent_request());
}

/// Values the server hands out travel back in headers (`checkIdentity: <loginChallenge>`,
/// `Authorization: Bearer <token | accessToken | reset ticket>`). A reply carrying CR/LF or
/// another control character in one of them must be refused at receipt (a typed malformed
/// response), never turned into a header that splits: the reply is untrusted input.
#[test]
fn server_values_never_reach_a_header_with_control_characters() {
    let evil = "x\r\nX-Injected: 1";
    let mut problems = Vec::new();
    let mut fx = Fixture::new(Settings::default(), 16);
    // (state before, action, reply carrying the evil value, action that sends it in a header)
    let ciam_authorized = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let ciam_challenged = advance(ciam_authorized.clone(), login(), 0, &mut fx, 2);
    let ciam_mfa = advance(ciam_authorized.clone(), login(), 1, &mut fx, 3);
    let forgot_sent = advance(
        fx.start(Api::ForgotPassword),
        Action::RequestReset,
        0,
        &mut fx,
        4,
    );
    let mut evil_tokens = token_set(5);
    evil_tokens["accessToken"] = json!(evil);
    let cases = [
        (
            fx.start(Api::Ciam),
            Action::Authorize,
            json(200, json!({"loginChallenge": evil, "authToken": "a"})),
            Action::FetchCaptcha,
        ),
        (
            ciam_authorized,
            login(),
            json(200, json!({"code": "c", "token": evil})),
            Action::Token,
        ),
        (
            ciam_mfa,
            otp(),
            json(200, json!({"code": "c", "token": evil})),
            Action::Token,
        ),
        (
            ciam_challenged,
            Action::Token,
            json(200, evil_tokens),
            Action::Revoke,
        ),
        (
            forgot_sent,
            otp(),
            json(201, json!({"reqId": evil, "refId": "r"})),
            new_password(),
        ),
    ];
    for (state, action, reply, then) in cases {
        let (_, p) = sent(state, action, &mut fx);
        match p.receive(&reply, t0()) {
            Err(f) => assert_eq!(f.error.kind(), ErrorKind::MalformedResponse),
            Ok(next) => {
                let (req, _) = sent(next, then, &mut fx);
                if let Err(e) = check_request(&req, &fx.settings) {
                    problems.push(e);
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
