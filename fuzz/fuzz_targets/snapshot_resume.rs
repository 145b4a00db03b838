//! Resuming a flow from untrusted bytes: a flow or a typed error; a flow that resumes writes a
//! snapshot that resumes to the same state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use login_core::Flow;

fuzz_target!(|data: &[u8]| {
    if let Ok(flow) = Flow::from_snapshot(data) {
        let again = flow.to_snapshot();
        let back = Flow::from_snapshot(again.expose()).expect("a written snapshot resumes");
        assert_eq!(back.state_id(), flow.state_id());
        assert_eq!(back.to_snapshot().expose(), again.expose());
    }
});
