//! `docs/state-diagram.md` is generated from the transition table; this test fails when the
//! committed file differs from what the generator makes now. Regenerate with
//! `LOGINFLOW_BLESS=1 cargo test -p login-core --test diagram`.

use login_core::table::{self, Api, TRANSITIONS};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/state-diagram.md");

#[test]
fn state_diagram_doc_matches_the_table() {
    let generated = table::state_diagram_markdown();
    if std::env::var_os("LOGINFLOW_BLESS").is_some() {
        std::fs::write(PATH, &generated).expect("write docs/state-diagram.md");
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/state-diagram.md is stale: run `LOGINFLOW_BLESS=1 cargo test -p login-core --test diagram`"
    );
}

#[test]
fn every_table_row_appears_in_both_renderings() {
    let dot = table::dot();
    for tr in TRANSITIONS {
        let mermaid = table::mermaid(tr.api);
        let edge = format!(
            "{} --> {}: {}",
            tr.from.as_str(),
            tr.to.as_str(),
            tr.step.as_str()
        );
        assert!(mermaid.contains(&edge), "missing in mermaid: {edge}");
        let dot_edge = format!(
            "\"{p}.{}\" -> \"{p}.{}\" [label=\"{}",
            tr.from.as_str(),
            tr.to.as_str(),
            tr.step.as_str(),
            p = tr.api.as_str()
        );
        assert!(dot.contains(&dot_edge), "missing in dot: {dot_edge}");
    }
    for api in [Api::Realm, Api::ForgotPassword, Api::Ciam] {
        assert!(table::mermaid(api).starts_with("stateDiagram-v2\n    [*] --> Start\n"));
    }
}

#[test]
fn terminal_states_have_no_outgoing_rows() {
    for tr in TRANSITIONS {
        assert!(!tr.from.is_terminal(), "{tr:?} leaves a terminal state");
    }
}

#[test]
fn readme_shows_the_current_diagrams() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .unwrap_or_default();
    for api in [Api::Realm, Api::ForgotPassword, Api::Ciam] {
        let block = format!("```mermaid\n{}```", table::mermaid(api));
        assert!(
            readme.contains(&block),
            "README.md's {api:?} diagram is stale: copy it from docs/state-diagram.md"
        );
    }
}
