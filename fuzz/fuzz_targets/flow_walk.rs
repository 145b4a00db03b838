//! Whole flows driven by an arbitrary sequence of operations and server replies, with suspends
//! and resumes and clock advances: no panic, no secret in any Debug, every snapshot resumes.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|input: (u64, u8, Vec<common::Op>)| {
    let (seed, first, ops) = input;
    let mut world = common::World::new(seed);
    let mut flow: login_core::Flow = match first % 3 {
        0 => login_core::forgot::Start::new("alice").into(),
        1 => login_core::realm::Start::new(
            "alice",
            login_core::secret::Password::new("FUZZSECRET-pw"),
        )
        .into(),
        _ => login_core::ciam::Start::new(&mut world.rng)
            .expect("entropy")
            .into(),
    };
    for op in ops.iter().take(64) {
        flow = common::step(&mut world, flow, op);
    }
});
