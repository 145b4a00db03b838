//! The CLI's session-file reader on untrusted bytes. The CLI is a binary-only crate, so its
//! `session` module is compiled here from its source (`crates/cli/src/session.rs`) with a
//! stand-in for the one CLI type it uses: this fuzzes the CLI's real `decode`, not a copy.
//!
//! Inputs are either raw bytes or a valid session file (realm or internet-banking, tokened or
//! revoked) with an arbitrary splice, so most runs get past the JSON envelope into the snapshot.
//! Checked: a session or a typed error, never a panic; a session that decodes encodes to a file
//! that decodes to the same configuration and the same snapshot bytes.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use login_core::Flow;

#[path = "common.rs"]
mod common;

/// Stand-in for the CLI's `output` module: `session.rs` only builds config errors.
mod output {
    #[derive(Debug)]
    pub struct CliError(String);

    impl CliError {
        pub fn config(message: impl Into<String>) -> Self {
            Self(message.into())
        }
    }

    impl std::fmt::Display for CliError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
}

#[allow(dead_code)]
#[path = "../../crates/cli/src/session.rs"]
mod session;

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    Raw(&'a [u8]),
    /// One of the valid files, with `bytes` written over it from `at`, or inserted there.
    Spliced {
        base: u8,
        at: u16,
        insert: bool,
        cut: u16,
        bytes: &'a [u8],
    },
}

fn config(api: &str) -> session::SessionConfig {
    session::SessionConfig {
        api: api.into(),
        base_url: "http://127.0.0.1:9".into(),
        allow_http: false,
        timeout_secs: Some(2.5),
        realm: (api == "cap").then(|| "cap".into()),
        client_id: "cap-mobile".into(),
        redirect_uri: (api == "ciam").then(|| "https://app.example/cb".into()),
        routes: (api == "ciam").then(|| "gateway".into()),
        scope: vec!["openid".into()],
        lat: Some("13.7".into()),
        lon: None,
        event_id: None,
    }
}

/// Valid session files: each API's flow driven with valid answers to `Tokened`, then `Revoked`.
fn bases() -> &'static [Vec<u8>] {
    static BASES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BASES.get_or_init(|| {
        let mut out = Vec::new();
        for (api, pick) in [("cap", 1u8), ("ciam", 2u8)] {
            let mut world = common::World::new(7);
            let mut flow: Flow = if pick == 1 {
                login_core::realm::Start::new("alice", login_core::secret::Password::new("pw"))
                    .into()
            } else {
                login_core::ciam::Start::new(&mut world.rng)
                    .expect("entropy")
                    .into()
            };
            for i in 0..6u8 {
                let tokened = matches!(
                    flow,
                    Flow::Realm(login_core::realm::State::Tokened(_))
                        | Flow::Ciam(login_core::ciam::State::Tokened(_))
                );
                if tokened {
                    out.push(session::encode(&config(api), &flow).to_vec());
                }
                let choice = if tokened { 0 } else { 1 };
                let op = common::Op {
                    choice,
                    reply: common::Reply::Success(i * 2),
                    suspend: false,
                    advance_secs: 0,
                };
                flow = common::step(&mut world, flow, &op);
            }
            out.push(session::encode(&config(api), &flow).to_vec());
        }
        out
    })
}

fuzz_target!(|input: Input<'_>| {
    let bytes: Vec<u8> = match input {
        Input::Raw(b) => b.to_vec(),
        Input::Spliced {
            base,
            at,
            insert,
            cut,
            bytes,
        } => {
            let bases = bases();
            let mut file = bases[usize::from(base) % bases.len()].clone();
            let at = usize::from(at) % (file.len() + 1);
            if insert {
                let end = (at + usize::from(cut % 64)).min(file.len());
                file.splice(at..end, bytes.iter().copied());
            } else {
                let end = (at + bytes.len()).min(file.len());
                file.splice(at..end, bytes[..end - at].iter().copied());
            }
            file
        }
    };
    match session::decode(&bytes) {
        Ok((cfg, flow)) => {
            let again = session::encode(&cfg, &flow);
            let (cfg2, flow2) = session::decode(&again).expect("a file the CLI writes reads back");
            assert_eq!(cfg2, cfg);
            assert_eq!(flow2.to_snapshot().expose(), flow.to_snapshot().expose());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
