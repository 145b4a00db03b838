//! `loginflow diagram --format mermaid|dot`: the state diagrams, generated from login-core's
//! transition table. The Mermaid form is exactly `docs/state-diagram.md`.

use login_core::table;

use crate::args::{DiagramArgs, DiagramFormat};
use crate::output::Outcome;

/// Runs `diagram`.
pub fn run(args: &DiagramArgs) -> Outcome {
    let (name, text) = match args.format {
        DiagramFormat::Mermaid => ("mermaid", table::state_diagram_markdown()),
        DiagramFormat::Dot => ("dot", table::dot()),
    };
    Outcome::stateless()
        .field("format", name)
        .field("diagram", text.as_str())
        .line(text.trim_end())
}
