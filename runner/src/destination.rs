//! Where a run's bundle goes: the store and the queue named by `--store`/`--queue` (or
//! `SGLCI_STORE`/`SGLCI_QUEUE`), built once per command.

use sglci_core::backend::{Backends, QueueLocation, StoreLocation};
use sglci_core::queue::Queue;
use sglci_core::store::ObjectStore;

use crate::cli::CliBackends;
use crate::error::RunnerError;

/// The store and the queue a bundle is shipped to.
pub type Destination = (Box<dyn ObjectStore>, Box<dyn Queue>);

/// Builds the store and queue named on the command line; a directory store's queue defaults to
/// its spool (`<store>/queue`), an S3 store needs one named.
pub fn open(b: &CliBackends) -> Result<Destination, RunnerError> {
    let store = StoreLocation::parse(&b.store).map_err(|e| RunnerError::Config(e.to_string()))?;
    let queue = QueueLocation::resolve(b.queue.as_deref(), &store)
        .map_err(|e| RunnerError::Config(e.to_string()))?;
    let mut all = Backends::default();
    Ok((
        all.store(&store)
            .map_err(|e| RunnerError::Config(e.to_string()))?,
        all.queue(&queue)
            .map_err(|e| RunnerError::Config(e.to_string()))?,
    ))
}
