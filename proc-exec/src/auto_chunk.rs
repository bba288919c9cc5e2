//! How many items the next chunk of a map takes when no chunksize was given.
//!
//! CPython's `Executor.map` sends one item per chunk, which for cheap items
//! spends its time on round trips, and `Pool.map` cuts a known length into
//! four chunks per worker, which for slow items can leave a worker with
//! one long chunk while the others idle. Here the size adapts, as joblib's
//! `batch_size="auto"` does: the first chunks hold one item each, and each
//! next one may grow to what takes about [`TARGET`] on one worker, judged
//! by how fast the chunks already answered came back. A chunk never grows
//! past twice the largest one answered, so the sizes seen lag behind by at
//! most that, nor past:
//! - `Pool.map`'s `ceil(len / (4 * workers))` when the input's length is
//!   known, so every worker gets several chunks;
//! - [`MAX_ITEMS`], which with the window of chunks in flight bounds the
//!   items in flight;
//! - what keeps the arguments' frame and the results' frame under
//!   [`byte_budget`], so a chunk of large values neither holds much memory
//!   nor comes near the frame limit that one item alone would not reach.
//!
//! No clock is read here: the caller passes the instants in.

use std::time::{Duration, Instant};

/// How long a chunk should keep one worker busy: long enough that the
/// round trip (tens of microseconds) is lost in it, short enough that the
/// last chunks of a map end close together.
pub(crate) const TARGET: Duration = Duration::from_millis(10);

/// The most items in one chunk chosen here.
pub(crate) const MAX_ITEMS: usize = 1 << 16;

/// Chunks in flight per worker when no `buffersize` was given: one running
/// and one in its pipe with room to spare, so no worker waits for the
/// reader.
pub(crate) const WINDOW_PER_WORKER: usize = 4;

/// The most bytes a chunk's arguments or results should take: 1 MiB, or a
/// sixteenth of a smaller frame limit.
pub(crate) fn byte_budget(max_frame_size: u32) -> usize {
    (max_frame_size as usize / 16).clamp(1, 1 << 20)
}

/// The state of one map's chunk sizes.
#[derive(Debug, Clone)]
pub(crate) struct AutoChunk {
    workers: usize,
    /// The most items a chunk may take whatever is measured.
    cap: usize,
    budget: usize,
    /// The most items in a chunk that was answered.
    largest_answered: usize,
    /// The largest arguments' or results' bytes per item seen, in bytes
    /// per 1024 items (so small values keep their precision).
    bytes_per_kilo_item: usize,
    /// Where the current measure of speed started: the instant of an
    /// answer, and the items answered since.
    since: Option<(Instant, usize)>,
    /// The latest answer's instant.
    last: Option<Instant>,
    /// How long one item takes one worker, smoothed; `None` until measured.
    per_item: Option<Duration>,
}

impl AutoChunk {
    /// Chunk sizes for a map over `workers` workers, of an input of `len`
    /// items if known, with chunks of at most `budget` bytes each way.
    pub(crate) fn new(workers: usize, len: Option<usize>, budget: usize) -> Self {
        let workers = workers.max(1);
        let pool_rule = len.map_or(usize::MAX, |len| len.div_ceil(4 * workers));
        Self {
            workers,
            cap: pool_rule.clamp(1, MAX_ITEMS),
            budget: budget.max(1),
            largest_answered: 0,
            bytes_per_kilo_item: 0,
            since: None,
            last: None,
            per_item: None,
        }
    }

    /// Items for the next chunk.
    pub(crate) fn next_size(&self) -> usize {
        let Some(per_item) = self.per_item else {
            return 1;
        };
        let by_time = match per_item.as_nanos() {
            0 => usize::MAX,
            nanos => usize::try_from(TARGET.as_nanos() / nanos).unwrap_or(usize::MAX),
        };
        let by_bytes = match self.bytes_per_kilo_item {
            0 => usize::MAX,
            per_kilo => self.budget.saturating_mul(1024) / per_kilo,
        };
        let grown = self.largest_answered.saturating_mul(2);
        by_time.min(by_bytes).min(grown).min(self.cap).max(1)
    }

    /// A chunk of `items` was sent, its arguments taking `bytes`.
    pub(crate) fn sent(&mut self, items: usize, bytes: usize) {
        self.saw_bytes(items, bytes);
    }

    /// A chunk of `items` was answered at `at`, its results taking `bytes`.
    pub(crate) fn answered(&mut self, items: usize, bytes: usize, at: Instant) {
        self.saw_bytes(items, bytes);
        self.largest_answered = self.largest_answered.max(items);
        let at = self.last.map_or(at, |last| last.max(at));
        self.last = Some(at);
        let Some((start, answered)) = self.since else {
            // The first answer starts the clock: the time before it was
            // the workers' start and the pipeline's filling.
            self.since = Some((at, 0));
            return;
        };
        let answered = answered + items;
        // One measure spans at least one item per worker, so answers that
        // arrive together do not pass for speed.
        if answered < self.workers {
            self.since = Some((start, answered));
            return;
        }
        let elapsed = at.saturating_duration_since(start);
        let sample = elapsed.saturating_mul(self.workers as u32) / answered.max(1) as u32;
        self.per_item = Some(match self.per_item {
            None => sample,
            Some(old) => (old + sample) / 2,
        });
        self.since = Some((at, 0));
    }

    fn saw_bytes(&mut self, items: usize, bytes: usize) {
        let per_kilo = bytes.saturating_mul(1024) / items.max(1);
        self.bytes_per_kilo_item = self.bytes_per_kilo_item.max(per_kilo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: usize = 1 << 20;

    /// Answers `n` chunks of `items`, one worker-time of `each` apart on
    /// `workers` workers, from `at`; returns the instant after.
    fn answer(
        sizes: &mut AutoChunk,
        at: Instant,
        n: usize,
        items: usize,
        each: Duration,
    ) -> Instant {
        let mut at = at;
        for _ in 0..n {
            at += each;
            sizes.answered(items, items * 4, at);
        }
        at
    }

    #[test]
    fn chunks_hold_one_item_until_a_speed_is_measured() {
        let mut sizes = AutoChunk::new(2, None, BUDGET);
        assert_eq!(sizes.next_size(), 1);
        let now = Instant::now();
        // Answers arriving together measure nothing.
        sizes.answered(1, 4, now);
        sizes.answered(1, 4, now);
        assert_eq!(sizes.next_size(), 1);
    }

    #[test]
    fn cheap_items_grow_by_doubling_up_to_the_pool_rule() {
        // 1M items on 2 workers: Pool.map's 125,000, above MAX_ITEMS.
        let mut sizes = AutoChunk::new(2, Some(1_000_000), BUDGET);
        let mut at = Instant::now();
        let mut size = 1;
        let mut seen = Vec::new();
        for _ in 0..40 {
            // About 50 ns per item per worker, and 20 us per chunk.
            let each = Duration::from_nanos(20_000 + 50 * size as u64) / 2;
            at = answer(&mut sizes, at, 2, size, each);
            size = sizes.next_size();
            seen.push(size);
        }
        assert!(seen.windows(2).all(|w| w[1] <= 2 * w[0]), "{seen:?}");
        assert_eq!(size, MAX_ITEMS);
        // With a known short length, Pool.map's rule caps it.
        let mut sizes = AutoChunk::new(2, Some(80), BUDGET);
        answer(&mut sizes, at, 40, 8, Duration::from_nanos(100));
        assert_eq!(sizes.next_size(), 10);
    }

    #[test]
    fn slow_items_stay_one_per_chunk() {
        let mut sizes = AutoChunk::new(2, None, BUDGET);
        let at = Instant::now();
        // 100 ms per item on each of 2 workers: an answer every 50 ms.
        answer(&mut sizes, at, 20, 1, Duration::from_millis(50));
        assert_eq!(sizes.next_size(), 1);
        // 2 ms per item: five fit in the target.
        let mut sizes = AutoChunk::new(2, None, BUDGET);
        answer(&mut sizes, at, 40, 1, Duration::from_millis(1));
        assert_eq!(sizes.next_size(), 2);
        let mut sizes = AutoChunk::new(2, None, BUDGET);
        answer(&mut sizes, at, 40, 8, Duration::from_millis(8));
        assert_eq!(sizes.next_size(), 5);
    }

    #[test]
    fn large_values_keep_chunks_under_the_byte_budget() {
        let mut sizes = AutoChunk::new(2, None, BUDGET);
        let at = Instant::now();
        let after = answer(&mut sizes, at, 40, 64, Duration::from_nanos(100));
        assert_eq!(sizes.next_size(), 128);
        // Results of 64 KiB each: 16 fit in 1 MiB.
        sizes.answered(64, 64 << 16, after + Duration::from_nanos(100));
        assert_eq!(sizes.next_size(), 16);
        // Arguments count too.
        let mut sizes = AutoChunk::new(2, None, BUDGET);
        sizes.sent(1, 1 << 19);
        answer(&mut sizes, at, 40, 64, Duration::from_nanos(100));
        assert_eq!(sizes.next_size(), 2);
    }

    #[test]
    fn a_map_that_slows_down_gets_smaller_chunks() {
        let mut sizes = AutoChunk::new(1, None, BUDGET);
        let mut at = Instant::now();
        at = answer(&mut sizes, at, 40, 1000, Duration::from_micros(100));
        assert_eq!(sizes.next_size(), 2000);
        answer(&mut sizes, at, 10, 1000, Duration::from_secs(1));
        assert_eq!(sizes.next_size(), 10);
    }

    #[test]
    fn the_byte_budget_follows_the_frame_limit() {
        assert_eq!(byte_budget(64 << 20), 1 << 20);
        assert_eq!(byte_budget(1 << 16), 1 << 12);
        assert_eq!(byte_budget(0), 1);
    }
}
