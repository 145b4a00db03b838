//! loginflow-bench: the measurements of docs/performance.md.
//!
//! - [`blocking`]: sequential blocking logins in a process of their own (item 3, per process).
//! - [`gateway`]: loginflow-gateway with Redis vs the in-memory store, and its token endpoint
//!   vs a bare handler doing one Redis `GET`.
//! - [`floor`]: hand-written clients sending the engine's requests (the floors of items 3, 4).
//! - [`load`]: N concurrent logins with the async driver or the floor (item 4).
//! - [`rps`]: requests/s of one endpoint and password logins/s (item 6).
//! - [`setup`]: sandbox configs, child servers pinned to a core, the bare axum floor server.
//! - [`procstat`]: memory, threads, descriptors and CPU time from `/proc`.
//!
//! The `bench` binary drives them; `cargo bench -p loginflow-bench` runs the criterion benches.

pub mod blocking;
pub mod floor;
pub mod gateway;
pub mod load;
pub mod procstat;
pub mod rps;
pub mod setup;
