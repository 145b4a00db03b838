//! Each step's response handling, for both APIs: reach the step with valid answers, then feed
//! it an arbitrary status, headers and body. A state or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|input: (u8, u8, u16, Vec<u8>)| {
    let (flow_pick, depth, status, body) = input;
    let mut world = common::World::new(u64::from(depth));
    let ok = |b: u8| common::Op {
        choice: 1,
        reply: common::Reply::Success(b),
        suspend: false,
        advance_secs: 0,
    };
    let mut flow: login_core::Flow = match flow_pick % 3 {
        0 => login_core::Flow::from(login_core::forgot::Start::new("alice")),
        1 => login_core::Flow::from(login_core::realm::Start::new(
            "alice",
            login_core::secret::Password::new("FUZZSECRET-pw"),
        )),
        _ => login_core::Flow::from(login_core::ciam::Start::new(&mut world.rng).expect("entropy")),
    };
    for i in 0..(depth % 6) {
        flow = common::step(&mut world, flow, &ok(flow_pick.wrapping_add(i)));
    }
    let raw = common::Op {
        choice: flow_pick,
        reply: common::Reply::Raw { status, body },
        suspend: false,
        advance_secs: 0,
    };
    let _ = common::step(&mut world, flow, &raw);
});
