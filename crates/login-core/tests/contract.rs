//! Every request the engine emits, checked against `shared/wire-contract.md`: method, path,
//! exactly the contract headers its row lists, `Content-Type` only with a body, and exactly the
//! listed body fields with the right JSON types and values. The contract is written out as data
//! in `tests/common` (literal paths and field names), not taken from the engine.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use login_core::ciam::{self, CiamConfig};
use login_core::realm::{self, TicketSource};
use login_core::secret::{DeviceToken, Password};
use login_core::table::{Api, StateId, StepId};
use login_core::{Flow, Response, forgot};
use serde_json::{Value, json};

/// Drives one step with a success reply: checks the request statically and dynamically (opening
/// the envelope), feeds the reply, records it.
struct Walker {
    env: Env,
    mem: Memory,
    inputs: Inputs,
    n: u32,
    seen: Vec<(StepId, Seen)>,
}

impl Walker {
    fn new(profile: Profile) -> Self {
        Self {
            env: Env::new(profile, 11),
            mem: Memory::default(),
            inputs: Inputs::default(),
            n: 0,
            seen: Vec::new(),
        }
    }

    fn start(&mut self, api: Api) -> Flow {
        self.mem = Memory::default();
        self.env.start(api)
    }

    fn step(&mut self, flow: Flow, act: Act, branch: usize) -> Flow {
        self.n += 1;
        let before = flow.clone();
        match begin(flow, act, &mut self.env, &self.inputs) {
            Begun::Local(next) => next,
            Begun::Refused(d) => panic!("{act:?} refused: {}", d.debug),
            Begun::Sent(req, pending) => {
                let seen = check_request(&req, &self.env.profile)
                    .unwrap_or_else(|e| panic!("{:?}: {e}", self.env.profile));
                check_dynamic(
                    &before,
                    act,
                    &self.inputs,
                    &self.mem,
                    &seen,
                    self.env.now,
                    true,
                )
                .unwrap_or_else(|e| panic!("{:?}: {e}", self.env.profile));
                self.mem.on_request(act, &seen);
                let (_, reply) = success_replies(act, self.n).swap_remove(branch);
                let done = pending.receive(reply.clone(), self.env.now);
                let next = done
                    .result
                    .unwrap_or_else(|(e, _)| panic!("{act:?} failed: {e:?}"));
                self.mem.on_success(act, &reply, &next);
                self.seen.push((req.step(), seen));
                next
            }
        }
    }

    /// Every step of every API, along several paths.
    fn all_paths(&mut self) {
        // Realm, mfa none, refreshed twice (the second refresh must send the rotated token).
        let f = self.start(Api::Realm);
        let f = self.step(f, Act::RequestLogin, 0);
        let f = self.step(f, Act::RealmExchange, 0);
        let f = self.step(f, Act::RealmRefresh, 0);
        let f = self.step(f, Act::RealmRefresh, 0);
        let f = self.step(f, Act::RealmRevoke, 0);
        assert_eq!(f.state_id(), StateId::Revoked);
        // Realm, mfa otp with and without refId.
        for branch in [1, 2] {
            let f = self.start(Api::Realm);
            let f = self.step(f, Act::RequestLogin, branch);
            let f = self.step(f, Act::RealmOtp, 0);
            assert_eq!(f.state_id(), StateId::Tokened);
        }
        // Forgot password.
        let f = self.start(Api::ForgotPassword);
        let f = self.step(f, Act::ResetRequest, 0);
        let f = self.step(f, Act::ResetVerify, 0);
        let f = self.step(f, Act::ResetPassword, 0);
        assert_eq!(f.state_id(), StateId::PasswordReset);
        // Internet banking without 2FA, with a captcha, refreshed twice, revoked.
        let f = self.start(Api::Ciam);
        let f = self.step(f, Act::Authorize, 0);
        let f = self.step(f, Act::Captcha, 0);
        let f = self.step(f, Act::Submit, 0);
        let f = self.step(f, Act::CiamExchange, 0);
        let f = self.step(f, Act::CiamRefresh, 0);
        let f = self.step(f, Act::CiamRefresh, 0);
        let f = self.step(f, Act::CiamRevoke, 0);
        assert_eq!(f.state_id(), StateId::Revoked);
        // Internet banking with 2FA.
        let f = self.start(Api::Ciam);
        let f = self.step(f, Act::Authorize, 0);
        let f = self.step(f, Act::Submit, 1);
        let f = self.step(f, Act::CiamVerify, 0);
        let f = self.step(f, Act::CiamExchange, 0);
        let f = self.step(f, Act::CiamRevoke, 0);
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
    for profile in Profile::variants() {
        let mut w = Walker::new(profile);
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
    let mut w = Walker::new(Profile::default());
    let f = w.start(Api::Ciam);
    let (req, _) = match begin(f, Act::Authorize, &mut w.env, &Inputs::default()) {
        Begun::Sent(r, p) => (r, p),
        _ => panic!("authorize sends a request"),
    };
    assert!(check_request(&req, &Profile::default()).is_ok());
    // The same request judged against a profile with location, extras, other routes.
    for other in Profile::variants().into_iter().skip(1) {
        assert!(
            check_request(&req, &other).is_err(),
            "a default-profile authorize passes as {other:?}"
        );
    }
}

fn sent(flow: Flow, act: Act, env: &mut Env) -> (login_core::Request, AnyPending) {
    match begin(flow, act, env, &Inputs::default()) {
        Begun::Sent(r, p) => (r, p),
        _ => panic!("{act:?} sends a request"),
    }
}

fn body(req: &login_core::Request) -> serde_json::Map<String, Value> {
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
    let mut env = Env::new(Profile::default(), 1);
    let f = env.start(Api::Realm);
    let (req, _) = sent(f, Act::RequestLogin, &mut env);
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
    let mut env = Env::new(Profile::everything(), 1);
    let f = env.start(Api::Realm);
    let (_, p) = sent(f, Act::RequestLogin, &mut env);
    let reply = json(
        201,
        json!({"reqId": "CANARY-REQ-x", "exp": 60, "mfa": "none", "refId": "R-1"}),
    );
    let f = p.receive(reply, t0()).result.expect("mfa none");
    let (req, _) = sent(f, Act::RealmExchange, &mut env);
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
        let mut env = Env::new(Profile::default(), 1);
        let f = env.start(Api::Realm);
        let (_, p) = sent(f, Act::RequestLogin, &mut env);
        let f = p.receive(json(201, reply), t0()).result.expect("mfa otp");
        assert_eq!(f.state_id(), StateId::MfaPending);
        let (req, _) = sent(f, Act::RealmOtp, &mut env);
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
    let mut env = Env::new(Profile::default(), 1);
    let f = advance(env.start(Api::Realm), Act::RequestLogin, 0, &mut env, 1);
    let f = advance(f, Act::RealmExchange, 0, &mut env, 2);
    let (req, p) = sent(f, Act::RealmRefresh, &mut env);
    assert_eq!(req.method().as_str(), "PATCH");
    assert_eq!(req.path(), "/auth/realm/cap/token");
    let b = body(&req);
    assert_eq!(keys(&b), ["clientId", "refreshToken"]);
    assert_eq!(b["refreshToken"], format!("{REFRESH}-2"));
    assert!(req.headers().iter().all(|h| h.name() != "Authorization"));
    let f = p
        .receive(json(200, token_set(3)), t0())
        .result
        .expect("refreshed");
    let (req, _) = sent(f, Act::RealmRefresh, &mut env);
    assert_eq!(body(&req)["refreshToken"], format!("{REFRESH}-3"));
}

#[test]
fn realm_revoke_is_local_and_says_so() {
    let mut env = Env::new(Profile::default(), 1);
    let f = advance(env.start(Api::Realm), Act::RequestLogin, 0, &mut env, 1);
    let Flow::Realm(realm::State::Challenged(c)) = f else {
        panic!("challenged")
    };
    let (_, p) = c.exchange(&env.realm);
    let t = p
        .receive(
            &Response::new(201, token_set(2).to_string().into_bytes()),
            t0(),
        )
        .expect("tokened");
    let revoked = t.revoke();
    assert!(!revoked.sent_request());
    let Flow::Realm(realm::State::Revoked(r)) = realm_revoked(revoked) else {
        panic!("revoked")
    };
    assert!(!r.sent_request());
}

#[test]
fn forgot_password_sends_the_contract_fields_and_the_ticket_as_bearer() {
    let mut env = Env::new(Profile::default(), 1);
    let f = env.start(Api::ForgotPassword);
    let (req, p) = sent(f, Act::ResetRequest, &mut env);
    assert_eq!(req.path(), "/realm/admin/cap/user/forgotPassword");
    assert_eq!(keys(&body(&req)), ["username"]);
    let f = p
        .receive(
            json(201, json!({"reqId": "CANARY-RREQ-1", "refId": "RR-9"})),
            t0(),
        )
        .result
        .expect("otp sent");
    let (req, p) = sent(f, Act::ResetVerify, &mut env);
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
            json(201, json!({"reqId": "CANARY-TICKET-1", "refId": "RR-9"})),
            t0(),
        )
        .result
        .expect("verified");
    let (req, _) = sent(f, Act::ResetPassword, &mut env);
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
    let cfg = Profile::default()
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
    for profile in Profile::variants() {
        let mut env = Env::new(profile.clone(), 5);
        let start = env.start(Api::Ciam);
        let Flow::Ciam(ciam::State::Start(s)) = &start else {
            panic!("start")
        };
        let state = s.state().to_owned();
        let (req, p) = sent(start, Act::Authorize, &mut env);
        let auth = body(&req);
        let mut want = vec![
            "clientId",
            "codeChallenge",
            "codeChallengeMethod",
            "scope",
            "state",
        ];
        if profile.authorize_extras {
            want.extend(["authToken", "loginVerifier"]);
            want.sort_unstable();
        }
        assert_eq!(keys(&auth), want, "{profile:?}");
        assert_eq!(auth["codeChallengeMethod"], "S256");
        assert_eq!(auth["state"], state.as_str());
        assert!(state.len() >= 22);
        assert_eq!(auth["scope"], profile.ciam_scope.join(" "), "a string");
        let f = p
            .receive(
                json(
                    200,
                    json!({"loginChallenge": "CANARY-LC-a", "authToken": "CANARY-AUTHTOK-a"}),
                ),
                t0(),
            )
            .result
            .expect("authorized");
        let f = advance(f, Act::Submit, 0, &mut env, 1);
        let (req, _) = sent(f, Act::CiamExchange, &mut env);
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
    let mut env = Env::new(Profile::default(), 9);
    let mut challenges = BTreeSet::new();
    let mut states = BTreeSet::new();
    for _ in 0..50 {
        let f = env.start(Api::Ciam);
        let (req, _) = sent(f, Act::Authorize, &mut env);
        let b = body(&req);
        challenges.insert(b["codeChallenge"].to_string());
        states.insert(b["state"].to_string());
    }
    assert_eq!((challenges.len(), states.len()), (50, 50));
}

#[test]
fn captcha_is_a_get_with_check_identity_and_no_body() {
    let mut env = Env::new(Profile::everything(), 1);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 4);
    let (req, _) = sent(f, Act::Captcha, &mut env);
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
    let mut env = Env::new(Profile::default(), 2);
    env.now = t0() + Duration::from_millis(1_500);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 6);
    // Without a captcha.
    let (req, _) = sent(f.clone(), Act::Submit, &mut env);
    let b = body(&req);
    assert_eq!(keys(&b), ["authToken", "loginChallenge"]);
    assert_eq!(b["loginChallenge"], format!("{LOGIN_CHALLENGE}-6"));
    let plain: Value =
        serde_json::from_slice(&open_jwe(b["authToken"].as_str().expect("jwe")).expect("opens"))
            .expect("json");
    check_plaintext(&plain, Some(&format!("{AUTH_TOKEN}-6")), None, env.now).expect("fields");
    assert_eq!(plain["iat"], json!(1_790_000_001u64), "whole seconds");
    // With a captcha.
    let f = advance(f, Act::Captcha, 0, &mut env, 7);
    let (req, _) = sent(f, Act::Submit, &mut env);
    let plain: Value = serde_json::from_slice(
        &open_jwe(body(&req)["authToken"].as_str().expect("jwe")).expect("opens"),
    )
    .expect("json");
    check_plaintext(
        &plain,
        Some(&format!("{AUTH_TOKEN}-6")),
        Some("cap-7"),
        env.now,
    )
    .expect("fields with captcha");
    assert_eq!(plain["captchaAnswer"], CAPTCHA_ANSWER);
}

#[test]
fn a_login_challenge_attempt_uses_the_captcha_up() {
    let mut env = Env::new(Profile::default(), 2);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let f = advance(f, Act::Captcha, 0, &mut env, 2);
    let (_, p) = sent(f, Act::Submit, &mut env);
    let back = p
        .receive(json(400, json!({"error": "invalid_captcha"})), t0())
        .result
        .err()
        .and_then(|(_, s)| s)
        .expect("the login challenge survives a wrong captcha");
    let Flow::Ciam(ciam::State::Authorized(a)) = &back else {
        panic!("authorized")
    };
    assert!(a.captcha().is_none(), "the used captcha is gone");
    let (req, _) = sent(back, Act::Submit, &mut env);
    let plain: Value = serde_json::from_slice(
        &open_jwe(body(&req)["authToken"].as_str().expect("jwe")).expect("opens"),
    )
    .expect("json");
    assert!(plain.get("captchaId").is_none() && plain.get("captchaAnswer").is_none());
}

#[test]
fn a_fetched_captcha_without_an_answer_is_refused_before_sending() {
    let mut env = Env::new(Profile::default(), 2);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let f = advance(f, Act::Captcha, 0, &mut env, 2);
    let inputs = Inputs {
        captcha_answer: false,
        ..Inputs::default()
    };
    match begin(f, Act::Submit, &mut env, &inputs) {
        Begun::Refused(d) => {
            let Err((e, s)) = d.result else {
                panic!("refused")
            };
            assert_eq!(e.kind(), login_core::ErrorKind::Config);
            assert_eq!(s.map(|s| s.state_id()), Some(StateId::Authorized));
        }
        _ => panic!("a captcha with no answer must not be sent"),
    }
}

#[test]
fn additional_authentication_only_when_configured() {
    for (profile, want) in [
        (Profile::default(), None),
        (Profile::everything(), Some("OTP")),
    ] {
        let mut env = Env::new(profile, 3);
        let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
        let (req, _) = sent(f, Act::Submit, &mut env);
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
    let mut env = Env::new(Profile::default(), 3);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let f = advance(f, Act::Submit, 1, &mut env, 2);
    let (req, p) = sent(f, Act::CiamVerify, &mut env);
    let b = body(&req);
    assert_eq!(keys(&b), ["consentOtp", "mfaChallenge"]);
    assert_eq!(b["consentOtp"], OTP);
    assert_eq!(b["mfaChallenge"], format!("{MFA}-2"));
    let f = p
        .receive(
            json(
                200,
                json!({"code": "CANARY-CODE-z", "token": "CANARY-LCTOKEN-z"}),
            ),
            t0(),
        )
        .result
        .expect("challenged");
    let (req, _) = sent(f, Act::CiamExchange, &mut env);
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
    let mut env = Env::new(Profile::everything(), 3);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let f = advance(f, Act::Submit, 0, &mut env, 2);
    let f = advance(f, Act::CiamExchange, 0, &mut env, 3);
    let (req, p) = sent(f, Act::CiamRefresh, &mut env);
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
        .receive(json(200, token_set(4)), t0())
        .result
        .expect("refreshed");
    let (req, _) = sent(f, Act::CiamRevoke, &mut env);
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
    let on = Profile::everything();
    let off = Profile {
        routes: on.routes,
        overrides: on.overrides.clone(),
        ..Profile::default()
    };
    for (profile, loc, ev) in [(on, true, true), (off, false, false)] {
        let mut w = Walker::new(profile);
        w.all_paths();
        // Walker.step checks every request; here the per-step header sets are spelled out.
        for (step, _) in &w.seen {
            let h = expected_headers(*step, &w.env.profile);
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
    let mut w = Walker::new(Profile::everything());
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
    let mut env = Env::new(Profile::default(), 12);
    let start = env.start(Api::Ciam);
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
    let (_, p) = sent(start.clone(), Act::Authorize, &mut env);
    let authorized = p
        .receive(reply(&state), t0())
        .result
        .expect("a matching echo");
    let (_, p) = sent(start, Act::Authorize, &mut env);
    let Err((e, s)) = p.receive(reply("forged"), t0()).result else {
        panic!("a forged echo must fail")
    };
    assert_eq!(e.kind(), login_core::ErrorKind::StateMismatch);
    assert!(s.is_none(), "a forged state ends the flow");

    let challenged = advance(authorized, Act::Submit, 0, &mut env, 1);
    for (echo, ok) in [(state.as_str(), true), ("forged", false)] {
        let mut body = token_set(2);
        body["state"] = json!(echo);
        let (_, p) = sent(challenged.clone(), Act::CiamExchange, &mut env);
        let done = p.receive(json(200, body), t0());
        assert_eq!(done.result.is_ok(), ok, "echo {echo}");
    }
}

#[test]
fn a_new_captcha_replaces_the_earlier_one() {
    let mut env = Env::new(Profile::default(), 13);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let f = advance(f, Act::Captcha, 0, &mut env, 2);
    let f = advance(f, Act::Captcha, 0, &mut env, 3);
    let (req, _) = sent(f, Act::Submit, &mut env);
    let plain: Value = serde_json::from_slice(
        &open_jwe(body(&req)["authToken"].as_str().expect("jwe")).expect("opens"),
    )
    .expect("json");
    assert_eq!(plain["captchaId"], "cap-3");
}

#[test]
fn every_failed_login_challenge_uses_the_captcha_up() {
    let mut env = Env::new(Profile::default(), 14);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let with_captcha = advance(f, Act::Captcha, 0, &mut env, 2);
    let mut outcomes: Vec<Done> = Vec::new();
    for reply in error_replies() {
        let (_, p) = sent(with_captcha.clone(), Act::Submit, &mut env);
        outcomes.push(p.receive(reply, t0()));
    }
    for failure in transport_failures() {
        let (_, p) = sent(with_captcha.clone(), Act::Submit, &mut env);
        outcomes.push(p.fail(failure));
    }
    let mut kept = 0;
    for done in outcomes {
        if let Err((e, Some(Flow::Ciam(ciam::State::Authorized(a))))) = done.result {
            assert!(a.captcha().is_none(), "{e:?} left the used captcha");
            kept += 1;
        }
    }
    assert!(kept > 20, "{kept} failures kept the state");
}

#[test]
fn ciam_revoke_reaches_the_server() {
    let mut env = Env::new(Profile::default(), 15);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let f = advance(f, Act::Submit, 0, &mut env, 2);
    let f = advance(f, Act::CiamExchange, 0, &mut env, 3);
    let Flow::Ciam(ciam::State::Revoked(r)) = advance(f, Act::CiamRevoke, 0, &mut env, 4) else {
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
    let mut env = Env::new(Profile::default(), 16);
    // (state before, method, reply carrying the evil value, method that sends it in a header)
    let ciam_authorized = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let ciam_challenged = advance(ciam_authorized.clone(), Act::Submit, 0, &mut env, 2);
    let ciam_mfa = advance(ciam_authorized.clone(), Act::Submit, 1, &mut env, 3);
    let forgot_sent = advance(
        env.start(Api::ForgotPassword),
        Act::ResetRequest,
        0,
        &mut env,
        4,
    );
    let mut evil_tokens = token_set(5);
    evil_tokens["accessToken"] = json!(evil);
    let cases = [
        (
            env.start(Api::Ciam),
            Act::Authorize,
            json(200, json!({"loginChallenge": evil, "authToken": "a"})),
            Act::Captcha,
        ),
        (
            ciam_authorized,
            Act::Submit,
            json(200, json!({"code": "c", "token": evil})),
            Act::CiamExchange,
        ),
        (
            ciam_mfa,
            Act::CiamVerify,
            json(200, json!({"code": "c", "token": evil})),
            Act::CiamExchange,
        ),
        (
            ciam_challenged,
            Act::CiamExchange,
            json(200, evil_tokens),
            Act::CiamRevoke,
        ),
        (
            forgot_sent,
            Act::ResetVerify,
            json(201, json!({"reqId": evil, "refId": "r"})),
            Act::ResetPassword,
        ),
    ];
    for (state, act, reply, then) in cases {
        let (_, p) = sent(state, act, &mut env);
        match p.receive(reply, t0()).result {
            Err((e, _)) => assert_eq!(e.kind(), login_core::ErrorKind::MalformedResponse),
            Ok(next) => {
                let (req, _) = sent(next, then, &mut env);
                if let Err(e) = check_request(&req, &env.profile) {
                    problems.push(e);
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
