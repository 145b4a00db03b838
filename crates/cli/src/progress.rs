//! What a person at a terminal sees while a command runs: a spinner naming the call in flight
//! (so a slow bank is never silent), then one line per call and per state reached, all on
//! stderr. Silent when stderr is not a terminal and with `--output json`, so scripts and pipes
//! see only the command's result. No colour is used (so `NO_COLOR` has nothing to turn off).

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::OutputFormat;
use crate::engine::Event;
use crate::redact::redact;

/// Shows [`Event`]s on stderr when it is a terminal.
pub struct Reporter {
    enabled: bool,
    spinner: Option<ProgressBar>,
}

impl Reporter {
    /// A reporter for a command printing in `format`: on only for text on a terminal.
    pub fn new(format: OutputFormat) -> Self {
        Self::with(format == OutputFormat::Text && std::io::stderr().is_terminal())
    }

    fn with(enabled: bool) -> Self {
        Self {
            enabled,
            spinner: None,
        }
    }

    /// Says that another process holds the file's lock and this one waits for it.
    pub fn waiting_for_lock(&mut self, what: &str) {
        self.line(&format!(
            "waiting for another loginflow process using {what} ..."
        ));
    }

    /// Shows one event.
    pub fn event(&mut self, event: Event) {
        if !self.enabled {
            return;
        }
        match event {
            Event::Sending { step, method, url } => {
                let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                    .with_style(
                        ProgressStyle::default_spinner()
                            .template("{spinner} {msg} ({elapsed})")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    )
                    .with_message(redact(&format!("{} {method} {url}", step.as_str())));
                spinner.enable_steady_tick(Duration::from_millis(100));
                self.spinner = Some(spinner);
            }
            Event::Finished {
                step,
                outcome,
                elapsed,
            } => {
                self.clear();
                let result = match outcome {
                    Ok(status) => format!("HTTP {status}"),
                    Err(kind) => format!("failed: {kind}"),
                };
                self.line(&format!(
                    "  {} {result} ({} ms)",
                    step.as_str(),
                    elapsed.as_millis()
                ));
            }
            Event::Reached(state) => self.line(&format!("  -> {}", state.as_str())),
            // The prompt (or the outcome) says where the OTP went; a note would repeat it.
            Event::Note(_) => {}
        }
    }

    fn clear(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn line(&mut self, text: &str) {
        if !self.enabled {
            return;
        }
        self.clear();
        let _ = writeln!(std::io::stderr(), "{}", redact(text));
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.clear();
    }
}
