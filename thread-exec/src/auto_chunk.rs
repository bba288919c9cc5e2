//! How many items the next task of a map takes when no chunksize was given.
//!
//! One task per item costs a future, a queue slot and often a wake-up each:
//! over a million cheap items that is most of the time and memory. One
//! task per big batch leaves threads idle when items are slow. So, as
//! joblib's `batch_size="auto"`: the first tasks take one item each, and
//! each next one may grow to what keeps a thread busy about [`TARGET`],
//! judged by how long the finished tasks ran per item; never past twice the
//! largest task finished, `Pool.map`'s `ceil(len / (4 * workers))` when the
//! input's length is known, or [`MAX_ITEMS`].
//!
//! No clock is read here: the tasks measure themselves.

use std::time::Duration;

/// How long a task should keep a thread busy: far above the cost of a task
/// (a few microseconds), short enough that the last tasks end together.
pub(crate) const TARGET: Duration = Duration::from_millis(2);

/// The most items in one task chosen here.
pub(crate) const MAX_ITEMS: usize = 1 << 14;

/// Tasks in flight per worker thread when no `buffersize` was given.
pub(crate) const WINDOW_PER_WORKER: usize = 4;

/// The state of one map's task sizes.
#[derive(Debug, Clone)]
pub(crate) struct AutoChunk {
    cap: usize,
    largest_done: usize,
    /// How long one item runs, smoothed; `None` until a task finished.
    per_item: Option<Duration>,
}

impl AutoChunk {
    /// Task sizes for a map over `workers` threads, of an input of `len`
    /// items if known.
    pub(crate) fn new(workers: usize, len: Option<usize>) -> Self {
        let pool_rule = len.map_or(usize::MAX, |len| len.div_ceil(4 * workers.max(1)));
        Self {
            cap: pool_rule.clamp(1, MAX_ITEMS),
            largest_done: 0,
            per_item: None,
        }
    }

    /// Items for the next task.
    pub(crate) fn next_size(&self) -> usize {
        let Some(per_item) = self.per_item else {
            return 1;
        };
        let by_time = match per_item.as_nanos() {
            0 => usize::MAX,
            nanos => usize::try_from(TARGET.as_nanos() / nanos).unwrap_or(usize::MAX),
        };
        let grown = self.largest_done.saturating_mul(2);
        by_time.min(grown).min(self.cap).max(1)
    }

    /// A task of `items` ran for `elapsed`.
    pub(crate) fn ran(&mut self, items: usize, elapsed: Duration) {
        if items == 0 {
            return;
        }
        self.largest_done = self.largest_done.max(items);
        let sample = elapsed / u32::try_from(items).unwrap_or(u32::MAX);
        self.per_item = Some(match self.per_item {
            None => sample,
            Some(old) => (old + sample) / 2,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_take_one_item_until_one_finished() {
        let sizes = AutoChunk::new(4, None);
        assert_eq!(sizes.next_size(), 1);
    }

    #[test]
    fn cheap_items_double_up_to_the_caps() {
        let mut sizes = AutoChunk::new(2, None);
        let mut seen = Vec::new();
        for _ in 0..20 {
            let size = sizes.next_size();
            seen.push(size);
            sizes.ran(size, Duration::from_nanos(10) * size as u32);
        }
        assert_eq!(seen[..5], [1, 2, 4, 8, 16]);
        assert_eq!(sizes.next_size(), MAX_ITEMS);
        // 1,000 items on 2 threads: Pool.map's 125.
        let mut sizes = AutoChunk::new(2, Some(1000));
        sizes.ran(1000, Duration::from_nanos(10));
        assert_eq!(sizes.next_size(), 125);
    }

    #[test]
    fn slow_items_stay_one_per_task() {
        let mut sizes = AutoChunk::new(2, None);
        sizes.ran(1, Duration::from_millis(100));
        sizes.ran(1, Duration::from_millis(100));
        assert_eq!(sizes.next_size(), 1);
        // 0.5 ms per item: four fit in the target.
        let mut sizes = AutoChunk::new(2, None);
        sizes.ran(8, Duration::from_millis(4));
        assert_eq!(sizes.next_size(), 4);
    }
}
