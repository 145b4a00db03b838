//! The one face (`Flow::actions`, `Flow::begin`, `PendingFlow`) against the transition table:
//! every row can be begun from a state built for it, every other (state, action) pair is
//! refused with the flow given back unchanged, a profile without secrets refuses exactly the
//! steps that send one, and a bank of another API is refused.

mod common;

use std::collections::BTreeSet;

use common::*;
use login_core::action::{Action, Bank, Begun, Env, Profile};
use login_core::table::{Api, Input, Outcome, StateId, StepId, TRANSITIONS};
use login_core::{ErrorKind, Failed, Flow};

/// `flow` begun with `action` must be refused as misuse, with the flow given back as it was.
fn assert_refused(what: &str, flow: Flow, result: Result<Begun, Failed<Flow>>) {
    match result {
        Ok(begun) => panic!("{what}: not refused: {begun:?}"),
        Err(Failed { error, state }) => {
            assert_eq!(error.kind(), ErrorKind::Misuse, "{what}: {error:?}");
            let back = state.unwrap_or_else(|| panic!("{what}: the flow was not given back"));
            assert_eq!(snap(&back), snap(&flow), "{what}: the flow changed");
        }
    }
}

#[test]
fn every_table_row_can_be_begun_from_a_state_built_for_it() {
    let mut fx = Fixture::new(Settings::everything(), 41);
    let states = all_states(&mut fx);
    let inputs = Inputs::default();
    for row in TRANSITIONS {
        let (name, flow) = states
            .iter()
            .find(|(_, f)| state_key(f) == (row.api, row.from))
            .unwrap_or_else(|| panic!("no state built for {row:?}"));
        let key = (row.step, row.input);
        assert!(
            flow.actions().any(|a| a == key),
            "{name}: {key:?} not offered"
        );
        let action = action_for(row.step, row.input, &inputs);
        assert_eq!(action.key(row.api), Some(key), "{name}: {action:?}");
        match (fx.begin(flow.clone(), action), row.outcome) {
            (Ok(Begun::Local(next)), Outcome::Local) => {
                assert_eq!(state_key(&next), (row.api, row.to), "{name}: {key:?}");
            }
            (Ok(Begun::Send(req, pending)), Outcome::Success(_) | Outcome::Rejected(_)) => {
                assert_eq!(req.step(), row.step, "{name}");
                assert_eq!(pending.step(), row.step, "{name}");
                check_request(&req, &fx.settings).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            (other, outcome) => panic!("{name}: {key:?} ({outcome:?}) began as {other:?}"),
        }
    }
}

#[test]
fn every_action_the_table_does_not_list_is_refused_with_the_flow_unchanged() {
    let mut fx = Fixture::new(Settings::default(), 42);
    let inputs = Inputs::default();
    let (mut refused, mut begun) = (0, 0);
    for (name, flow) in all_states(&mut fx) {
        for action in every_action(&inputs) {
            let what = format!("{name} {action:?}");
            if listed(&flow, &action).is_some() {
                begun += 1;
                continue;
            }
            assert_refused(&what, flow.clone(), fx.begin(flow.clone(), action));
            refused += 1;
        }
    }
    // Every pair was tried: 16 states, 11 kinds of action, and the table's (state, step,
    // input) triples were the ones begun.
    let listed_pairs: BTreeSet<(Api, StateId, StepId, Input)> = TRANSITIONS
        .iter()
        .map(|t| (t.api, t.from, t.step, t.input))
        .collect();
    assert_eq!(begun, listed_pairs.len());
    assert_eq!(refused + begun, 16 * 11);
}

/// Each action carries what it sends, so the table's `(step, input)` and the action agree
/// both ways: the key of an action built for a pair is that pair.
#[test]
fn actions_and_their_keys_agree() {
    let inputs = Inputs::default();
    for t in TRANSITIONS {
        let action = action_for(t.step, t.input, &inputs);
        assert_eq!(action.key(t.api), Some((t.step, t.input)), "{t:?}");
    }
    // The same action is a different step in each API, or none.
    let otp = inputs.otp();
    assert_eq!(otp.key(Api::Realm), Some((StepId::RealmToken, Input::Otp)));
    assert_eq!(
        otp.key(Api::ForgotPassword),
        Some((StepId::ResetVerifyOtp, Input::Otp))
    );
    assert_eq!(
        otp.key(Api::Ciam),
        Some((StepId::CiamPreLoginVerify, Input::Otp))
    );
    assert_eq!(Action::Authorize.key(Api::Realm), None);
    assert_eq!(Action::RequestLogin.key(Api::Ciam), None);
}

/// The steps that send a configured secret: the realm client secret (request login) or the
/// device token (authorize, login challenge, pre-login verify).
const SENDS_A_SECRET: [(Api, StateId, StepId); 5] = [
    (Api::Realm, StateId::Start, StepId::RealmRequestLogin),
    (Api::Ciam, StateId::Start, StepId::CiamAuthorize),
    (Api::Ciam, StateId::Authorized, StepId::CiamLoginChallenge),
    (Api::Ciam, StateId::CaptchaShown, StepId::CiamLoginChallenge),
    (Api::Ciam, StateId::MfaPending, StepId::CiamPreLoginVerify),
];

/// With a profile alone (no secrets), exactly the steps that send a secret are refused; every
/// other step (refresh and revoke among them) goes out byte for byte as with the whole
/// configuration.
#[test]
fn a_profile_refuses_the_steps_that_send_a_secret_and_allows_the_others() {
    let mut fx = Fixture::new(Settings::everything(), 43);
    let inputs = Inputs::default();
    let realm = Profile::from(fx.realm.profile().clone());
    let ciam = Profile::from(fx.ciam.profile().clone());
    let mut refused = BTreeSet::new();
    let mut allowed = BTreeSet::new();
    for (name, flow) in all_states(&mut fx) {
        let profile = if flow.api() == Api::Ciam {
            &ciam
        } else {
            &realm
        };
        for (step, input) in flow.actions() {
            let action = action_for(step, input, &inputs);
            let what = format!("{name} {step:?}");
            let mut with_profile = fx.fork();
            let mut env = Env::new(
                Bank::Profile(profile),
                &mut with_profile.entropy,
                with_profile.now,
            );
            let result = flow.clone().begin(action.clone(), &mut env);
            let key = (flow.api(), flow.state_id(), step);
            if SENDS_A_SECRET.contains(&key) {
                assert_refused(&what, flow.clone(), result);
                refused.insert(key);
                continue;
            }
            let full = fx.fork().begin(flow.clone(), action);
            match (result, full) {
                (Ok(Begun::Send(a, _)), Ok(Begun::Send(b, _))) => {
                    assert_eq!(fingerprint(&a), fingerprint(&b), "{what}");
                }
                (Ok(Begun::Local(a)), Ok(Begun::Local(b))) => {
                    assert_eq!(snap(&a), snap(&b), "{what}");
                }
                (a, b) => panic!("{what}: with a profile {a:?}, with the configuration {b:?}"),
            }
            allowed.insert(step);
        }
    }
    assert_eq!(refused, BTreeSet::from(SENDS_A_SECRET));
    for step in [
        StepId::RealmRefresh,
        StepId::RealmRevoke,
        StepId::CiamRefresh,
        StepId::CiamRevoke,
    ] {
        assert!(
            allowed.contains(&step),
            "{step:?} is allowed with a profile"
        );
    }
}

/// A bank of another API is refused before anything else, whatever the action.
#[test]
fn a_bank_of_another_api_is_refused() {
    let mut fx = Fixture::new(Settings::default(), 44);
    let inputs = Inputs::default();
    let realm_profile = Profile::from(fx.realm.profile().clone());
    let ciam_profile = Profile::from(fx.ciam.profile().clone());
    let mut tried = 0;
    for (name, flow) in all_states(&mut fx) {
        let mut entropy = fx.entropy.clone();
        let wrong: Vec<Bank<'_>> = match flow.api() {
            Api::Ciam => vec![Bank::Realm(&fx.realm), Bank::Profile(&realm_profile)],
            Api::Realm | Api::ForgotPassword => vec![
                Bank::Ciam(&fx.ciam, &fx.sealer),
                Bank::Profile(&ciam_profile),
            ],
        };
        for bank in wrong {
            for action in every_action(&inputs) {
                let what = format!("{name} {action:?} with {bank:?}");
                let mut env = Env::new(bank, &mut entropy, fx.now);
                assert_refused(&what, flow.clone(), flow.clone().begin(action, &mut env));
                tried += 1;
            }
        }
    }
    assert_eq!(tried, 16 * 2 * 11);
}
