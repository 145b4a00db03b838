//! The CLI's session-file reader on untrusted bytes: `loginflow::session`, the module the CLI
//! itself reads and writes session files with (this fuzzes its real `decode`, not a copy).
//!
//! Inputs are either raw bytes or a valid session file (realm or internet-banking, tokened or
//! revoked; in the current format 2 or the legacy format 1) with an arbitrary splice, so most
//! runs get past the JSON envelope into the profile and the snapshot. Checked: a session or a
//! typed error, never a panic; a session that decodes encodes to a file that decodes to the
//! same endpoint, the same profile and the same snapshot bytes.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use login_core::{Flow, Profile};
use loginflow::session::{self, Endpoint, SavedSession};

#[path = "common.rs"]
mod common;

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

fn endpoint() -> Endpoint {
    Endpoint {
        base_url: "http://127.0.0.1:9".into(),
        allow_http: false,
        timeout_secs: Some(2.5),
    }
}

/// The version 1 `config` object an earlier CLI wrote for `api`.
fn legacy_config(api: &str) -> &'static str {
    if api == "cap" {
        r#"{"api":"cap","baseUrl":"http://127.0.0.1:9","allowHttp":false,"timeoutSecs":2.5,"realm":"cap","clientId":"cap-mobile","scope":["openid"],"lat":"13.7"}"#
    } else {
        r#"{"api":"ciam","baseUrl":"http://127.0.0.1:9","allowHttp":false,"clientId":"ib","redirectUri":"https://app.example/cb","routes":"service","scope":["openid","profile"],"lat":"13.7","lon":"100.5","eventId":"ev-1"}"#
    }
}

/// `flow` as a session file in both formats.
fn files(api: &str, profile: &Profile, flow: &Flow) -> [Vec<u8>; 2] {
    let saved = SavedSession {
        endpoint: endpoint(),
        profile: profile.clone(),
        flow: flow.clone(),
    };
    let current = session::encode(&saved).expect("encodes").to_vec();
    let mut legacy = format!(
        r#"{{"format":"loginflow-session","version":1,"config":{},"flow":"#,
        legacy_config(api)
    )
    .into_bytes();
    legacy.extend_from_slice(flow.to_snapshot().expose());
    legacy.push(b'}');
    [current, legacy]
}

/// Valid session files: each API's flow driven with valid answers to `Tokened`, then `Revoked`.
fn bases() -> &'static [Vec<u8>] {
    static BASES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BASES.get_or_init(|| {
        let mut out = Vec::new();
        for (api, pick) in [("cap", 1u8), ("ciam", 2u8)] {
            let mut world = common::World::new(7);
            let profile = if pick == 1 {
                Profile::from(world.realm.profile().clone())
            } else {
                Profile::from(world.ciam.profile().clone())
            };
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
                    out.extend(files(api, &profile, &flow));
                }
                // `choice` picks among `flow.actions()`: at Tokened [refresh, revoke], so 1 ends
                // in a revoked session; elsewhere there is one action and any choice takes it.
                let op = common::Op {
                    choice: 1,
                    reply: common::Reply::Success(i * 2),
                    suspend: false,
                    advance_secs: 0,
                };
                flow = common::step(&mut world, flow, &op);
            }
            out.extend(files(api, &profile, &flow));
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
        Ok(saved) => {
            let again = session::encode(&saved).expect("a decoded session encodes");
            let back = session::decode(&again).expect("a file the CLI writes reads back");
            assert_eq!(back.endpoint, saved.endpoint);
            assert_eq!(back.profile, saved.profile);
            assert_eq!(
                back.flow.to_snapshot().expose(),
                saved.flow.to_snapshot().expose()
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
