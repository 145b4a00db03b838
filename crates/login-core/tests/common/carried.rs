//! What each request must carry beyond the contract's constants: the user's inputs, the values
//! the server handed out before (remembered in [`Memory`]), and the PKCE and `state` values
//! authorize sent, checked with the independent oracle.

use std::collections::BTreeSet;
use std::time::SystemTime;

use login_core::table::{Input, StateId, StepId};
use login_core::{Flow, Response, TokenSet, ciam, forgot, realm};
use serde_json::Value;

use super::contract::{Seen, USERNAME};
use super::fixture::Inputs;
use super::oracle::{CAPTCHA_ANSWER, PASSWORD, independent_s256, open_envelope};

/// What the fake server handed out and the client sent so far, to check later requests by.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    pub req_id: Option<String>,
    pub reset_req_id: Option<String>,
    pub ticket: Option<String>,
    pub login_challenge: Option<String>,
    pub auth_token: Option<String>,
    pub code: Option<String>,
    pub token: Option<String>,
    pub mfa_challenge: Option<String>,
    /// `state`, `codeChallenge` and `scope` sent with authorize.
    pub authorize: Option<(String, String, String)>,
    /// Secrets without the canary mark (the PKCE verifier, envelopes) seen on the wire.
    pub secrets: Vec<String>,
}

fn reply_str(reply: &Response, field: &str) -> Option<String> {
    let v: Value = serde_json::from_slice(reply.body()).ok()?;
    v.get(field).and_then(Value::as_str).map(str::to_owned)
}

impl Memory {
    /// Records what a request sent that later requests must repeat.
    pub fn on_request(&mut self, step: StepId, seen: &Seen) {
        match step {
            StepId::CiamAuthorize => {
                let get = |f| seen.str(f).unwrap_or_default().to_owned();
                self.authorize = Some((get("state"), get("codeChallenge"), get("scope")));
            }
            StepId::CiamLoginChallenge => {
                if let Some(jwe) = seen.str("authToken") {
                    self.secrets.push(jwe.to_owned());
                }
            }
            StepId::CiamAccessToken => {
                if let Some(v) = seen.str("codeVerifier")
                    && !self.secrets.iter().any(|s| s == v)
                {
                    self.secrets.push(v.to_owned());
                }
            }
            _ => {}
        }
    }

    /// Records the values of a reply the engine accepted (it moved to `next`).
    pub fn on_success(&mut self, step: StepId, reply: &Response, next: &Flow) {
        let s = |f| reply_str(reply, f);
        match step {
            StepId::RealmRequestLogin => self.req_id = s("reqId"),
            StepId::ResetRequest => self.reset_req_id = s("reqId"),
            StepId::ResetVerifyOtp => self.ticket = s("reqId"),
            StepId::CiamAuthorize => {
                self.login_challenge = s("loginChallenge");
                self.auth_token = s("authToken");
            }
            StepId::CiamLoginChallenge | StepId::CiamPreLoginVerify => match next.state_id() {
                StateId::MfaPending => self.mfa_challenge = s("mfaChallenge"),
                _ => {
                    self.code = s("code");
                    self.token = s("token");
                }
            },
            _ => {}
        }
    }
}

/// The tokens of a `Tokened` flow.
pub fn tokens(flow: &Flow) -> Option<&TokenSet> {
    match flow {
        Flow::Realm(realm::State::Tokened(t)) => Some(t.tokens()),
        Flow::Ciam(ciam::State::Tokened(t)) => Some(t.tokens()),
        _ => None,
    }
}

/// Checks the values a request carries against the state it left (`before`), the user's
/// inputs and what the server said before. `open` opens and checks the credential envelope
/// (slow in debug builds).
#[allow(clippy::too_many_arguments)]
pub fn check_carried(
    before: &Flow,
    (step, input): (StepId, Input),
    inputs: &Inputs,
    mem: &Memory,
    seen: &Seen,
    now: SystemTime,
    open: bool,
) -> Result<(), String> {
    let eq = |what: &str, got: Option<&str>, want: Option<&str>| -> Result<(), String> {
        if got == want {
            Ok(())
        } else {
            Err(format!("{step:?}: {what} = {got:?}, want {want:?}"))
        }
    };
    let keys: BTreeSet<&str> = seen.body.keys().map(String::as_str).collect();
    match (step, before) {
        (StepId::RealmRequestLogin, _) => {
            eq("username", seen.str("username"), Some(USERNAME))?;
            eq("password", seen.str("password"), Some(PASSWORD))?;
        }
        (StepId::RealmToken, Flow::Realm(realm::State::Challenged(_))) => {
            eq("reqId", seen.str("reqId"), mem.req_id.as_deref())?;
            if keys != BTreeSet::from(["reqId", "scope"]) {
                return Err(format!("mfa none token call sends {keys:?}"));
            }
        }
        (StepId::RealmToken, Flow::Realm(realm::State::MfaPending(m))) => {
            eq("reqId", seen.str("reqId"), mem.req_id.as_deref())?;
            eq("otp", seen.str("otp"), Some(&inputs.otp))?;
            eq("refId", seen.str("refId"), m.ref_id())?;
        }
        (StepId::RealmRefresh | StepId::CiamRefresh, flow) => {
            let want = tokens(flow).map(|t| t.refresh_token().expose());
            eq("refreshToken", seen.str("refreshToken"), want)?;
        }
        (StepId::ResetRequest, _) => eq("username", seen.str("username"), Some(USERNAME))?,
        (StepId::ResetVerifyOtp, Flow::ForgotPassword(forgot::State::OtpSent(o))) => {
            eq("otp", seen.str("otp"), Some(&inputs.otp))?;
            eq("reqId", seen.str("reqId"), mem.reset_req_id.as_deref())?;
            eq("refId", seen.str("refId"), Some(o.ref_id()))?;
            eq("username", seen.str("username"), Some(o.username()))?;
        }
        (StepId::ResetPassword, _) => {
            eq(
                "newPassword",
                seen.str("newPassword"),
                Some(&inputs.new_password),
            )?;
            eq(
                "bearer ticket",
                seen.authorization.as_deref(),
                mem.ticket.as_deref(),
            )?;
        }
        (StepId::CiamAuthorize, Flow::Ciam(ciam::State::Start(s))) => {
            eq("state", seen.str("state"), Some(s.state()))?;
            if let Some((state, challenge, _)) = &mem.authorize {
                // A repeated authorize (after a failure) sends the same PKCE pair and state.
                eq("state", seen.str("state"), Some(state))?;
                eq("codeChallenge", seen.str("codeChallenge"), Some(challenge))?;
            }
        }
        (StepId::CiamCaptcha, _) => eq(
            "checkIdentity",
            seen.check_identity.as_deref(),
            mem.login_challenge.as_deref(),
        )?,
        (StepId::CiamLoginChallenge, Flow::Ciam(state)) => {
            // The captcha the envelope must name: the one shown, and only with an answer.
            let captcha = match (state, input) {
                (ciam::State::Authorized(_), Input::Credentials) => None,
                (ciam::State::CaptchaShown(s), Input::CaptchaAnswer) => {
                    Some(s.captcha().id().to_owned())
                }
                (other, input) => {
                    return Err(format!(
                        "login challenge with {input:?} from {:?}",
                        other.id()
                    ));
                }
            };
            eq(
                "loginChallenge",
                seen.str("loginChallenge"),
                mem.login_challenge.as_deref(),
            )?;
            if open {
                let v = open_envelope(seen.str("authToken").unwrap_or_default())?;
                check_plaintext(&v, mem.auth_token.as_deref(), captcha.as_deref(), now)?;
            }
        }
        (StepId::CiamPreLoginVerify, _) => {
            eq("consentOtp", seen.str("consentOtp"), Some(&inputs.otp))?;
            eq(
                "mfaChallenge",
                seen.str("mfaChallenge"),
                mem.mfa_challenge.as_deref(),
            )?;
        }
        (StepId::CiamAccessToken, _) => {
            eq(
                "bearer",
                seen.authorization.as_deref(),
                mem.token.as_deref(),
            )?;
            eq("code", seen.str("code"), mem.code.as_deref())?;
            let (state, challenge, scope) = mem
                .authorize
                .clone()
                .ok_or("access token before any authorize")?;
            eq("state", seen.str("state"), Some(&state))?;
            eq("scope", seen.str("scope"), Some(&scope))?;
            let verifier = seen.str("codeVerifier").unwrap_or_default();
            eq(
                "S256(codeVerifier)",
                Some(&independent_s256(verifier)),
                Some(&challenge),
            )?;
        }
        (StepId::CiamRevoke, flow) => {
            let want = tokens(flow).map(|t| t.access_token().expose());
            eq("bearer", seen.authorization.as_deref(), want)?;
        }
        (step, before) => {
            return Err(format!("{step:?} from {:?}", before.state_id()));
        }
    }
    Ok(())
}

/// The envelope's plaintext: exactly `{authToken, username, password, captchaId?,
/// captchaAnswer?, iat}` with the captcha pair only when a captcha is held.
pub fn check_plaintext(
    v: &Value,
    auth_token: Option<&str>,
    captcha_id: Option<&str>,
    now: SystemTime,
) -> Result<(), String> {
    let obj = v.as_object().ok_or("plaintext is not an object")?;
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    let mut want = BTreeSet::from(["authToken", "username", "password", "iat"]);
    if captcha_id.is_some() {
        want.extend(["captchaId", "captchaAnswer"]);
    }
    if keys != want {
        return Err(format!("plaintext fields {keys:?}, want {want:?}"));
    }
    let s = |f: &str| obj.get(f).and_then(Value::as_str);
    let checks = [
        ("authToken", s("authToken") == auth_token),
        ("username", s("username") == Some(USERNAME)),
        ("password", s("password") == Some(PASSWORD)),
        ("captchaId", s("captchaId") == captcha_id),
        (
            "captchaAnswer",
            s("captchaAnswer") == captcha_id.map(|_| CAPTCHA_ANSWER),
        ),
    ];
    for (field, ok) in checks {
        if !ok {
            return Err(format!("plaintext {field} is wrong"));
        }
    }
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match obj.get("iat") {
        Some(Value::Number(n)) if n.as_u64() == Some(secs) => Ok(()),
        other => Err(format!("iat = {other:?}, want the integer {secs}")),
    }
}
