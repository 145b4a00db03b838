//! A live session of either API: what a login yields, what a keeper holds, what refresh and
//! revoke take. The API is chosen once, by the variant.

use std::time::{Duration, SystemTime};

use crate::flow::{ciam_state, realm_state};
use crate::table::Api;
use crate::{Flow, TokenSet, ciam, realm};

/// A logged-in session of either API.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use login_core::{Flow, Response, Session, realm, secret::{ClientSecret, Password}};
/// let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
/// let now = SystemTime::now();
/// let (_r, p) = realm::Start::new("bob", Password::new("pw")).request_login(&cfg);
/// let Ok(realm::LoginStarted::Challenged(c)) = p.receive(
///     &Response::new(201, br#"{"reqId":"r","exp":300,"mfa":"none"}"#.to_vec()), now) else { panic!() };
/// let (_r, p) = c.exchange(&cfg);
/// let body = br#"{"accessToken":"A","refreshToken":"R","expires":300}"#;
/// let session = Flow::from(p.receive(&Response::new(201, body.to_vec()), now).unwrap())
///     .into_session()
///     .unwrap();
/// assert_eq!(session.tokens().access_token().expose(), "A");
/// assert!(!session.needs_refresh(now, Duration::from_secs(60)));
/// ```
#[derive(Clone, Debug)]
pub enum Session {
    /// A realm session.
    Realm(realm::Tokened),
    /// An internet-banking session.
    Ciam(ciam::Tokened),
}

impl Session {
    /// The API.
    pub fn api(&self) -> Api {
        match self {
            Session::Realm(_) => Api::Realm,
            Session::Ciam(_) => Api::Ciam,
        }
    }

    /// The tokens.
    pub fn tokens(&self) -> &TokenSet {
        match self {
            Session::Realm(t) => t.tokens(),
            Session::Ciam(t) => t.tokens(),
        }
    }

    /// Whether the access token expires within `margin` of `now`.
    pub fn needs_refresh(&self, now: SystemTime, margin: Duration) -> bool {
        self.tokens().needs_refresh(now, margin)
    }
}

impl From<realm::Tokened> for Session {
    fn from(t: realm::Tokened) -> Self {
        Session::Realm(t)
    }
}

impl From<ciam::Tokened> for Session {
    fn from(t: ciam::Tokened) -> Self {
        Session::Ciam(t)
    }
}

impl From<Session> for Flow {
    fn from(s: Session) -> Self {
        match s {
            Session::Realm(t) => Flow::from(t),
            Session::Ciam(t) => Flow::from(t),
        }
    }
}

impl Flow {
    /// The session, when the flow is logged in (`Tokened`); otherwise the flow back.
    ///
    /// # Errors
    /// The flow is in another state.
    pub fn into_session(self) -> Result<Session, Flow> {
        match self {
            Flow::Realm(realm_state::State::Tokened(t)) => Ok(Session::Realm(t)),
            Flow::Ciam(ciam_state::State::Tokened(t)) => Ok(Session::Ciam(t)),
            other => Err(other),
        }
    }
}
