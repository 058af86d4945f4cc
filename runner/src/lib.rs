//! sglci-runner's library: what the `sglci-runner` binary does, as functions the tests call.
//!
//! - [`ship`]: a run's files as a bundle to the store (manifest last) and its announcement on
//!   the queue; when either is unreachable, the bundle waits in a local spool until
//!   `sglci-runner flush` delivers it.

pub mod ship;
