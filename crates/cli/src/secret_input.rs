//! Reading secrets: from stdin (one line), the environment, or files; never from flag values.
//! Every value goes straight into a login-core secret type and is registered for redaction.

use std::io::{BufRead, IsTerminal as _, Read as _};
use std::path::Path;

use login_core::secret::{ClientSecret, DeviceToken, Password};
use zeroize::Zeroizing;

use crate::args::CLIENT_SECRET_ENV;
use crate::error::CliError;
use crate::redact;

/// The longest secret line or file read, in bytes; more is refused rather than buffered.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Reads one line from `input`; the line ending (`\n` or `\r\n`) is not part of the value.
/// `what` names the value in errors ("password").
pub fn read_line(input: &mut dyn BufRead, what: &str) -> Result<Zeroizing<String>, CliError> {
    let mut line = Zeroizing::new(String::new());
    input
        .take(MAX_SECRET_BYTES)
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("reading the {what} from stdin failed: {e}")))?;
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    } else if line.len() as u64 >= MAX_SECRET_BYTES {
        return Err(CliError::usage(format!("the {what} on stdin is too long")));
    }
    if line.is_empty() {
        return Err(CliError::usage(format!(
            "stdin gave an empty {what}; pipe it in, e.g. `printf '%s\\n' \"$PW\" | loginflow ...`"
        )));
    }
    redact::register(&line);
    Ok(line)
}

/// The password from stdin: one line from a pipe, or typed at the terminal with echo off when
/// stdin is one (so it never shows on screen or in scrollback).
pub fn password_from_stdin(what: &str) -> Result<Password, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let typed = Zeroizing::new(
            rpassword::prompt_password(format!("{what}: "))
                .map_err(|e| CliError::usage(format!("reading the {what} failed: {e}")))?,
        );
        if typed.is_empty() {
            return Err(CliError::usage(format!("an empty {what} was typed")));
        }
        redact::register(&typed);
        return Ok(Password::new(typed.as_str()));
    }
    let mut lock = stdin.lock();
    let line = read_line(&mut lock, what)?;
    Ok(Password::new(line.as_str()))
}

/// The password: from stdin with `--password-stdin` (`flag` names it in errors), else typed at
/// the terminal with echo off, as `docker login` does. Without the flag and without a terminal
/// on stdin there is nobody to ask: a usage error naming the flag.
pub fn password(what: &str, from_stdin: bool, flag: &str) -> Result<Password, CliError> {
    if from_stdin {
        return password_from_stdin(what);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "no terminal to type the {what} at: pipe it in with {flag}, e.g. \
             `printf '%s\\n' \"$PW\" | loginflow ... {flag}`"
        )));
    }
    password_from_stdin(what)
}

/// A new password typed twice at the terminal (echo off), or one line of stdin with
/// `from_stdin`.
pub fn new_password(from_stdin: bool) -> Result<Password, CliError> {
    let flag = "--new-password-stdin";
    if from_stdin || !std::io::stdin().is_terminal() {
        return password("new password", from_stdin, flag);
    }
    let first = password("new password", false, flag)?;
    let again = password("new password again", false, flag)?;
    if first.expose() != again.expose() {
        return Err(CliError::usage(
            "the two new passwords differ; nothing was sent",
        ));
    }
    Ok(first)
}

/// An OTP as one line of stdin (`resume --otp-stdin`).
pub fn otp_from_stdin() -> Result<Zeroizing<String>, CliError> {
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    read_line(&mut lock, "one-time password")
}

/// Reads a whole secret file; one trailing line ending is dropped.
pub fn read_secret_file(path: &Path, what: &str) -> Result<Zeroizing<String>, CliError> {
    let file = std::fs::File::open(path).map_err(|e| {
        CliError::config(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            CliError::config(format!(
                "cannot read the {what} file {}: {e}",
                path.display()
            ))
        })?;
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        return Err(CliError::config(format!(
            "the {what} file {} is too large",
            path.display()
        )));
    }
    let mut text = Zeroizing::new(
        String::from_utf8(std::mem::take(&mut *bytes))
            .map_err(|_| CliError::config(format!("the {what} file is not UTF-8")))?,
    );
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.trim().is_empty() {
        return Err(CliError::config(format!(
            "the {what} file {} is empty",
            path.display()
        )));
    }
    redact::register(&text);
    Ok(text)
}

/// The realm client secret: `--client-secret-file`, else `LOGINFLOW_CLIENT_SECRET`.
pub fn client_secret(file: Option<&Path>) -> Result<ClientSecret, CliError> {
    if let Some(path) = file {
        return Ok(ClientSecret::new(
            read_secret_file(path, "client secret")?.as_str(),
        ));
    }
    match std::env::var(CLIENT_SECRET_ENV) {
        Ok(value) if !value.is_empty() => {
            let value = Zeroizing::new(value);
            redact::register(&value);
            Ok(ClientSecret::new(value.as_str()))
        }
        _ => Err(CliError::config(format!(
            "the realm API needs a client secret: set {CLIENT_SECRET_ENV} or pass \
             --client-secret-file F"
        ))),
    }
}

/// The device identity token from `--device-token-file`.
pub fn device_token(file: Option<&Path>) -> Result<DeviceToken, CliError> {
    let path = file.ok_or_else(|| {
        CliError::config("the ciam API needs the device identity token: pass --device-token-file F")
    })?;
    Ok(DeviceToken::new(
        read_secret_file(path, "device token")?.trim(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ending_is_not_part_of_the_value() {
        for input in ["pw-one\n", "pw-one\r\n", "pw-one", "pw-one\nsecond line\n"] {
            let mut r = std::io::Cursor::new(input.as_bytes());
            assert_eq!(read_line(&mut r, "password").unwrap().as_str(), "pw-one");
        }
        // Inner spaces and a trailing space are kept: they may be part of a password.
        let mut r = std::io::Cursor::new(&b" a b \n"[..]);
        assert_eq!(read_line(&mut r, "password").unwrap().as_str(), " a b ");
    }

    #[test]
    fn empty_input_is_a_usage_error() {
        for input in ["", "\n", "\r\n"] {
            let mut r = std::io::Cursor::new(input.as_bytes());
            let e = read_line(&mut r, "password").unwrap_err();
            assert_eq!(e.exit(), 2);
        }
    }

    #[test]
    fn secret_file_drops_one_line_ending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "s3cret-value\n").unwrap();
        assert_eq!(
            read_secret_file(&path, "client secret").unwrap().as_str(),
            "s3cret-value"
        );
        std::fs::write(&path, "").unwrap();
        assert_eq!(
            read_secret_file(&path, "client secret").unwrap_err().exit(),
            2
        );
        let missing = read_secret_file(&dir.path().join("nope"), "x").unwrap_err();
        assert_eq!(missing.kind(), "config");
    }
}
