//! sglci-core: what the runner and the publisher share.
//!
//! - [`tag`]: validated newtypes [`ImageTag`] (the run label), [`Hardware`], [`RunId`].
//! - [`image_ref`]: any image reference ([`ImageRef`]) and what its tag suggests ([`TagHints`]).
//! - [`ab`]: the interleaved A/B comparison record and its markdown.
//! - [`records`]: typed history rows and the column schema of every table.
//! - [`parse`]: pure parsers for every file kind the predecessor published (text or bytes in,
//!   value or typed error out; they never panic).
//! - [`efficiency`]: tokens/s per GPU and MFU (F70) from a model's shape and a peak table.
//! - [`failure`]: the F14 failure taxonomy and the evidence-line classifier.
//! - [`stats`]: the median, shared by the A/B verdicts and the regression screen.
//! - [`status`]: F32 task-status rules over parsed files.
//! - [`redact`]: F15 secret redaction applied to every evidence line we keep.
//! - [`store`]: validated store keys, the `ObjectStore` trait, an in-memory store and the
//!   conformance checks every backend passes.
//! - [`bundle`]: the run bundle protocol (manifest written last, SHA-256 per file).
//! - [`queue`]: the `Queue` trait and what a message body means (announcement, S3 event).
//! - [`backend`]: the shell side: directory, spool, S3 and SQS backends and the enums that pick
//!   one from configuration.
//! - [`date`]: civil dates (`YYYYMMDD`) and day numbers.
//! - [`clock`]: the one wall clock, for the shells (binaries and the Lambda entry) only.
//! - [`text`]: byte clean-up (NULs, ANSI escapes, `\r` progress bars) shared by the parsers.
//!
//! Outside [`backend`] and [`clock`], nothing in this crate touches the disk, the network or
//! the clock.

pub mod ab;
pub mod ansi;
pub mod backend;
pub mod bundle;
pub mod clock;
pub mod date;
pub mod efficiency;
pub mod error;
pub mod failure;
pub mod image_ref;
pub mod parse;
pub mod plausible;
pub mod queue;
pub mod records;
pub mod redact;
pub mod stats;
pub mod status;
pub mod store;
pub mod tag;
pub mod text;
pub mod utf8;

pub use error::{ParseError, ValueError};
pub use image_ref::{DateSource, ImageIdentity, ImageKind, ImageRef, TagHints};
pub use tag::{Hardware, ImageTag, RunId, Vendor};
