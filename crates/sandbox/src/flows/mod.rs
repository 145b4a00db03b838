//! The server's decisions for each API, free of HTTP: typed bodies in, typed bodies or an
//! [`crate::ApiError`] out. The axum handlers in [`crate::routes`] only parse and call these.

pub mod ciam;
pub mod realm;
