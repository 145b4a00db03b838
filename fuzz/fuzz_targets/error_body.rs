//! Error classification of any status, headers and body: always a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use login_core::{Error, Response};

fuzz_target!(|input: (u16, String, String, &[u8])| {
    let (status, name, value, body) = input;
    let response = Response::new(status, body).with_header(name, value);
    let error = Error::from_response(&response);
    let _ = (
        error.kind().as_str(),
        error.status(),
        error.retry_after(),
        error.to_string(),
    );
    if let Some(d) = error.server_error() {
        assert!(
            d.code
                .as_ref()
                .is_none_or(|c| c.chars().count() <= login_core::error::MAX_SERVER_TEXT)
        );
        assert!(
            d.message
                .as_ref()
                .is_none_or(|m| m.chars().count() <= login_core::error::MAX_SERVER_TEXT)
        );
    }
});
