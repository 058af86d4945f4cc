//! Typed parse and validation errors. Every error names what is missing and where.

use thiserror::Error;

/// Why a file could not be interpreted. The caller attaches the file name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("missing {what}")]
    Missing { what: &'static str },
    #[error("line {line}: {reason}")]
    Invalid { line: usize, reason: String },
}

impl ParseError {
    pub fn missing(what: &'static str) -> Self {
        Self::Missing { what }
    }

    pub fn invalid(line: usize, reason: impl Into<String>) -> Self {
        Self::Invalid {
            line,
            reason: reason.into(),
        }
    }
}

/// A value that does not fit a validated newtype.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {kind} `{value}`: {hint}")]
pub struct ValueError {
    pub kind: &'static str,
    pub value: String,
    pub hint: &'static str,
}
