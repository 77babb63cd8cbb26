//! Independent units of work — one bone's surface, one slice's pixels, one layer's scan
//! paths, one component's split — mapped in input order, on rayon's thread pool when the
//! `parallel` feature is on and one after another otherwise.
//!
//! # Why the results are the same bits either way
//! Each unit is computed by the same function on the same input in both builds, results
//! come back in input order, and nothing is reduced across units here: sums over the
//! results are the caller's, in input order. An error is the first one in input order in
//! both builds (the parallel build computes every unit, then looks), so even a failure
//! reads the same. `tests/parallel_identity.rs` checks whole pipelines both ways.
//!
//! # Where the threads come from
//! Natively, rayon's global pool (one thread per core). In the browser, the threaded
//! wasm build (`scripts/build-web.sh`: atomics, shared memory) starts the pool with
//! wasm-bindgen-rayon's `initThreadPool` in the compute worker, and only when the page is
//! cross-origin isolated; the default single-threaded build has no rayon at all.
//!
//! [`serial`] runs a closure with this module's maps forced serial on the calling
//! thread, so one parallel build can compare both paths.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use crate::progress::Progress;

#[cfg(feature = "parallel")]
use rayon::prelude::*;

#[cfg(feature = "parallel")]
thread_local! {
    static FORCE_SERIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Bit `i` set once pool thread `i` (mod 64) has run a unit.
#[cfg(feature = "parallel")]
static POOL_THREADS_SEEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[cfg(feature = "parallel")]
fn note_thread() {
    if let Some(i) = rayon::current_thread_index() {
        POOL_THREADS_SEEN.fetch_or(1 << (i % 64), std::sync::atomic::Ordering::Relaxed);
    }
}

/// How many distinct pool threads have run a unit so far (0 without the feature): the
/// browser test checks with it that the work really spread over threads.
pub fn pool_threads_used() -> u32 {
    #[cfg(feature = "parallel")]
    {
        POOL_THREADS_SEEN
            .load(std::sync::atomic::Ordering::Relaxed)
            .count_ones()
    }
    #[cfg(not(feature = "parallel"))]
    {
        0
    }
}

/// True when maps started on this thread run on the pool.
pub fn enabled() -> bool {
    #[cfg(feature = "parallel")]
    {
        !FORCE_SERIAL.with(|f| f.get())
    }
    #[cfg(not(feature = "parallel"))]
    {
        false
    }
}

/// Threads a map started now would use (1 without the feature or inside [`serial`]).
pub fn threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        if enabled() {
            return rayon::current_num_threads();
        }
    }
    1
}

/// Runs `f` with every map it starts on this thread done serially (a reference run).
pub fn serial<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "parallel")]
    {
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                FORCE_SERIAL.with(|s| s.set(self.0));
            }
        }
        let _restore = Restore(FORCE_SERIAL.with(|s| s.replace(true)));
        f()
    }
    #[cfg(not(feature = "parallel"))]
    {
        f()
    }
}

/// `f` of every item, in item order, or the first error in item order.
pub fn try_map<T: Sync, R: Send, E: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, E> + Sync + Send,
) -> Result<Vec<R>, E> {
    try_map_vec(items.iter().collect(), f)
}

/// `f` of every item, each unit taking its item by value, in item order.
pub fn map_vec<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    #[cfg(feature = "parallel")]
    {
        if enabled() && items.len() > 1 {
            return items
                .into_par_iter()
                .map(|x| {
                    note_thread();
                    f(x)
                })
                .collect();
        }
    }
    items.into_iter().map(f).collect()
}

/// [`map_vec`], or the first error in item order (serially, the units after it do not run).
pub fn try_map_vec<T: Send, R: Send, E: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> Result<R, E> + Sync + Send,
) -> Result<Vec<R>, E> {
    if enabled() && items.len() > 1 {
        // Every unit runs; the first error in item order wins, as in the serial loop.
        return map_vec(items, f).into_iter().collect();
    }
    items.into_iter().map(f).collect()
}

/// `f(k)` for `k` in `0..n`, in order, or the first error in order; `progress` hears
/// `(k, n)` before every `batch` units (serially: before units 0, batch, 2·batch…; with
/// threads the batch is `batch` × threads, run in parallel) and cancels with `cancelled`.
pub fn try_map_range_with_progress<R: Send, E: Send>(
    n: usize,
    batch: usize,
    progress: &mut dyn Progress,
    cancelled: impl Fn() -> E,
    f: impl Fn(usize) -> Result<R, E> + Sync + Send,
) -> Result<Vec<R>, E> {
    let batch = batch.max(1) * threads();
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        if !progress.report(start, n) {
            return Err(cancelled());
        }
        let end = (start + batch).min(n);
        out.extend(try_map_vec((start..end).collect(), &f)?);
        start = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn maps_keep_item_order_and_the_first_error() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            map_vec(items.clone(), |x| x * 2),
            (0..1000).map(|x| x * 2).collect::<Vec<_>>()
        );
        let r: Result<Vec<u32>, u32> =
            try_map(&items, |&x| if x % 300 == 299 { Err(x) } else { Ok(x) });
        assert_eq!(r, Err(299));
        assert_eq!(
            serial(|| try_map(&items, |&x| if x >= 700 { Err(x) } else { Ok(x) })),
            Err(700)
        );
    }

    #[test]
    fn range_map_reports_progress_and_cancels() {
        let mut seen = Vec::new();
        let mut p = |done: usize, total: usize| {
            seen.push((done, total));
            done < 32
        };
        let r: Result<Vec<usize>, &str> =
            serial(|| try_map_range_with_progress(100, 16, &mut p, || "cancelled", Ok));
        assert_eq!(r, Err("cancelled"));
        assert_eq!(seen, [(0, 100), (16, 100), (32, 100)]);
        let all =
            try_map_range_with_progress(50, 16, &mut NoProgress, || "x", |k| Ok::<_, &str>(k * k));
        assert_eq!(all, Ok((0..50).map(|k| k * k).collect()));
    }
}
