//! Progress reporting and cancellation for long operations.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// Receives progress of a long operation and may ask it to stop.
pub trait Progress {
    /// Called with `done` of `total` work units finished. Return `false` to cancel.
    fn report(&mut self, done: usize, total: usize) -> bool;
}

/// Progress sink that never cancels and shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&mut self, _done: usize, _total: usize) -> bool {
        true
    }
}

impl<F: FnMut(usize, usize) -> bool> Progress for F {
    fn report(&mut self, done: usize, total: usize) -> bool {
        self(done, total)
    }
}
