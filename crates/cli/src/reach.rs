//! How the CLI reaches a bank from a data centre: a client certificate for mutual TLS
//! (`--client-cert`, `--client-key`), private roots (`--ca-file`, added to the public roots, or
//! the only roots with `--ca-only`), and an HTTP proxy (`--proxy URL`, or the conventional
//! `HTTPS_PROXY`/`NO_PROXY` with `--proxy-from-env`). Each is a global flag with a
//! `LOGINFLOW_*` variable and a profile-file key, like the other global settings.
//!
//! These describe this machine's network, not the server, so they apply to saved sessions and
//! paused logins too, from wherever this run takes them (a session file stores none of them).
//!
//! Proxy credentials are accepted in the URL but belong in `LOGINFLOW_PROXY` (a flag shows in
//! the process list); a profile file may not hold them. They are never printed: clap's help
//! hides the variable's value, a bad URL is reported without them, and they are registered
//! for [`crate::redact`].

use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::BoolishValueParser;
use login_transport::{ClientIdentity, Proxy, TransportConfig};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::files::{ReadFailure, read_capped};

const REACH: &str = "Reaching the server: TLS and proxy (global)";

/// The largest certificate, key or CA file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The reach flags, flattened into the global flags.
#[derive(Debug, Clone, Args)]
pub struct ReachArgs {
    /// The client certificate chain (PEM, leaf first) for servers that demand one (mutual
    /// TLS); with --client-key.
    #[arg(long, global = true, env = "LOGINFLOW_CLIENT_CERT", value_name = "FILE",
          help_heading = REACH)]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM, unencrypted; keep the file mode 0600).
    #[arg(long, global = true, env = "LOGINFLOW_CLIENT_KEY", value_name = "FILE",
          help_heading = REACH)]
    pub client_key: Option<PathBuf>,
    /// Root certificates (PEM) to trust in addition to the public ones (a bank whose
    /// certificate a private CA signs).
    #[arg(long, global = true, env = "LOGINFLOW_CA_FILE", value_name = "FILE",
          help_heading = REACH)]
    pub ca_file: Option<PathBuf>,
    /// Trust only the --ca-file roots, not the public ones.
    #[arg(long, global = true, env = "LOGINFLOW_CA_ONLY", action = clap::ArgAction::SetTrue,
          value_parser = BoolishValueParser::new(), help_heading = REACH)]
    pub ca_only: bool,
    /// An HTTP proxy for every call (`http://[user:pass@]host:port`, a CONNECT tunnel).
    /// Give credentials through LOGINFLOW_PROXY rather than the command line.
    #[arg(long, global = true, env = "LOGINFLOW_PROXY", value_name = "URL",
          hide_env_values = true, value_parser = parse_proxy_arg, help_heading = REACH)]
    pub proxy: Option<ProxyArg>,
    /// Use the proxy named by `https_proxy`/`HTTPS_PROXY` (`http_proxy` for plain HTTP), except
    /// for hosts in `no_proxy`/`NO_PROXY` and loopback hosts; --proxy wins.
    #[arg(long, global = true, env = "LOGINFLOW_PROXY_FROM_ENV", action = clap::ArgAction::SetTrue,
          value_parser = BoolishValueParser::new(), help_heading = REACH)]
    pub proxy_from_env: bool,
}

/// A proxy URL as given: it may hold credentials, so it is never shown (`Debug` redacts it)
/// and is zeroed on drop. Checked by [`Reach::configure`], not by clap, whose error would
/// quote it.
#[derive(Clone)]
pub struct ProxyArg(Zeroizing<String>);

impl std::fmt::Debug for ProxyArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProxyArg(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for ProxyArg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ProxyArg(Zeroizing::new(String::deserialize(d)?)))
    }
}

fn parse_proxy_arg(s: &str) -> Result<ProxyArg, std::convert::Infallible> {
    Ok(ProxyArg(Zeroizing::new(s.to_owned())))
}

impl ProxyArg {
    /// Whether the URL carries user information (`user:pass@`).
    fn has_credentials(&self) -> bool {
        self.0.contains('@')
    }

    /// Registers the user and password, as written, with [`crate::redact`].
    fn register_secrets(&self) {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, r)| r);
        if let Some((userinfo, _)) = rest.rsplit_once('@') {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            crate::redact::register(user);
            crate::redact::register(password);
        }
    }
}

/// The reach settings of a run.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// `--client-cert`.
    pub client_cert: Option<PathBuf>,
    /// `--client-key`.
    pub client_key: Option<PathBuf>,
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `--ca-only`.
    pub ca_only: bool,
    /// `--proxy`.
    pub proxy: Option<ProxyArg>,
    /// `--proxy-from-env`.
    pub proxy_from_env: bool,
}

impl From<ReachArgs> for Reach {
    fn from(a: ReachArgs) -> Self {
        Self {
            client_cert: a.client_cert,
            client_key: a.client_key,
            ca_file: a.ca_file,
            ca_only: a.ca_only,
            proxy: a.proxy,
            proxy_from_env: a.proxy_from_env,
        }
    }
}

/// The reach keys of a profile file (`client-cert`, ...), flattened into its keys by the
/// settings module.
#[derive(Debug, Default)]
pub struct ReachFile {
    /// `client-cert`.
    pub client_cert: Option<PathBuf>,
    /// `client-key`.
    pub client_key: Option<PathBuf>,
    /// `ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `ca-only`.
    pub ca_only: Option<bool>,
    /// `proxy`.
    pub proxy: Option<ProxyArg>,
    /// `proxy-from-env`.
    pub proxy_from_env: Option<bool>,
}

impl ReachFile {
    /// Refuses proxy credentials in the profile file `file`.
    pub fn refuse_secrets(proxy: Option<&ProxyArg>, file: &Path) -> Result<(), CliError> {
        if proxy.is_some_and(ProxyArg::has_credentials) {
            return Err(CliError::config(format!(
                "the profile file {} has proxy credentials: secrets never go in a profile file \
                 (set LOGINFLOW_PROXY instead)",
                file.display()
            )));
        }
        Ok(())
    }
}

impl Reach {
    /// Lays the profile file's values under the settings that neither a flag nor the
    /// environment gave (`unset` holds their flags).
    pub fn fill_from(&mut self, f: ReachFile, unset: &dyn Fn(&str) -> bool) {
        if let (true, Some(v)) = (unset("--client-cert"), f.client_cert) {
            self.client_cert = Some(v);
        }
        if let (true, Some(v)) = (unset("--client-key"), f.client_key) {
            self.client_key = Some(v);
        }
        if let (true, Some(v)) = (unset("--ca-file"), f.ca_file) {
            self.ca_file = Some(v);
        }
        if let (true, Some(v)) = (unset("--ca-only"), f.ca_only) {
            self.ca_only = v;
        }
        if let (true, Some(v)) = (unset("--proxy"), f.proxy) {
            self.proxy = Some(v);
        }
        if let (true, Some(v)) = (unset("--proxy-from-env"), f.proxy_from_env) {
            self.proxy_from_env = v;
        }
    }

    /// `tc` with the client identity, roots and proxy of these settings.
    ///
    /// # Errors
    /// Usage errors for flags given alone that need a partner, configuration errors for
    /// unreadable or unusable files and a bad proxy URL (shown without its credentials).
    pub fn configure(&self, mut tc: TransportConfig) -> Result<TransportConfig, CliError> {
        match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                let chain = read_pem(cert, "--client-cert")?;
                let key_pem = read_pem(key, "--client-key")?;
                let identity = ClientIdentity::from_pem(&chain, &key_pem).map_err(|e| {
                    CliError::config(format!(
                        "--client-cert {} / --client-key {}: {e}",
                        cert.display(),
                        key.display()
                    ))
                })?;
                tc = tc.client_identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(CliError::usage(
                    "pass --client-cert and --client-key together",
                ));
            }
        }
        match (&self.ca_file, self.ca_only) {
            (Some(file), ca_only) => {
                let pem = read_pem(file, "--ca-file")?;
                let bad = |e: login_transport::ConfigError| {
                    CliError::config(format!("--ca-file {}: {e}", file.display()))
                };
                tc = if ca_only {
                    tc.replace_roots_with_pem(&pem).map_err(bad)?
                } else {
                    tc.add_roots_pem(&pem).map_err(bad)?
                };
            }
            (None, true) => {
                return Err(CliError::usage(
                    "--ca-only needs --ca-file FILE (the roots to trust instead of the public ones)",
                ));
            }
            (None, false) => {}
        }
        if let Some(proxy) = &self.proxy {
            proxy.register_secrets();
            let proxy =
                Proxy::new(&proxy.0).map_err(|e| CliError::usage(format!("--proxy: {e}")))?;
            tc = tc.proxy(proxy);
        }
        Ok(tc.proxy_from_env(self.proxy_from_env))
    }
}

/// A PEM file, at most 1 MiB, in a buffer zeroed on drop (it may be a key).
fn read_pem(path: &Path, flag: &str) -> Result<Zeroizing<Vec<u8>>, CliError> {
    read_capped(path, MAX_PEM_BYTES).map_err(|e| {
        CliError::config(match e {
            ReadFailure::Io(e) => format!("{flag}: cannot read {}: {e}", path.display()),
            ReadFailure::TooLarge => {
                format!("{flag}: {} is larger than 1 MiB", path.display())
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach() -> Reach {
        Reach::default()
    }

    fn tc() -> TransportConfig {
        TransportConfig::new("https://bank.example").expect("URL")
    }

    fn arg(url: &str) -> ProxyArg {
        ProxyArg(Zeroizing::new(url.to_owned()))
    }

    #[test]
    fn partners_are_required() {
        let only_cert = Reach {
            client_cert: Some("c.pem".into()),
            ..reach()
        };
        let e = only_cert.configure(tc()).expect_err("no key");
        assert!(e.message().contains("--client-key"), "{}", e.message());
        let only_flag = Reach {
            ca_only: true,
            ..reach()
        };
        let e = only_flag.configure(tc()).expect_err("no CA file");
        assert!(e.message().contains("--ca-file"), "{}", e.message());
    }

    #[test]
    fn a_bad_proxy_is_reported_without_its_credentials() {
        let bad = Reach {
            proxy: Some(arg("socks5://canary-user:canary-pass@proxy:1080")),
            ..reach()
        };
        let e = bad.configure(tc()).expect_err("socks");
        let shown = format!("{} {e:?} {bad:?}", e.message());
        assert!(!shown.contains("canary"), "{shown}");
        assert!(shown.contains("***@proxy:1080"), "{shown}");
    }

    #[test]
    fn the_proxy_and_the_environment_opt_in_reach_the_transport() {
        let set = Reach {
            proxy: Some(arg("http://u:pw@proxy.corp:3128")),
            proxy_from_env: true,
            ..reach()
        };
        let tc = set.configure(tc()).expect("valid");
        assert_eq!(
            tc.proxy_setting().map(ToString::to_string).as_deref(),
            Some("http://***@proxy.corp:3128")
        );
        assert!(format!("{tc:?}").contains("proxy_from_env: true"));
    }

    #[test]
    fn profile_files_may_not_hold_proxy_credentials() {
        let file = Path::new("/etc/p.toml");
        let e = ReachFile::refuse_secrets(Some(&arg("http://u:canary@proxy:1")), file)
            .expect_err("credentials");
        assert!(e.message().contains("LOGINFLOW_PROXY"), "{}", e.message());
        assert!(!e.message().contains("canary"), "{}", e.message());
        assert!(ReachFile::refuse_secrets(Some(&arg("http://proxy:1")), file).is_ok());
        assert!(ReachFile::refuse_secrets(None, file).is_ok());
    }
}
