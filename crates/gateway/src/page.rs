//! The login page: server-rendered HTML (minijinja, every value HTML-escaped), no script.
//!
//! `GET /` shows username, password and API; `POST /login`, `/login/otp` and
//! `/login/captcha` take the forms and render the next page (the OTP form, the captcha with
//! its image, or "signed in" with the session's expiry). The login id rides in the `lf_login`
//! cookie (HttpOnly, SameSite=Strict, Secure unless the gateway listens on loopback), never in
//! the page. Each form carries a CSRF token: an HMAC-SHA256, under the gateway's CSRF key, of a
//! random value in the `lf_csrf` cookie (same attributes), checked in constant time. Nothing
//! the user typed as a secret (password, OTP, captcha answer) and no token is ever rendered.

use std::sync::OnceLock;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use login_core::secret::{CaptchaAnswer, Otp, Password};
use minijinja::{AutoEscape, Environment, context};
use serde::Deserialize;

use crate::api::{check_secret, check_username, login_id};
use crate::engine::{ApiChoice, LoginStep};
use crate::error::ApiError;
use crate::{Shared, png_data_uri, rfc3339};

const LOGIN_COOKIE: &str = "lf_login";
const CSRF_COOKIE: &str = "lf_csrf";

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // HTML-escape every value, whatever the template's name.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        if let Err(e) = env.add_template("page.html", include_str!("../templates/page.html")) {
            tracing::error!(error = %e, "the page template does not parse");
        }
        env
    })
}

/// What a page shows.
#[derive(Default)]
struct View<'a> {
    view: &'static str,
    error: Option<&'a ApiError>,
    username: &'a str,
    selected: &'a str,
    channel: Option<String>,
    ref_id: Option<String>,
    captcha: Option<String>,
    expires_at: Option<String>,
}

/// The page's cookies and CSRF token for this browser.
struct Browser {
    csrf_cookie: String,
    new_csrf_cookie: bool,
    login: Option<String>,
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A random cookie value: 128 bits, base64url.
fn random_value() -> Option<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

fn csrf_token(app: &Shared, cookie: &str) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, &app.csrf_key);
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, format!("csrf:{cookie}").as_bytes()))
}

fn csrf_ok(app: &Shared, headers: &HeaderMap, presented: &str) -> bool {
    let Some(cookie) = cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 22) else {
        return false;
    };
    let expected = csrf_token(app, cookie);
    aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), presented.as_bytes())
        .is_ok()
}

impl Browser {
    fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        let login = cookie(headers, LOGIN_COOKIE).map(str::to_owned);
        match cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 22) {
            Some(c) => Ok(Self {
                csrf_cookie: c.to_owned(),
                new_csrf_cookie: false,
                login,
            }),
            None => Ok(Self {
                csrf_cookie: random_value().ok_or_else(|| {
                    ApiError::internal("the system random number generator failed")
                })?,
                new_csrf_cookie: true,
                login,
            }),
        }
    }
}

fn set_cookie(app: &Shared, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if app.secure_cookies {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("lf_invalid=1"))
}

/// Renders `view` with its status, cookies and headers that keep the page out of caches and
/// frames.
fn render(
    app: &Shared,
    browser: &Browser,
    status: StatusCode,
    view: View<'_>,
    login_cookie: Option<Option<&str>>,
) -> Response {
    let apis: Vec<_> = [
        (app.engine.banks.cap.is_some(), "cap", "Realm API (cap)"),
        (
            app.engine.banks.ciam.is_some(),
            "ciam",
            "Internet banking (ciam)",
        ),
    ]
    .into_iter()
    .filter(|(offered, _, _)| *offered)
    .map(|(_, value, label)| context! { value, label })
    .collect();
    let error = view
        .error
        .map(|e| context! { kind => e.kind(), message => e.message() });
    let html = templates().get_template("page.html").and_then(|t| {
        t.render(context! {
            view => view.view,
            error,
            csrf => csrf_token(app, &browser.csrf_cookie),
            apis,
            selected => view.selected,
            username => view.username,
            channel => view.channel,
            ref_id => view.ref_id,
            captcha => view.captcha,
            expires_at => view.expires_at,
        })
    });
    let html = match html {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "the page did not render");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the page did not render").into_response();
        }
    };
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if browser.new_csrf_cookie {
        headers.append(
            header::SET_COOKIE,
            set_cookie(app, CSRF_COOKIE, &browser.csrf_cookie, None),
        );
    }
    match login_cookie {
        Some(Some(id)) => {
            let ttl = app.engine.store.options().get_login_ttl().as_secs();
            headers.append(
                header::SET_COOKIE,
                set_cookie(app, LOGIN_COOKIE, id, Some(ttl)),
            );
        }
        Some(None) => {
            headers.append(
                header::SET_COOKIE,
                set_cookie(app, LOGIN_COOKIE, "", Some(0)),
            );
        }
        None => {}
    }
    response
}

/// The page for where a login step left the login.
fn step_page(app: &Shared, browser: &Browser, step: LoginStep) -> Response {
    match step {
        LoginStep::Authenticated { expires_at, .. } => render(
            app,
            browser,
            StatusCode::OK,
            View {
                view: "done",
                expires_at: Some(rfc3339(expires_at)),
                ..View::default()
            },
            Some(None),
        ),
        LoginStep::OtpRequired {
            login,
            channel,
            ref_id,
        } => render(
            app,
            browser,
            StatusCode::OK,
            View {
                view: "otp",
                channel,
                ref_id,
                ..View::default()
            },
            Some(Some(login.as_str())),
        ),
        LoginStep::CaptchaRequired { login, image_png } => render(
            app,
            browser,
            StatusCode::OK,
            View {
                view: "captcha",
                captcha: Some(png_data_uri(&image_png)),
                ..View::default()
            },
            Some(Some(login.as_str())),
        ),
    }
}

/// The start page with an error; the login cookie is cleared (the login is over).
fn start_again(
    app: &Shared,
    browser: &Browser,
    error: &ApiError,
    username: &str,
    api: &str,
) -> Response {
    render(
        app,
        browser,
        error.status(),
        View {
            view: "start",
            error: Some(error),
            username,
            selected: api,
            ..View::default()
        },
        Some(None),
    )
}

fn forbidden(app: &Shared, browser: &Browser) -> Response {
    let error = ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "this form expired or did not come from this page; start again",
    );
    start_again(app, browser, &error, "", "")
}

/// `GET /`: the start page.
pub async fn index(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let browser = match Browser::of(&headers) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    render(
        &app,
        &browser,
        StatusCode::OK,
        View {
            view: "start",
            selected: "cap",
            ..View::default()
        },
        None,
    )
}

/// The start form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartForm {
    csrf: String,
    api: ApiChoice,
    username: String,
    password: Password,
}

/// `POST /login`.
pub async fn start(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Response {
    let browser = match Browser::of(&headers) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if !csrf_ok(&app, &headers, &form.csrf) {
        return forbidden(&app, &browser);
    }
    let api = form.api.as_str();
    let checked = check_username(&form.username)
        .and_then(|()| check_secret("password", form.password.expose()));
    if let Err(e) = checked {
        return start_again(&app, &browser, &e, &form.username, api);
    }
    match app
        .engine
        .start(form.api, &form.username, form.password)
        .await
    {
        Ok(step) => step_page(&app, &browser, step),
        Err(e) => start_again(&app, &browser, &e, &form.username, api),
    }
}

/// The OTP form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpForm {
    csrf: String,
    otp: Otp,
}

/// Whether the login is still waiting after this error (the same form is shown again).
fn still_waiting(e: &ApiError) -> bool {
    matches!(
        e.kind(),
        "invalid_otp" | "invalid_captcha" | "login_busy" | "store_unavailable" | "rate_limited"
    ) || e.status() == StatusCode::BAD_GATEWAY
        || e.captcha_png().is_some()
}

/// `POST /login/otp`.
pub async fn otp(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<OtpForm>,
) -> Response {
    let browser = match Browser::of(&headers) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if !csrf_ok(&app, &headers, &form.csrf) {
        return forbidden(&app, &browser);
    }
    let login = match browser.login.as_deref().map(login_id) {
        Some(Ok(id)) => id,
        _ => return start_again(&app, &browser, &ApiError::not_found("login"), "", ""),
    };
    if let Err(e) = check_secret("otp", form.otp.expose()) {
        return render_otp_error(&app, &browser, &e);
    }
    match app.engine.otp(&login, form.otp).await {
        Ok(step) => step_page(&app, &browser, step),
        Err(e) if still_waiting(&e) => render_otp_error(&app, &browser, &e),
        Err(e) => start_again(&app, &browser, &e, "", ""),
    }
}

fn render_otp_error(app: &Shared, browser: &Browser, e: &ApiError) -> Response {
    render(
        app,
        browser,
        e.status(),
        View {
            view: "otp",
            error: Some(e),
            ..View::default()
        },
        None,
    )
}

/// The captcha form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaForm {
    csrf: String,
    answer: CaptchaAnswer,
    password: Password,
}

/// `POST /login/captcha`.
pub async fn captcha(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<CaptchaForm>,
) -> Response {
    let browser = match Browser::of(&headers) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if !csrf_ok(&app, &headers, &form.csrf) {
        return forbidden(&app, &browser);
    }
    let login = match browser.login.as_deref().map(login_id) {
        Some(Ok(id)) => id,
        _ => return start_again(&app, &browser, &ApiError::not_found("login"), "", "ciam"),
    };
    let checked = check_secret("answer", form.answer.expose())
        .and_then(|()| check_secret("password", form.password.expose()));
    if let Err(e) = checked {
        return start_again(&app, &browser, &e, "", "ciam");
    }
    match app.engine.captcha(&login, form.answer, form.password).await {
        Ok(step) => step_page(&app, &browser, step),
        Err(e) => match e.captcha_png() {
            Some(png) => {
                let captcha = Some(png_data_uri(png));
                render(
                    &app,
                    &browser,
                    e.status(),
                    View {
                        view: "captcha",
                        error: Some(&e),
                        captcha,
                        ..View::default()
                    },
                    None,
                )
            }
            None => start_again(&app, &browser, &e, "", "ciam"),
        },
    }
}
