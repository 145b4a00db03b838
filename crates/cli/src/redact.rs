//! A last line of defence: every secret this process handles is registered here, and every
//! message printed (errors, progress) is scrubbed of them. The engine already keeps secrets
//! out of its errors; this also covers a server that echoes a password in its `message`.

use std::sync::Mutex;

use zeroize::Zeroizing;

static SECRETS: Mutex<Vec<Zeroizing<String>>> = Mutex::new(Vec::new());

/// Secrets shorter than this are not scrubbed: replacing every `1` in a message would garble it
/// and hide nothing worth hiding.
const MIN_LEN: usize = 4;

/// Registers a secret value to scrub from everything printed.
pub fn register(secret: &str) {
    if secret.len() < MIN_LEN {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s.as_str() == secret) {
        secrets.push(Zeroizing::new(secret.to_owned()));
    }
}

/// `text` with every registered secret replaced by `<redacted>`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_owned();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "<redacted>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed() {
        register("CANARY-redact-1");
        register("ab");
        assert_eq!(
            redact("server said CANARY-redact-1 twice: CANARY-redact-1, ab"),
            "server said <redacted> twice: <redacted>, ab"
        );
    }
}
