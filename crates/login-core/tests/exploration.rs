//! Explores the engine: from every state of every API, every transition method with every class
//! of response (each success branch, each error status and code of the contract, 3xx, 418, 1xx,
//! garbage, HTML, empty and truncated bodies, a `state` echo that differs, transport failures).
//! The transitions observed must be exactly the table's (`login_core::table::TRANSITIONS`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use login_core::table::{Api, Outcome, StateId, StepId, TRANSITIONS};
use login_core::{Error, Flow, Response};
use serde_json::json;

type Edge = (Api, StateId, StepId, StateId);
type Refusal = (Api, StateId, StepId, &'static str, StateId);

/// Replies that echo a `state` other than the one sent (authorize and access token read it).
fn mismatch_replies(act: Act) -> Vec<Response> {
    match act {
        Act::Authorize => vec![json(
            200,
            json!({"loginChallenge": "CANARY-LC-m", "authToken": "CANARY-AUTHTOK-m", "state": "not-the-state"}),
        )],
        Act::CiamExchange => {
            let mut t = token_set(99);
            t["state"] = json!("not-the-state");
            vec![json(200, t)]
        }
        _ => vec![],
    }
}

#[derive(Default)]
struct Observed {
    success: BTreeSet<Edge>,
    refusals: BTreeSet<Refusal>,
    /// Every (api, from, step) → kinds after which the state survived.
    kept: BTreeMap<(Api, StateId, StepId), BTreeSet<&'static str>>,
    /// Every (api, from, step) → kinds after which nothing survived.
    ended: BTreeMap<(Api, StateId, StepId), BTreeSet<&'static str>>,
    runs: usize,
}

/// The kinds the table draws as designed refusals, anywhere.
fn designed_kinds() -> BTreeSet<&'static str> {
    TRANSITIONS
        .iter()
        .filter_map(|t| match t.outcome {
            Outcome::Rejected(kinds) => Some(kinds.iter().map(|k| k.as_str())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The refusals that are about an input the method takes as an argument, so that a retry from
/// the state given back can differ: a wrong OTP where the method takes an OTP, wrong
/// credentials or captcha where it takes credentials. Every other non-final failure also gives
/// the state back (checked by `check_failure`), but the table draws only these as loops.
fn refusable_inputs(act: Act) -> &'static [&'static str] {
    match act {
        Act::RealmOtp | Act::ResetVerify | Act::CiamVerify => &["invalid_otp"],
        Act::Submit => &["invalid_credentials", "invalid_captcha", "captcha_required"],
        _ => &[],
    }
}

impl Observed {
    fn record(&mut self, from: &Flow, act: Act, done: Done, designed: &BTreeSet<&'static str>) {
        self.runs += 1;
        let (api, id, step) = (from.api(), from.state_id(), act.step());
        match done.result {
            Ok(next) => {
                assert_eq!(next.api(), api, "{act:?} changed the API");
                self.success.insert((api, id, step, next.state_id()));
            }
            Err((error, state)) => {
                check_failure(api, id, act, &error, state.as_ref());
                let kind = error.kind().as_str();
                match state {
                    Some(s) => {
                        self.kept.entry((api, id, step)).or_default().insert(kind);
                        if designed.contains(kind) && refusable_inputs(act).contains(&kind) {
                            self.refusals.insert((api, id, step, kind, s.state_id()));
                        }
                    }
                    None => {
                        self.ended.entry((api, id, step)).or_default().insert(kind);
                    }
                }
            }
        }
    }
}

/// A failure never moves the flow: the state comes back unchanged (same id, same API) unless
/// the error ends the flow, and then nothing comes back.
fn check_failure(api: Api, id: StateId, act: Act, error: &Error, state: Option<&Flow>) {
    if error.ends_flow() {
        assert!(
            state.is_none(),
            "{api:?} {id:?} {act:?}: {error:?} ends the flow but a state survived"
        );
    }
    if error.is_transient() {
        assert!(
            state.is_some(),
            "{api:?} {id:?} {act:?}: transient {error:?} lost the state"
        );
    }
    if let Some(s) = state {
        assert_eq!(
            (s.api(), s.state_id()),
            (api, id),
            "{act:?}: {error:?} moved the flow"
        );
        assert!(!error.ends_flow());
    }
}

fn explore() -> Observed {
    let designed = designed_kinds();
    let mut obs = Observed::default();
    let mut env = Env::new(Profile::everything(), 21);
    let states = all_states(&mut env);
    let mut n = 100;
    for (name, flow) in &states {
        for act in legal(flow) {
            let mut replies: Vec<Response> = success_replies(act, n)
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            replies.extend(error_replies());
            replies.extend(mismatch_replies(act));
            n += 1;
            let run = |env: &mut Env, inputs: &Inputs| begin(flow.clone(), act, env, inputs);
            if act == Act::RealmRevoke {
                match run(&mut env, &Inputs::default()) {
                    Begun::Local(next) => {
                        obs.success.insert((
                            flow.api(),
                            flow.state_id(),
                            act.step(),
                            next.state_id(),
                        ));
                    }
                    _ => panic!("realm revoke is local"),
                }
                continue;
            }
            for reply in replies {
                match run(&mut env, &Inputs::default()) {
                    Begun::Sent(req, pending) => {
                        assert_eq!(req.step(), act.step(), "{name}");
                        assert_eq!(pending.step, act.step(), "{name}");
                        let done = pending.receive(reply, env.now);
                        obs.record(flow, act, done, &designed);
                    }
                    _ => panic!("{name}: {act:?} sends a request"),
                }
            }
            for failure in transport_failures() {
                if let Begun::Sent(_, pending) = run(&mut env, &Inputs::default()) {
                    obs.record(flow, act, pending.fail(failure), &designed);
                }
            }
            // The login challenge with a captcha held but no answer: refused before sending.
            if act == Act::Submit {
                let inputs = Inputs {
                    captcha_answer: false,
                    ..Inputs::default()
                };
                match run(&mut env, &inputs) {
                    Begun::Refused(done) => obs.record(flow, act, done, &designed),
                    Begun::Sent(..) => {}
                    Begun::Local(_) => panic!("submit is not local"),
                }
            }
        }
    }
    obs
}

fn table_edges() -> BTreeSet<Edge> {
    TRANSITIONS
        .iter()
        .filter(|t| matches!(t.outcome, Outcome::Success(_) | Outcome::Local))
        .map(|t| (t.api, t.from, t.step, t.to))
        .collect()
}

fn table_refusals() -> BTreeSet<Refusal> {
    TRANSITIONS
        .iter()
        .filter_map(|t| match t.outcome {
            Outcome::Rejected(kinds) => Some(
                kinds
                    .iter()
                    .map(move |k| (t.api, t.from, t.step, k.as_str(), t.to)),
            ),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn observed_successes_are_exactly_the_table() {
    let obs = explore();
    let table = table_edges();
    let missing: Vec<_> = table.difference(&obs.success).collect();
    let extra: Vec<_> = obs.success.difference(&table).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "table rows never observed: {missing:?}\nobserved transitions not in the table: {extra:?}"
    );
    assert!(obs.runs > 1000, "explored {} responses", obs.runs);
}

#[test]
fn observed_designed_refusals_are_exactly_the_table() {
    let obs = explore();
    let table = table_refusals();
    let missing: Vec<_> = table.difference(&obs.refusals).collect();
    let extra: Vec<_> = obs.refusals.difference(&table).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "table refusals never observed: {missing:?}\nobserved refusals not in the table: {extra:?}"
    );
}

#[test]
fn every_table_state_is_explored_and_methods_match_the_table() {
    let mut env = Env::new(Profile::default(), 1);
    let states = all_states(&mut env);
    let explored: BTreeSet<(Api, StateId)> = states.iter().map(|(_, f)| state_key(f)).collect();
    let in_table: BTreeSet<(Api, StateId)> = TRANSITIONS
        .iter()
        .flat_map(|t| [(t.api, t.from), (t.api, t.to)])
        .collect();
    assert_eq!(explored, in_table);
    for (name, flow) in &states {
        let methods: BTreeSet<StepId> = legal(flow).into_iter().map(Act::step).collect();
        let rows: BTreeSet<StepId> = TRANSITIONS
            .iter()
            .filter(|t| t.api == flow.api() && t.from == flow.state_id())
            .map(|t| t.step)
            .collect();
        assert_eq!(methods, rows, "{name}");
        assert_eq!(methods.is_empty(), flow.state_id().is_terminal(), "{name}");
    }
}

#[test]
fn transient_failures_keep_the_state_and_final_ones_end_the_flow_everywhere() {
    let obs = explore();
    // Every non-terminal (state, step) saw transient failures survive and final ones end it.
    for ((api, from, step), kept) in &obs.kept {
        for transient in [
            "rate_limited",
            "server_error",
            "timeout",
            "reset",
            "connect",
        ] {
            assert!(
                kept.contains(transient),
                "{api:?} {from:?} {step:?}: {transient} did not keep the state ({kept:?})"
            );
        }
    }
    for key in obs.kept.keys() {
        let ended = obs.ended.get(key).cloned().unwrap_or_default();
        for final_kind in [
            "expired",
            "not_found",
            "invalid_token",
            "locked",
            "forbidden",
        ] {
            assert!(
                ended.contains(final_kind),
                "{key:?}: {final_kind} did not end the flow ({ended:?})"
            );
        }
    }
    // A differing `state` echo ends the flow where it is read.
    for step in [StepId::CiamAuthorize, StepId::CiamAccessToken] {
        let key = obs
            .ended
            .iter()
            .find(|((_, _, s), _)| *s == step)
            .map(|(_, kinds)| kinds.clone())
            .unwrap_or_default();
        assert!(key.contains("state_mismatch"), "{step:?}: {key:?}");
    }
}

/// With the stricter policy, only the documented code is success; another 2xx is an unexpected
/// status that keeps the state (the call may be repeated or inspected), never a transition.
#[test]
fn documented_success_status_refuses_other_2xx_and_keeps_the_state() {
    use login_core::SuccessStatus;
    let mut env = Env::new(Profile::default(), 3);
    env.realm = env.realm.clone().success_status(SuccessStatus::Documented);
    env.ciam = env.ciam.clone().success_status(SuccessStatus::Documented);
    for (api, act, documented, other) in [
        (Api::Realm, Act::RequestLogin, 201u16, 200u16),
        (Api::ForgotPassword, Act::ResetRequest, 201, 200),
        (Api::Ciam, Act::Authorize, 200, 201),
    ] {
        let start = env.start(api);
        let (_, body) = success_replies(act, 1).swap_remove(0);
        for (status, ok) in [(documented, true), (other, false), (204, false)] {
            let reply = Response::new(status, body.body().to_vec());
            let Begun::Sent(_, p) = begin(start.clone(), act, &mut env, &Inputs::default()) else {
                panic!("sends")
            };
            match p.receive(reply, env.now).result {
                Ok(next) => assert!(ok, "{api:?} {status} gave {:?}", next.state_id()),
                Err((e, s)) => {
                    assert!(!ok, "{api:?} {status}: {e:?}");
                    assert_eq!(e.kind(), login_core::ErrorKind::UnexpectedStatus);
                    assert_eq!(s.map(|s| s.state_id()), Some(start.state_id()));
                }
            }
        }
    }
}

/// Pathological bodies (deep nesting, huge strings, long numbers) give typed errors and keep
/// the state, on success and error statuses alike.
#[test]
fn pathological_bodies_give_typed_errors() {
    let mut env = Env::new(Profile::default(), 3);
    let states = all_states(&mut env);
    let deep = vec![b'['; 100_000];
    let mut deep_obj = b"{\"accessToken\":".to_vec();
    deep_obj.extend(std::iter::repeat_n(b'{', 50_000));
    let huge_string = format!(
        "{{\"error\":\"{}\",\"message\":\"{}\"}}",
        "e".repeat(100_000),
        "m".repeat(100_000)
    );
    let long_number = format!(
        "{{\"reqId\":\"r\",\"mfa\":\"none\",\"exp\":{}}}",
        "9".repeat(5_000)
    );
    let bodies: [&[u8]; 4] = [
        &deep,
        &deep_obj,
        huge_string.as_bytes(),
        long_number.as_bytes(),
    ];
    for (name, flow) in &states {
        for act in legal(flow) {
            for status in [200u16, 201, 400, 401, 500] {
                for body in bodies {
                    let Begun::Sent(_, p) = begin(flow.clone(), act, &mut env, &Inputs::default())
                    else {
                        continue;
                    };
                    let done = p.receive(Response::new(status, body.to_vec()), env.now);
                    match done.result {
                        Ok(next) => assert!(
                            // Revoke and reset password read `{success}` leniently.
                            matches!(act, Act::CiamRevoke | Act::ResetPassword)
                                // A long number is still a number: the body may be usable.
                                || body == long_number.as_bytes(),
                            "{name} {act:?} {status}: accepted into {:?}",
                            next.state_id()
                        ),
                        Err((e, s)) => {
                            assert_eq!(e.ends_flow(), s.is_none(), "{name} {act:?}: {e:?}");
                            if let Some(se) = e.server_error() {
                                assert!(se.code.as_ref().is_none_or(|c| c.chars().count() <= 256));
                                assert!(
                                    se.message.as_ref().is_none_or(|m| m.chars().count() <= 256)
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
