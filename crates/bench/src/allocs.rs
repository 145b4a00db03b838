//! Heap allocations (and, under callgrind, instructions) per core flow with canned responses,
//! against the serde floor: the same flows and floor as `login-core/benches/engine.rs`.
//! Each function is `#[inline(never)]` so `valgrind --tool=callgrind bench allocs` attributes
//! instructions to it.
#![allow(clippy::panic, clippy::expect_used)]

use std::hint::black_box;
use std::time::SystemTime;

use login_core::entropy::DeterministicEntropy;
use login_core::secret::{ClientSecret, DeviceToken};
use login_core::{ciam, realm};
use stats_alloc::Region;

#[path = "../../login-core/benches/flows/mod.rs"]
mod flows;
use flows::*;

const ITERATIONS: usize = 10_000;

fn measure(name: &str, mut f: impl FnMut() -> usize) -> (f64, f64) {
    // Warm up lazies outside the region.
    black_box(f());
    let region = Region::new(crate::GLOBAL);
    for _ in 0..ITERATIONS {
        black_box(f());
    }
    let stats = region.change();
    let allocs = stats.allocations as f64 / ITERATIONS as f64;
    let bytes = stats.bytes_allocated as f64 / ITERATIONS as f64;
    println!(
        "{name}: {allocs:.1} allocations, {bytes:.0} bytes allocated per flow ({:.1} reallocations)",
        stats.reallocations as f64 / ITERATIONS as f64
    );
    (allocs, bytes)
}

const BLOCKS: usize = 300;
const BLOCK: usize = 200;

/// Nanoseconds per call over one block.
fn block(mut f: impl FnMut() -> usize) -> f64 {
    let t = std::time::Instant::now();
    for _ in 0..BLOCK {
        black_box(f());
    }
    t.elapsed().as_nanos() as f64 / BLOCK as f64
}

/// Prints allocations per flow, engine and floor.
pub(crate) fn report() -> Result<(), String> {
    let now = SystemTime::now();
    let realm_cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("bench-secret"));
    let ciam_cfg = ciam::CiamConfig::new(
        "ib-web",
        "https://app.example/cb",
        DeviceToken::new("device"),
    );
    let mut rng = DeterministicEntropy::new(1);
    let replies = Replies::new();
    let (fr, _) = measure("floor_realm", floor_realm);
    let (er, _) = measure("realm_flow", || realm_flow(&realm_cfg, &replies, now));
    let (fc, _) = measure("floor_ciam", floor_ciam);
    let mut floor_rng = DeterministicEntropy::new(2);
    let (fp, _) = measure("floor_ciam_pkce", || floor_ciam_pkce(&mut floor_rng));
    let (ec, _) = measure("ciam_flow_unsealed", || {
        ciam_flow(&ciam_cfg, &NoSeal, &mut rng, &replies, now)
    });
    println!(
        "allocations engine/floor: realm {:.2}x, ciam {:.2}x (vs floor with PKCE {:.2}x)",
        er / fr,
        ec / fc,
        ec / fp
    );
    // Wall time, robust to a loaded machine: blocks of each flow interleaved, and the fastest
    // block of each kept (preemption only ever adds time).
    let mut best = [f64::INFINITY; 5];
    let mut floor_rng = DeterministicEntropy::new(3);
    for _ in 0..BLOCKS {
        best[0] = best[0].min(block(floor_realm));
        best[1] = best[1].min(block(|| realm_flow(&realm_cfg, &replies, now)));
        best[2] = best[2].min(block(floor_ciam));
        best[3] = best[3].min(block(|| floor_ciam_pkce(&mut floor_rng)));
        best[4] = best[4].min(block(|| {
            ciam_flow(&ciam_cfg, &NoSeal, &mut rng, &replies, now)
        }));
    }
    let us = best.map(|ns| ns / 1e3);
    println!(
        "wall (fastest of {BLOCKS} interleaved blocks of {BLOCK}): floor_realm {:.3} µs, realm_flow {:.3} µs ({:.2}x); floor_ciam {:.3} µs, floor_ciam_pkce {:.3} µs, ciam_flow_unsealed {:.3} µs ({:.2}x, {:.2}x vs floor with PKCE); load {:.2}",
        us[0],
        us[1],
        us[1] / us[0],
        us[2],
        us[3],
        us[4],
        us[4] / us[2],
        us[4] / us[3],
        loginflow_bench::procstat::load_average()
    );
    Ok(())
}
