//! `loginflow diagram`: the state diagrams, generated from login-core's transition table.
//!
//! - `--format markdown` (the default): the whole page, exactly `docs/state-diagram.md` (a
//!   title, prose and one fenced Mermaid diagram per flow);
//! - `--format mermaid`: exactly one valid `stateDiagram-v2` and nothing else, so
//!   `loginflow diagram --format mermaid > flow.mmd` renders. Without `--api` it holds every
//!   flow, each a composite state (state ids are prefixed by the flow, because Mermaid's ids
//!   are global and every flow has a `Start`); `--api cap` draws the realm API's two flows
//!   (login, forgot password), `--api ciam` the internet-banking flow alone;
//! - `--format dot`: Graphviz, every flow a cluster.
//!
//! `--api` on the command line with `markdown` or `dot` is a usage error (both show every
//! flow); an `--api` from the environment or a profile file only applies to `mermaid`.

use login_core::table::{self, Api};

use crate::args::{DiagramArgs, DiagramFormat};
use crate::error::CliError;
use crate::output::Outcome;
use crate::settings::Settings;

/// The flows of the diagram, with their composite ids and titles.
const FLOWS: [(Api, &str, &str); 3] = [
    (Api::Realm, "realm", "Realm API, login"),
    (
        Api::ForgotPassword,
        "forgot_password",
        "Realm API, forgot password",
    ),
    (Api::Ciam, "ciam", "Internet-banking API"),
];

/// Runs `diagram`.
pub fn run(s: &Settings, args: &DiagramArgs) -> Result<Outcome, CliError> {
    if args.format != DiagramFormat::Mermaid && s.explicit_api().is_some() {
        return Err(CliError::usage(
            "--api picks the flows of one Mermaid diagram: pass --format mermaid (markdown and \
             dot show every flow)",
        ));
    }
    let (name, text) = match args.format {
        DiagramFormat::Markdown => ("markdown", table::state_diagram_markdown()),
        DiagramFormat::Mermaid => ("mermaid", mermaid(s.api)),
        DiagramFormat::Dot => ("dot", table::dot()),
    };
    Ok(Outcome::stateless()
        .field("format", name)
        .field("diagram", text.as_str())
        .line(text.trim_end()))
}

/// One `stateDiagram-v2`: the internet-banking flow alone, or composites for the realm API's
/// flows or for all of them.
pub fn mermaid(api: Option<Api>) -> String {
    if api == Some(Api::Ciam) {
        return table::mermaid(Api::Ciam);
    }
    let mut out = String::from("stateDiagram-v2\n");
    for (flow, id, title) in FLOWS {
        let wanted = match api {
            None => true,
            Some(Api::Realm | Api::ForgotPassword) => flow != Api::Ciam,
            Some(Api::Ciam) => flow == Api::Ciam,
        };
        if wanted {
            out.push_str(&composite(flow, id, title));
        }
    }
    out
}

/// The flow's diagram as a composite state `id`, its state ids prefixed with `id_` and
/// labelled with their plain names.
fn composite(api: Api, id: &str, title: &str) -> String {
    let body = table::mermaid(api);
    let mut names: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let prefixed = |state: &str, names: &mut Vec<String>| {
        if state == "[*]" {
            return state.to_owned();
        }
        if !names.iter().any(|n| n == state) {
            names.push(state.to_owned());
        }
        format!("{id}_{state}")
    };
    for line in body.lines().skip(1) {
        let line = line.trim();
        let Some((from, rest)) = line.split_once(" --> ") else {
            continue;
        };
        let (to, label) = match rest.split_once(": ") {
            Some((to, label)) => (to, Some(label)),
            None => (rest, None),
        };
        let from = prefixed(from, &mut names);
        let to = prefixed(to, &mut names);
        lines.push(match label {
            Some(label) => format!("        {from} --> {to}: {label}"),
            None => format!("        {from} --> {to}"),
        });
    }
    let mut out = format!("    state \"{title}\" as {id} {{\n");
    for name in &names {
        out.push_str(&format!("        state \"{name}\" as {id}_{name}\n"));
    }
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("    }\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exactly one diagram, no Markdown, every transition of the table inside it once.
    #[test]
    fn mermaid_is_one_diagram_with_every_transition() {
        let all = mermaid(None);
        assert_eq!(all.matches("stateDiagram-v2").count(), 1);
        assert!(all.starts_with("stateDiagram-v2\n"));
        assert!(!all.contains("```") && !all.contains('#'));
        let arrows = all.lines().filter(|l| l.contains(" --> ")).count();
        let expected: usize = FLOWS
            .iter()
            .map(|(api, ..)| {
                table::mermaid(*api)
                    .lines()
                    .filter(|l| l.contains(" --> "))
                    .count()
            })
            .sum();
        assert_eq!(arrows, expected);
        assert!(all.contains("realm_MfaPending --> realm_Tokened: token [with otp]"));
        assert!(all.contains("state \"PasswordReset\" as forgot_password_PasswordReset"));
        // Braces balance: every composite is closed.
        assert_eq!(all.matches('{').count(), all.matches('}').count());
    }

    #[test]
    fn api_picks_the_flows() {
        let cap = mermaid(Some(Api::Realm));
        assert!(cap.contains("as realm {") && cap.contains("as forgot_password {"));
        assert!(!cap.contains("ciam"));
        assert_eq!(mermaid(Some(Api::Ciam)), table::mermaid(Api::Ciam));
    }
}
