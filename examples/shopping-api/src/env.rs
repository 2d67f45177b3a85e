//! Reading settings from environment variables, with the one-line errors of [`SetupError`].
//! Shared by the examples that take their settings from the environment (the MCP server too).

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::time::Duration;

use crate::SetupError;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as every example program does.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,scopegate=info".into()),
        )
        // Colours for people, not for log files and collectors.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// Environment variables through a lookup: `std::env::var` in the programs, a table in tests.
#[derive(Debug, Clone, Copy)]
pub struct Env<F>(pub F);

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        Env(|name| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The value of `name`, if set.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    /// Refuses the first of `names` that is set but empty (or blank): an empty `AUDIENCE=` would
    /// otherwise fall back to the default silently.
    pub fn refuse_empty(&self, names: &[&'static str]) -> Result<(), SetupError> {
        match names
            .iter()
            .find(|name| self.var(name).is_some_and(|v| v.trim().is_empty()))
        {
            Some(&name) => Err(SetupError::EmptyVariable { name }),
            None => Ok(()),
        }
    }

    /// An absolute URL, if set. A value without a scheme (`abc123.logto.app/oidc`, or
    /// `localhost:3001`, which parses with the scheme `localhost`) is refused with a hint.
    pub fn url(&self, name: &'static str) -> Result<Option<String>, SetupError> {
        let Some(value) = self.var(name) else {
            return Ok(None);
        };
        let expected = match url::Url::parse(&value) {
            Ok(url) if !url.cannot_be_a_base() => return Ok(Some(value)),
            Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase)
                if !value.contains(char::is_whitespace) =>
            {
                "a URL: it is missing a scheme, e.g. https://"
            }
            _ => "a URL",
        };
        Err(SetupError::InvalidVariable {
            name,
            value,
            expected,
        })
    }

    /// A socket address, `default` when unset.
    pub fn addr(&self, name: &'static str, default: &str) -> Result<SocketAddr, SetupError> {
        let value = self.var(name).unwrap_or_else(|| default.to_owned());
        value.parse().map_err(|_| SetupError::InvalidVariable {
            name,
            value,
            expected: "an address like 127.0.0.1:3000",
        })
    }

    /// `1`/`true` or `0`/`false`; unset is false.
    pub fn flag(&self, name: &'static str) -> Result<bool, SetupError> {
        match self.var(name).as_deref() {
            None | Some("0" | "false") => Ok(false),
            Some("1" | "true") => Ok(true),
            Some(other) => Err(SetupError::InvalidVariable {
                name,
                value: other.to_owned(),
                expected: "1, true, 0 or false",
            }),
        }
    }

    /// A whole number of seconds, `default` when unset.
    pub fn seconds(&self, name: &'static str, default: Duration) -> Result<Duration, SetupError> {
        match self.var(name) {
            None => Ok(default),
            Some(value) => {
                value
                    .parse()
                    .map(Duration::from_secs)
                    .map_err(|_| SetupError::InvalidVariable {
                        name,
                        value,
                        expected: "a whole number of seconds",
                    })
            }
        }
    }

    /// A number above zero, `default` when unset.
    pub fn positive(&self, name: &'static str, default: usize) -> Result<usize, SetupError> {
        match self.var(name) {
            None => Ok(default),
            Some(value) => match value.parse() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(SetupError::InvalidVariable {
                    name,
                    value,
                    expected: "a positive number",
                }),
            },
        }
    }
}
