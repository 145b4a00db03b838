//! Answers to the runner's questions mid-flow: an OTP, a captcha answer. From flags when given;
//! otherwise prompted on the terminal (`/dev/tty`), or a usage error naming the flag when there
//! is no terminal (a script must never hang waiting for input nobody will type).

use std::io::{BufRead as _, BufReader, IsTerminal as _, Write as _};

use login_core::runner::{Answer, Question};
use login_core::secret::{CaptchaAnswer, Otp};
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::redact;

/// Where answers come from.
pub struct Interact {
    otp: Option<Otp>,
    captcha_answer: Option<CaptchaAnswer>,
    tty: Option<std::fs::File>,
    oracle: Option<Oracle>,
}

/// Answers questions without a person (the demo reads the sandbox's outbox).
pub type Oracle = Box<dyn FnMut(&Question<'_>) -> Option<String>>;

impl Interact {
    /// Answers from flags, with the terminal as fallback when stderr is one and `/dev/tty`
    /// opens.
    pub fn new(otp: Option<String>, captcha_answer: Option<String>) -> Self {
        let otp = otp.map(|o| {
            redact::register(&o);
            Otp::new(o)
        });
        let captcha_answer = captcha_answer.map(CaptchaAnswer::new);
        let tty = if std::io::stderr().is_terminal() {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .ok()
        } else {
            None
        };
        Self {
            otp,
            captcha_answer,
            tty,
            oracle: None,
        }
    }

    /// No answers at all (refresh and revoke ask nothing).
    pub fn none() -> Self {
        Self {
            otp: None,
            captcha_answer: None,
            tty: None,
            oracle: None,
        }
    }

    /// Answers from values only, never a prompt.
    #[cfg(test)]
    pub fn scripted(otp: Option<String>, captcha_answer: Option<String>) -> Self {
        Self {
            otp: otp.map(Otp::new),
            captcha_answer: captcha_answer.map(CaptchaAnswer::new),
            ..Self::none()
        }
    }

    /// Answers from `oracle`, never a prompt (the demo).
    pub fn oracle(oracle: Oracle) -> Self {
        Self {
            oracle: Some(oracle),
            ..Self::none()
        }
    }

    /// Whether `question` has an answer without asking anyone: a flag's value, or the
    /// oracle.
    pub fn has_answer_for(&self, question: &Question<'_>) -> bool {
        self.oracle.is_some()
            || match question {
                Question::Otp { .. } => self.otp.is_some(),
                Question::Captcha { .. } => self.captcha_answer.is_some(),
                Question::Credentials | Question::NewPassword => false,
            }
    }

    /// Whether another answer can be asked for after a refusal (only on a terminal).
    pub fn can_ask_again(&self) -> bool {
        self.tty.is_some()
    }

    /// The answer to `question`: the flag's value the first time, else the oracle's, else a
    /// prompt on the terminal (which first says that the last answer was refused, when the
    /// question says so).
    pub fn answer(&mut self, question: &Question<'_>) -> Result<Answer, CliError> {
        match *question {
            Question::Otp {
                channel,
                ref_id,
                refused,
                ..
            } => self
                .otp(question, channel, ref_id, refused)
                .map(Answer::Otp),
            Question::Captcha { image_png, refused } => self
                .captcha(question, image_png, refused)
                .map(Answer::Captcha),
            // The commands give the credentials and the new password up front.
            Question::Credentials | Question::NewPassword => {
                Err(CliError::usage("no answer was given"))
            }
        }
    }

    fn ask_oracle(&mut self, question: &Question<'_>) -> Option<String> {
        self.oracle.as_mut().and_then(|o| o(question))
    }

    /// The OTP: the `--otp` value the first time, then a prompt on the terminal.
    fn otp(
        &mut self,
        question: &Question<'_>,
        channel: Option<&str>,
        ref_id: Option<&str>,
        refused: bool,
    ) -> Result<Otp, CliError> {
        if let Some(otp) = self.otp.take() {
            return Ok(otp);
        }
        if let Some(answer) = self.ask_oracle(question) {
            redact::register(&answer);
            return Ok(Otp::new(answer));
        }
        let sent = match (channel, ref_id) {
            (Some(c), Some(r)) => format!("a one-time password was sent by {c} (reference {r})"),
            (Some(c), None) => format!("a one-time password was sent by {c}"),
            (None, Some(r)) => format!("a one-time password was sent (reference {r})"),
            (None, None) => "a one-time password was sent".to_owned(),
        };
        let Some(tty) = self.tty.as_mut() else {
            return Err(CliError::usage(format!(
                "{sent}; no terminal to prompt on: pass it with --otp CODE"
            )));
        };
        let again = if refused {
            "the one-time password was refused; type it again.\n"
        } else {
            ""
        };
        let answer = prompt(tty, &format!("{again}{sent}.\nOTP: "))?;
        redact::register(&answer);
        Ok(Otp::new(answer.as_str()))
    }

    /// The captcha answer: `--captcha-answer` the first time, then on a terminal the image is
    /// saved to a file whose path is printed, and the answer prompted.
    fn captcha(
        &mut self,
        question: &Question<'_>,
        png: &[u8],
        refused: bool,
    ) -> Result<CaptchaAnswer, CliError> {
        if let Some(answer) = self.captcha_answer.take() {
            return Ok(answer);
        }
        if let Some(answer) = self.ask_oracle(question) {
            return Ok(CaptchaAnswer::new(answer));
        }
        let Some(tty) = self.tty.as_mut() else {
            return Err(CliError::usage(
                "the server asks for a captcha; no terminal to show it on: pass the answer with \
                 --captcha-answer A",
            ));
        };
        let (mut file, path) = tempfile::Builder::new()
            .prefix("loginflow-captcha-")
            .suffix(".png")
            .tempfile()
            .and_then(|f| f.keep().map_err(|e| e.error))
            .map_err(|e| CliError::config(format!("cannot save the captcha image: {e}")))?;
        file.write_all(png)
            .map_err(|e| CliError::config(format!("cannot save the captcha image: {e}")))?;
        let again = if refused {
            "the captcha answer was refused; here is a new captcha.\n"
        } else {
            ""
        };
        let answer = prompt(
            tty,
            &format!(
                "{again}captcha image saved to {}\nopen it and type the text: ",
                path.display()
            ),
        )?;
        Ok(CaptchaAnswer::new(answer.as_str()))
    }
}

fn prompt(tty: &mut std::fs::File, text: &str) -> Result<Zeroizing<String>, CliError> {
    let fail =
        |e: std::io::Error| CliError::usage(format!("reading from the terminal failed: {e}"));
    tty.write_all(text.as_bytes()).map_err(fail)?;
    tty.flush().map_err(fail)?;
    let mut line = Zeroizing::new(String::new());
    let reader = tty.try_clone().map_err(fail)?;
    BufReader::new(reader).read_line(&mut line).map_err(fail)?;
    let trimmed = Zeroizing::new(line.trim().to_owned());
    if trimmed.is_empty() {
        return Err(CliError::usage("no answer was typed"));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use login_core::table::Api;

    fn otp_question(refused: bool) -> Question<'static> {
        Question::Otp {
            api: Api::Ciam,
            channel: Some("sms"),
            ref_id: Some("R-42"),
            refused,
        }
    }

    const CAPTCHA: Question<'static> = Question::Captcha {
        image_png: b"png",
        refused: false,
    };

    #[test]
    fn without_terminal_a_missing_otp_names_the_flag() {
        let mut i = Interact::scripted(None, None);
        let e = i.answer(&otp_question(false)).unwrap_err();
        assert_eq!(e.exit(), 2);
        assert!(e.message().contains("--otp"), "{}", e.message());
        assert!(e.message().contains("R-42"));
        let e = i.answer(&CAPTCHA).unwrap_err();
        assert!(e.message().contains("--captcha-answer"));
    }

    #[test]
    fn given_answers_are_used_once() {
        let mut i = Interact::scripted(Some("123456".into()), Some("ABCD".into()));
        let Ok(Answer::Otp(otp)) = i.answer(&otp_question(false)) else {
            panic!("the OTP flag answers")
        };
        assert_eq!(otp.expose(), "123456");
        assert!(i.answer(&otp_question(true)).is_err());
        let Ok(Answer::Captcha(answer)) = i.answer(&CAPTCHA) else {
            panic!("the captcha flag answers")
        };
        assert_eq!(answer.expose(), "ABCD");
        assert!(i.answer(&CAPTCHA).is_err());
    }
}
