//! The async runtime: one current-thread tokio runtime for the process.
//!
//! The core's key sources are async (Key Vault is a network call); reqwest needs tokio's
//! reactor and timers. Commands call [`block_on`] at their edge and stay synchronous.

use std::future::Future;
use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime")
    })
}

/// Runs `future` to completion on the process's runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}
