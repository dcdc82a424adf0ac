//! The one way a command gets its async runtime, so every command starts,
//! names its threads and shuts down alike.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio::runtime::{Builder, Runtime};

/// How long a command's leftover tasks (feeds, sync, detection) may take to
/// stop once its work is done.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// The runtime a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// A client (the TUI, `check`, `snapshot`, `annotations`): two workers
    /// are plenty for a few WebSockets and the detection service.
    Client,
    /// A server (`serve`, `demo-server`): one worker per core.
    Server,
    /// Sequential work (`push`): one thread.
    Single,
}

/// A runtime with timers and I/O enabled.
pub fn runtime(threads: Threads) -> anyhow::Result<Runtime> {
    let mut builder = match threads {
        Threads::Client => {
            let mut b = Builder::new_multi_thread();
            b.worker_threads(2);
            b
        }
        Threads::Server => Builder::new_multi_thread(),
        Threads::Single => Builder::new_current_thread(),
    };
    builder
        .thread_name("qualtop")
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Runs `work` to completion on a fresh runtime, then gives the tasks it
/// left behind [`SHUTDOWN_GRACE`] to stop.
pub fn block_on<F: Future>(threads: Threads, work: F) -> anyhow::Result<F::Output> {
    let runtime = runtime(threads)?;
    let out = runtime.block_on(work);
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    Ok(out)
}
