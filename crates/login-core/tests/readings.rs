//! One test per reading setting (`login_core::readings`): each shows the request or the
//! reading the setting changes, so it fails if the setting stops taking effect. The default of
//! each is the contract's reading, checked beside it.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

use std::time::{Duration, SystemTime};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use login_core::ciam::{self, CiamConfig, CiamProfile, Credentials};
use login_core::entropy::{DeterministicEntropy, Entropy, OsEntropy};
use login_core::error::{LocalError, MalformedReason, SealError};
use login_core::readings::{
    ContentEncryption, Envelope, ExpiryForm, HeaderName, RefreshFields, ScopeForm,
};
use login_core::realm::{self, RealmConfig, RealmProfile};
use login_core::seal::{CredentialSealer, JweSealer};
use login_core::secret::{ClientSecret, DeviceToken, FlowSecret, Password};
use login_core::{Error, Request, Response};
use p256::SecretKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const T0: u64 = 1_790_000_000;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0)
}

/// An object's keys, sorted (whatever map order serde_json was built with).
fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn body(req: &Request) -> Value {
    serde_json::from_slice(req.body().expect("a body")).expect("JSON body")
}

fn realm_cfg() -> RealmConfig {
    RealmConfig::new("cap", "cap-mobile", ClientSecret::new("test-secret"))
        .scope(["openid", "email"])
}

fn ciam_cfg() -> CiamConfig {
    CiamConfig::new(
        "ib-web",
        "https://app.example/cb",
        DeviceToken::new("test-device"),
    )
    .scope(["openid", "email"])
}

/// A realm login up to `Challenged`, with the request-login answer `reply`.
fn realm_challenged(
    cfg: &RealmConfig,
    reply: &str,
) -> Result<realm::Challenged, login_core::Failed<realm::Start>> {
    let (_, p) = realm::Start::new("alice", Password::new("pw")).request_login(cfg);
    match p.receive(&Response::new(201, reply.as_bytes().to_vec()), now())? {
        realm::LoginStarted::Challenged(c) => Ok(c),
        realm::LoginStarted::MfaPending(_) => panic!("mfa none expected"),
    }
}

fn realm_tokened(cfg: &RealmConfig) -> realm::Tokened {
    let c = realm_challenged(cfg, r#"{"reqId":"r1","exp":300,"mfa":"none"}"#).expect("challenged");
    let (_, p) = c.exchange(cfg);
    let reply = br#"{"accessToken":"a","refreshToken":"r","expires":300}"#.to_vec();
    p.receive(&Response::new(201, reply), now())
        .expect("tokened")
}

#[test]
fn realm_scope_form_string_sends_one_space_separated_string() {
    let c = realm_challenged(&realm_cfg(), r#"{"reqId":"r1","exp":300,"mfa":"none"}"#).unwrap();
    let (req, _) = c.clone().exchange(&realm_cfg());
    assert_eq!(body(&req)["scope"], json!(["openid", "email"]), "default");
    let cfg = realm_cfg().scope_form(ScopeForm::String);
    let (req, _) = c.exchange(&cfg);
    assert_eq!(body(&req)["scope"], json!("openid email"));
}

#[test]
fn realm_refresh_fields_token_only_sends_no_client_id() {
    let cfg = realm_cfg();
    let (req, _) = realm_tokened(&cfg).refresh(&cfg);
    assert_eq!(
        body(&req),
        json!({"clientId": "cap-mobile", "refreshToken": "r"}),
        "default"
    );
    let cfg = cfg.refresh_fields(RefreshFields::TokenOnly);
    let (req, _) = realm_tokened(&cfg).refresh(&cfg);
    assert_eq!(body(&req), json!({"refreshToken": "r"}));
}

#[test]
fn realm_expiry_unix_time_reads_exp_and_expires_as_instants() {
    let cfg = realm_cfg().expiry(ExpiryForm::UnixTime);
    let exp = format!(r#"{{"reqId":"r1","exp":{},"mfa":"none"}}"#, T0 + 120);
    let c = realm_challenged(&cfg, &exp).expect("challenged");
    assert_eq!(c.expires_at(), Some(now() + Duration::from_secs(120)));
    // The default reads the same number as a lifetime: decades away.
    let lifetime = realm_challenged(&realm_cfg(), &exp).expect("challenged");
    assert!(lifetime.expires_at().unwrap() > now() + Duration::from_secs(40 * 365 * 86_400));

    let (_, p) = c.exchange(&cfg);
    let reply = format!(
        r#"{{"accessToken":"a","refreshToken":"r","expires":"{}","refreshExpires":{}}}"#,
        T0 + 300,
        T0 + 1800
    );
    let t = p
        .receive(&Response::new(201, reply.into_bytes()), now())
        .expect("tokens");
    assert_eq!(
        t.tokens().expires_at(),
        Some(now() + Duration::from_secs(300))
    );
    assert_eq!(
        t.tokens().refresh_expires_at(),
        Some(now() + Duration::from_secs(1800))
    );
}

#[test]
fn an_absolute_expiry_already_past_is_malformed_and_keeps_the_state() {
    let cfg = realm_cfg().expiry(ExpiryForm::UnixTime);
    let reply = format!(r#"{{"reqId":"r1","exp":{},"mfa":"none"}}"#, T0 - 1);
    let failed = realm_challenged(&cfg, &reply).unwrap_err();
    assert!(
        matches!(&failed.error, Error::Malformed(m) if m.reason == MalformedReason::PastExpiry { field: "exp" }),
        "{:?}",
        failed.error
    );
    assert!(
        failed.error.to_string().contains("expiry"),
        "{}",
        failed.error
    );
    assert!(failed.state.is_some(), "the credentials are still good");
}

#[test]
fn ciam_scope_form_array_sends_arrays_on_every_call_that_carries_scope() {
    for (form, want) in [
        (ScopeForm::String, json!("openid email")),
        (ScopeForm::Array, json!(["openid", "email"])),
    ] {
        let cfg = ciam_cfg().scope_form(form);
        let mut rng = DeterministicEntropy::new(1);
        let (req, p) = ciam::Start::new(&mut rng).unwrap().authorize(&cfg);
        assert_eq!(body(&req)["scope"], want, "authorize {form:?}");
        let authorized = p
            .receive(
                &Response::new(200, br#"{"loginChallenge":"lc","authToken":"at"}"#.to_vec()),
                now(),
            )
            .unwrap();
        let (_, p) = authorized
            .submit_credentials(
                &cfg,
                &NoSealer,
                &Credentials::new("u", Password::new("p")),
                &mut rng,
                now(),
            )
            .unwrap();
        let ciam::LoginOutcome::Challenged(c) = p
            .receive(
                &Response::new(200, br#"{"code":"c","token":"t"}"#.to_vec()),
                now(),
            )
            .unwrap()
        else {
            panic!("no 2FA")
        };
        let (req, p) = c.exchange(&cfg);
        assert_eq!(body(&req)["scope"], want, "access token {form:?}");
        let reply = br#"{"accessToken":"A","refreshToken":"R","scope":["openid","email"]}"#;
        let tokened = p
            .receive(&Response::new(200, reply.to_vec()), now())
            .unwrap();
        // A scope array in the answer is read either way.
        assert_eq!(tokened.tokens().scope(), Some("openid email"));
        let (req, _) = tokened.refresh(&cfg);
        assert_eq!(body(&req)["scope"], want, "refresh {form:?}");
    }
}

/// Seals nothing: for tests that look at everything but the envelope.
struct NoSealer;

impl CredentialSealer for NoSealer {
    fn seal(&self, _: &[u8], _: &mut dyn Entropy) -> Result<FlowSecret, Error> {
        Ok(FlowSecret::new("jwe"))
    }
}

fn authorized(cfg: &CiamConfig) -> ciam::Authorized {
    let (_, p) = ciam::Start::new(&mut OsEntropy).unwrap().authorize(cfg);
    p.receive(
        &Response::new(
            200,
            br#"{"loginChallenge":"lc-1","authToken":"at-1"}"#.to_vec(),
        ),
        now(),
    )
    .unwrap()
}

#[test]
fn ciam_captcha_header_names_the_header_the_login_challenge_goes_in() {
    let headers = |cfg: &CiamConfig| {
        let (req, _) = authorized(cfg).fetch_captcha(cfg);
        req.headers()
            .iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned(), h.is_sensitive()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        headers(&ciam_cfg()),
        [("checkIdentity".to_owned(), "lc-1".to_owned(), true)]
    );
    let cfg = ciam_cfg().captcha_header(HeaderName::new("captchaIdentity").unwrap());
    assert_eq!(
        headers(&cfg),
        [("captchaIdentity".to_owned(), "lc-1".to_owned(), true)]
    );
    let (req, _) = authorized(&cfg).fetch_captcha(&cfg);
    assert!(!format!("{req:?}").contains("lc-1"), "still redacted");
}

/// A fresh recipient: the secret for the opener, the public JWK for the sealer.
fn recipient() -> (SecretKey, String) {
    loop {
        let mut bytes = [0u8; 32];
        OsEntropy.fill(&mut bytes).expect("os entropy");
        if let Ok(secret) = SecretKey::from_bytes(&bytes.into()) {
            let jwk = secret.public_key().to_jwk_string();
            return (secret, jwk);
        }
    }
}

/// Opens a compact ECDH-ES JWE with RustCrypto and a Concat KDF written here (RFC 7518
/// §4.6.2): returns the header's `enc` and the plaintext.
fn open(jwe: &str, secret: &SecretKey) -> (String, Value) {
    let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("base64url");
    let parts: Vec<&str> = jwe.split('.').collect();
    let [header_b64, "", iv, ct, tag] = parts[..] else {
        panic!("not compact ECDH-ES: {} parts", parts.len())
    };
    let header: Value = serde_json::from_slice(&b64(header_b64)).unwrap();
    let enc = header["enc"].as_str().unwrap().to_owned();
    let bits: u32 = match enc.as_str() {
        "A128GCM" => 128,
        "A256GCM" => 256,
        other => panic!("enc {other}"),
    };
    let epk = p256::PublicKey::from_jwk_str(&header["epk"].to_string()).unwrap();
    let z = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), epk.as_affine());
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(z.raw_secret_bytes());
    h.update((enc.len() as u32).to_be_bytes());
    h.update(enc.as_bytes());
    h.update([0u8; 8]); // empty apu and apv
    h.update(bits.to_be_bytes());
    let key = h.finalize();
    let iv: [u8; 12] = b64(iv).try_into().unwrap();
    let mut msg = b64(ct);
    msg.extend_from_slice(&b64(tag));
    let payload = Payload {
        msg: &msg,
        aad: header_b64.as_bytes(),
    };
    let plain = match bits {
        128 => Aes128Gcm::new_from_slice(&key[..16])
            .unwrap()
            .decrypt(&Nonce::from(iv), payload),
        _ => Aes256Gcm::new_from_slice(&key)
            .unwrap()
            .decrypt(&Nonce::from(iv), payload),
    }
    .expect("opens");
    (enc, serde_json::from_slice(&plain).unwrap())
}

/// The login-challenge body and the opened envelope for `cfg`.
fn login_challenge(cfg: &CiamConfig) -> (Value, String, Value) {
    let (secret, jwk) = recipient();
    let sealer = JweSealer::from_jwk(&jwk).unwrap();
    let creds = Credentials::new("alice", Password::new("alice-pw"));
    let (req, _) = authorized(cfg)
        .submit_credentials(cfg, &sealer, &creds, &mut OsEntropy, now())
        .unwrap();
    let body = body(&req);
    let field = cfg.envelope_value().field_name();
    let (enc, plaintext) = open(body[field].as_str().expect("the envelope"), &secret);
    (body, enc, plaintext)
}

#[test]
fn ciam_envelope_field_names_where_the_jwe_and_the_credentials_go() {
    let (body, enc, plain) = login_challenge(&ciam_cfg());
    assert_eq!(keys(&body), ["authToken", "loginChallenge"]);
    assert_eq!(enc, "A256GCM");
    assert_eq!(
        (&plain["username"], &plain["password"]),
        (&json!("alice"), &json!("alice-pw"))
    );

    let envelope = Envelope::default()
        .field("credentials")
        .unwrap()
        .username_field("login")
        .unwrap()
        .password_field("secret")
        .unwrap();
    let (body, _, plain) = login_challenge(&ciam_cfg().envelope(envelope));
    assert_eq!(keys(&body), ["credentials", "loginChallenge"]);
    assert_eq!(body["loginChallenge"], "lc-1");
    assert_eq!(keys(&plain), ["authToken", "iat", "login", "secret"]);
    assert_eq!(
        (&plain["login"], &plain["secret"], &plain["authToken"]),
        (&json!("alice"), &json!("alice-pw"), &json!("at-1"))
    );
}

#[test]
fn ciam_envelope_enc_a128gcm_derives_a_128_bit_key() {
    let cfg = ciam_cfg().envelope(Envelope::default().enc(ContentEncryption::A128Gcm));
    let (_, enc, plain) = login_challenge(&cfg);
    assert_eq!(enc, "A128GCM");
    assert_eq!(plain["username"], "alice");
}

#[test]
fn a_sealer_that_knows_only_the_default_refuses_another_enc_without_sending() {
    let cfg = ciam_cfg().envelope(Envelope::default().enc(ContentEncryption::A128Gcm));
    let failed = authorized(&cfg)
        .submit_credentials(
            &cfg,
            &NoSealer,
            &Credentials::new("u", Password::new("p")),
            &mut OsEntropy,
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(
            failed.error,
            Error::Local(LocalError::Seal(SealError::UnsupportedEnc {
                enc: "A128GCM"
            }))
        ),
        "{:?}",
        failed.error
    );
    assert!(failed.state.is_some());
}

#[test]
fn ciam_expiry_unix_time_reads_token_expiry_as_instants() {
    let cfg = ciam_cfg().expiry(ExpiryForm::UnixTime);
    let (_, p) = authorized(&cfg)
        .submit_credentials(
            &cfg,
            &NoSealer,
            &Credentials::new("u", Password::new("p")),
            &mut OsEntropy,
            now(),
        )
        .unwrap();
    let ciam::LoginOutcome::Challenged(c) = p
        .receive(
            &Response::new(200, br#"{"code":"c","token":"t"}"#.to_vec()),
            now(),
        )
        .unwrap()
    else {
        panic!("no 2FA")
    };
    let (_, p) = c.exchange(&cfg);
    let reply = format!(
        r#"{{"accessToken":"A","refreshToken":"R","expires":{}}}"#,
        T0 + 60
    );
    let t = p
        .receive(&Response::new(200, reply.into_bytes()), now())
        .unwrap();
    assert_eq!(
        t.tokens().expires_at(),
        Some(now() + Duration::from_secs(60))
    );
}

#[test]
fn profiles_without_the_new_keys_load_with_the_contract_readings() {
    // Profile JSON as earlier versions wrote it.
    let realm: RealmProfile = serde_json::from_str(
        r#"{"realmId":"cap","clientId":"cap-mobile","scope":["openid"],"success":"Any2xx","ticketSource":"verify_req_id"}"#,
    )
    .unwrap();
    assert_eq!(realm, RealmProfile::new("cap", "cap-mobile"));
    assert_eq!(realm.scope_form_value(), ScopeForm::Array);
    assert_eq!(realm.expiry_value(), ExpiryForm::Lifetime);
    assert_eq!(
        realm.refresh_fields_value(),
        RefreshFields::ClientIdAndToken
    );
    let ciam: CiamProfile = serde_json::from_str(
        r#"{"clientId":"ib","redirectUri":"https://app.example/cb","scope":"openid","routes":{},"success":"Any2xx"}"#,
    )
    .unwrap();
    assert_eq!(ciam, CiamProfile::new("ib", "https://app.example/cb"));
    assert_eq!(ciam.scope_form_value(), ScopeForm::String);
    assert_eq!(ciam.captcha_header_name(), "checkIdentity");
    assert_eq!(ciam.envelope_value(), &Envelope::default());
    // A profile at the defaults writes none of the reading keys.
    let json = serde_json::to_value(&ciam).unwrap();
    for key in [
        "success",
        "scopeForm",
        "expiry",
        "captchaHeader",
        "envelope",
    ] {
        assert!(json.get(key).is_none(), "{key} in {json}");
    }
}

#[test]
fn bad_reading_values_are_refused_when_a_profile_is_read() {
    let base = r#""clientId":"ib","redirectUri":"https://app.example/cb""#;
    for bad in [
        r#""captchaHeader":"check identity""#,
        r#""captchaHeader":"""#,
        r#""scopeForm":"list""#,
        r#""expiry":"absolute""#,
        r#""envelope":{"field":"loginChallenge"}"#,
        r#""envelope":{"enc":"A192GCM"}"#,
    ] {
        let text = format!("{{{base},{bad}}}");
        assert!(
            serde_json::from_str::<CiamProfile>(&text).is_err(),
            "{text}"
        );
    }
    let text = r#"{"realmId":"cap","clientId":"c","refreshFields":"none"}"#;
    assert!(serde_json::from_str::<RealmProfile>(text).is_err());
}
