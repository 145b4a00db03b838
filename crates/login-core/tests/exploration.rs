//! Explores the engine through its one face: from every state of every API, every action the
//! table lists there (`Flow::actions`) with every class of response (each success branch, each
//! error status and code of the contract, 3xx, 418, 1xx, garbage, HTML, empty and truncated
//! bodies, a `state` echo that differs, transport failures). The transitions observed, as
//! (api, from, step, input, outcome, to), must be exactly the table's
//! (`login_core::table::TRANSITIONS`), in both directions.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use login_core::action::Begun;
use login_core::table::{Api, Input, Outcome, StateId, StepId, TRANSITIONS};
use login_core::{Error, ErrorKind, Failed, Flow, Response, SuccessStatus};

/// A row as comparable data: (api, from, step, input, outcome, to), the outcome written
/// `ok <branch>`, `local` or `refused <error kind>` (one row per kind).
type Row = (Api, StateId, StepId, Input, String, StateId);
/// A move without its outcome: (api, from, step, input, to).
type Edge = (Api, StateId, StepId, Input, StateId);
/// What a step was tried as: (api, from, step, input).
type Tried = (Api, StateId, StepId, Input);

fn table_rows() -> BTreeSet<Row> {
    let mut rows = BTreeSet::new();
    for t in TRANSITIONS {
        let mut row = |outcome: String| {
            rows.insert((t.api, t.from, t.step, t.input, outcome, t.to));
        };
        match t.outcome {
            Outcome::Success(branch) => row(format!("ok {branch}")),
            Outcome::Local => row("local".to_owned()),
            Outcome::Rejected(kinds) => {
                for k in kinds {
                    row(format!("refused {}", k.as_str()));
                }
            }
        }
    }
    rows
}

fn is_refusal(row: &Row) -> bool {
    row.4.starts_with("refused ")
}

#[derive(Default)]
struct Observed {
    /// Successes of the labelled success replies and local moves, with their branch.
    rows: BTreeSet<Row>,
    /// Every success, whatever reply made it.
    edges: BTreeSet<Edge>,
    /// Every tried step → kinds after which a state survived.
    kept: BTreeMap<Tried, BTreeSet<&'static str>>,
    /// Every tried step → kinds after which nothing survived.
    ended: BTreeMap<Tried, BTreeSet<&'static str>>,
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

/// The refusals that are about what the user gave the step, so that a retry from the state
/// given back can differ: a wrong OTP where an OTP went in, wrong credentials or a captcha
/// demand where credentials went in, and a wrong captcha only where an answer went in. Every
/// other non-final failure also gives a state back (checked by `check_failure`), but the
/// table draws only these.
fn refusable(input: Input) -> &'static [&'static str] {
    match input {
        Input::Otp => &["invalid_otp"],
        Input::Credentials => &["invalid_credentials", "captcha_required"],
        Input::CaptchaAnswer => &["invalid_credentials", "invalid_captcha", "captcha_required"],
        Input::Nothing | Input::NewPassword => &[],
    }
}

impl Observed {
    fn record(
        &mut self,
        (api, from, step, input): Tried,
        result: Result<Flow, Failed<Flow>>,
        designed: &BTreeSet<&'static str>,
    ) {
        self.runs += 1;
        match result {
            Ok(next) => {
                assert_eq!(next.api(), api, "{step:?} changed the API");
                self.edges.insert((api, from, step, input, next.state_id()));
            }
            Err(Failed { error, state }) => {
                let tried = (api, from, step, input);
                check_failure(tried, &error, state.as_ref());
                let kind = error.kind().as_str();
                match state {
                    Some(s) => {
                        self.kept.entry(tried).or_default().insert(kind);
                        if designed.contains(kind) && refusable(input).contains(&kind) {
                            let outcome = format!("refused {kind}");
                            self.rows
                                .insert((api, from, step, input, outcome, s.state_id()));
                        }
                    }
                    None => {
                        self.ended.entry(tried).or_default().insert(kind);
                    }
                }
            }
        }
    }
}

/// A failure never moves the flow along: it gives back the state the table says (the same
/// one, or `Authorized` where a shown captcha was used up) unless the error ends the flow, and
/// then nothing comes back.
fn check_failure((api, from, step, input): Tried, error: &Error, state: Option<&Flow>) {
    if error.ends_flow() {
        assert!(
            state.is_none(),
            "{api:?} {from:?} {step:?}: {error:?} ends the flow but a state survived"
        );
    }
    if error.is_transient() {
        assert!(
            state.is_some(),
            "{api:?} {from:?} {step:?}: transient {error:?} lost the state"
        );
    }
    if let Some(s) = state {
        assert_eq!(
            (s.api(), s.state_id()),
            (api, expected_after_failure(api, from, step, input)),
            "{step:?} with {input:?}: {error:?} moved the flow"
        );
        assert!(!error.ends_flow());
    }
}

/// [`state_after_failure`], and one known exception the table does not draw: a failed fetch of
/// another captcha from `CaptchaShown` gives `Authorized` back (the engine drops the shown
/// captcha), where the table's rule says the state comes back as it was. Kept explicit here so
/// the discrepancy stays visible until the table or the engine settles it.
fn expected_after_failure(api: Api, from: StateId, step: StepId, input: Input) -> StateId {
    if (api, from, step) == (Api::Ciam, StateId::CaptchaShown, StepId::CiamCaptcha) {
        return StateId::Authorized;
    }
    state_after_failure(api, from, step, input)
}

fn explore() -> Observed {
    let designed = designed_kinds();
    let mut obs = Observed::default();
    let mut fx = Fixture::new(Settings::everything(), 21);
    let states = all_states(&mut fx);
    let inputs = Inputs::default();
    let mut n = 100;
    for (name, flow) in &states {
        let (api, from) = state_key(flow);
        for (step, input) in flow.actions() {
            let tried = (api, from, step, input);
            let action = || action_for(step, input, &inputs);
            n += 1;
            // Realm revoke is local: nothing to reply to.
            if let Ok(Begun::Local(next)) = fx.begin(flow.clone(), action()) {
                let row = (api, from, step, input, "local".to_owned(), next.state_id());
                obs.rows.insert(row);
                obs.edges.insert((api, from, step, input, next.state_id()));
                continue;
            }
            let send = |fx: &mut Fixture| match fx.begin(flow.clone(), action()) {
                Ok(Begun::Send(req, pending)) => {
                    assert_eq!(req.step(), step, "{name}");
                    assert_eq!(pending.step(), step, "{name}");
                    pending
                }
                other => panic!("{name}: {step:?} sends a request, got {other:?}"),
            };
            for (branch, reply) in success_replies(from, step, n) {
                let result = send(&mut fx).receive(&reply, fx.now);
                if let Ok(next) = &result {
                    let outcome = format!("ok {branch}");
                    obs.rows
                        .insert((api, from, step, input, outcome, next.state_id()));
                }
                obs.record(tried, result, &designed);
            }
            let mut replies = error_replies();
            replies.extend(mismatch_replies(step));
            for reply in replies {
                let result = send(&mut fx).receive(&reply, fx.now);
                obs.record(tried, result, &designed);
            }
            for failure in transport_failures() {
                let result = Err(send(&mut fx).fail(failure));
                obs.record(tried, result, &designed);
            }
        }
    }
    obs
}

fn diff<T: Ord + std::fmt::Debug>(table: &BTreeSet<T>, observed: &BTreeSet<T>) -> String {
    let missing: Vec<_> = table.difference(observed).collect();
    let extra: Vec<_> = observed.difference(table).collect();
    if missing.is_empty() && extra.is_empty() {
        String::new()
    } else {
        format!("table rows never observed: {missing:#?}\nobserved, not in the table: {extra:#?}")
    }
}

#[test]
fn observed_successes_are_exactly_the_table() {
    let obs = explore();
    let table: BTreeSet<Row> = table_rows()
        .into_iter()
        .filter(|r| !is_refusal(r))
        .collect();
    let seen: BTreeSet<Row> = obs
        .rows
        .iter()
        .filter(|r| !is_refusal(r))
        .cloned()
        .collect();
    let problems = diff(&table, &seen);
    assert!(problems.is_empty(), "{problems}");
    // Whatever reply led to it, no success moves outside the table.
    let table_edges: BTreeSet<Edge> = table
        .iter()
        .map(|(api, from, step, input, _, to)| (*api, *from, *step, *input, *to))
        .collect();
    let problems = diff(&table_edges, &obs.edges);
    assert!(problems.is_empty(), "{problems}");
    assert!(obs.runs > 1000, "explored {} responses", obs.runs);
}

#[test]
fn observed_designed_refusals_are_exactly_the_table() {
    let obs = explore();
    let table: BTreeSet<Row> = table_rows().into_iter().filter(is_refusal).collect();
    let seen: BTreeSet<Row> = obs.rows.into_iter().filter(is_refusal).collect();
    let problems = diff(&table, &seen);
    assert!(problems.is_empty(), "{problems}");
}

#[test]
fn every_table_state_is_explored_and_only_terminal_states_offer_nothing() {
    let mut fx = Fixture::new(Settings::default(), 1);
    let states = all_states(&mut fx);
    let explored: BTreeSet<(Api, StateId)> = states.iter().map(|(_, f)| state_key(f)).collect();
    let in_table: BTreeSet<(Api, StateId)> = TRANSITIONS
        .iter()
        .flat_map(|t| [(t.api, t.from), (t.api, t.to)])
        .collect();
    assert_eq!(explored, in_table);
    for (name, flow) in &states {
        let offered: Vec<(StepId, Input)> = flow.actions().collect();
        assert_eq!(offered.is_empty(), flow.state_id().is_terminal(), "{name}");
        let unique: BTreeSet<_> = offered.iter().collect();
        assert_eq!(unique.len(), offered.len(), "{name}: each action once");
    }
}

#[test]
fn transient_failures_keep_the_state_and_final_ones_end_the_flow_everywhere() {
    let obs = explore();
    // Every (state, action) saw transient failures survive and final ones end it.
    for (tried, kept) in &obs.kept {
        for transient in [
            "rate_limited",
            "server_error",
            "timeout",
            "reset",
            "connect",
        ] {
            assert!(
                kept.contains(transient),
                "{tried:?}: {transient} did not keep the state ({kept:?})"
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
        let kinds = obs
            .ended
            .iter()
            .find(|((_, _, s, _), _)| *s == step)
            .map(|(_, kinds)| kinds.clone())
            .unwrap_or_default();
        assert!(kinds.contains("state_mismatch"), "{step:?}: {kinds:?}");
    }
}

/// With the stricter policy, only the documented code is success; another 2xx is an unexpected
/// status that keeps the state (the call may be repeated or inspected), never a transition.
#[test]
fn documented_success_status_refuses_other_2xx_and_keeps_the_state() {
    let mut fx = Fixture::new(Settings::default(), 3);
    fx.realm = fx.realm.clone().success_status(SuccessStatus::Documented);
    fx.ciam = fx.ciam.clone().success_status(SuccessStatus::Documented);
    for (api, step, documented, other) in [
        (Api::Realm, StepId::RealmRequestLogin, 201u16, 200u16),
        (Api::ForgotPassword, StepId::ResetRequest, 201, 200),
        (Api::Ciam, StepId::CiamAuthorize, 200, 201),
    ] {
        let start = fx.start(api);
        let (_, body) = success_replies(start.state_id(), step, 1).swap_remove(0);
        for (status, ok) in [(documented, true), (other, false), (204, false)] {
            let reply = Response::new(status, body.body().to_vec());
            let action = action_for(step, Input::Nothing, &Inputs::default());
            let Ok(Begun::Send(_, p)) = fx.begin(start.clone(), action) else {
                panic!("{step:?} sends")
            };
            match p.receive(&reply, fx.now) {
                Ok(next) => assert!(ok, "{api:?} {status} gave {:?}", next.state_id()),
                Err(f) => {
                    assert!(!ok, "{api:?} {status}: {f:?}");
                    assert_eq!(f.error.kind(), ErrorKind::UnexpectedStatus);
                    assert_eq!(f.state.map(|s| s.state_id()), Some(start.state_id()));
                }
            }
        }
    }
}

/// Pathological bodies (deep nesting, huge strings, long numbers) give typed errors and keep
/// the state, on success and error statuses alike.
#[test]
fn pathological_bodies_give_typed_errors() {
    let mut fx = Fixture::new(Settings::default(), 3);
    let states = all_states(&mut fx);
    let inputs = Inputs::default();
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
        for (step, input) in flow.actions() {
            for status in [200u16, 201, 400, 401, 500] {
                for body in bodies {
                    let action = action_for(step, input, &inputs);
                    let Ok(Begun::Send(_, p)) = fx.begin(flow.clone(), action) else {
                        continue;
                    };
                    match p.receive(&Response::new(status, body.to_vec()), fx.now) {
                        Ok(next) => assert!(
                            // Revoke and reset password read `{success}` leniently.
                            matches!(step, StepId::CiamRevoke | StepId::ResetPassword)
                                // A long number is still a number: the body may be usable.
                                || body == long_number.as_bytes(),
                            "{name} {step:?} {status}: accepted into {:?}",
                            next.state_id()
                        ),
                        Err(Failed { error, state }) => {
                            assert_eq!(
                                error.ends_flow(),
                                state.is_none(),
                                "{name} {step:?}: {error:?}"
                            );
                            if let Some(se) = error.server_error() {
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
