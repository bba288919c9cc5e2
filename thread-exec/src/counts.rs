//! The workers' bookkeeping: three counts in one word, so every decision
//! about who will run a queued job is one compare-and-swap, and no count can
//! drift from the others (CPython's idle semaphore does; gh-115634 is the
//! process pool's version of that bug).
//!
//! A worker is always in exactly one of these states:
//! - *busy*: running a task, starting up, or about to look at the queue;
//!   counted in `threads` only;
//! - *searching*: will look at the queue again before it sleeps (it is
//!   spinning, or finishing a task while the pool may still grow); counted
//!   in `searching` unless a submit has claimed it;
//! - *idle*: asleep, or about to sleep, until notified; counted in `idle`
//!   unless a submit (or a searcher handing off) has claimed it.
//!
//! Claims are anonymous: a claimed searcher or idle worker is simply no
//! longer counted. A searching worker that finds `searching` at zero when it
//! stops searching has been claimed, and looks at the queue once more as a
//! busy worker. An idle worker that finds `idle` at zero when it wants to
//! leave has been claimed, and waits for the notification that is on its way.
//!
//! Who changes what:
//! - `threads`: raised by a submit that starts a thread; lowered by a thread
//!   that exits (from idle, unclaimed), whose initializer failed, or that
//!   could not be started;
//! - `searching`: raised by a worker that starts searching, and by whoever
//!   claims an idle worker (the woken worker searches); lowered by a
//!   searching worker that stops, and by a submit that claims a searcher;
//! - `idle`: raised by a searcher that goes to sleep; lowered by whoever
//!   claims it, and by the idle worker itself when it leaves unclaimed.
//!
//! # The tag
//!
//! The top quarter of the word is a tag, moved on whenever `searching` is
//! raised. Without it, a submit could decide on an old word and still win
//! its compare-and-swap after the word came back to the same counts: it saw
//! a searcher, was preempted, the searcher took the submit's job, ran it and
//! started searching again, and the submit's claim then took that new
//! search, leaving the worker uncounted for a moment for no job at all (a
//! submit in that moment starts a needless thread). The pool checks that
//! its job was not taken before it claims anyone; the tag covers a job
//! taken between that check and the swap. Every return of the counts to earlier values
//! passes through a raise of `searching` (the other changes only lower
//! `searching` or `idle`, or move `threads`, whose decision needs no
//! history), so a claim decided on an old word fails and looks again. The
//! tag wraps after 2^16 raises (2^8 on 32-bit targets) within one
//! submit's load-to-swap window; at worst that costs the one needless
//! thread, never a job without a worker.

/// Bits per count, and of the tag: a quarter of the word each.
const BITS: u32 = usize::BITS / 4;
const MASK: usize = (1 << BITS) - 1;
const THREAD: usize = 1;
const SEARCHING: usize = 1 << BITS;
const IDLE: usize = 1 << (2 * BITS);
const TAG: usize = 1 << (3 * BITS);

/// The most threads the word can count: 65,535 on 64-bit targets, 255 on
/// 32-bit ones.
pub(crate) const MAX_THREADS: usize = MASK;

/// `threads`, `searching`, `idle` and the tag, packed in one `usize`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Counts(usize);

/// What a submit does for the job it has just queued.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dispatch {
    /// Nothing: a searching worker will see the job (the pool is at its
    /// size, so nobody needs to be counted out), or every thread is busy and
    /// each looks at the queue when its task ends.
    Nothing,
    /// Claimed a searching worker, so that the next submit starts a thread
    /// or wakes one instead of counting on the same worker.
    Claimed,
    /// Claimed an idle worker: notify one.
    Wake,
    /// Counted a new thread: start it.
    Start,
}

impl Counts {
    pub(crate) const ZERO: Self = Self(0);
    /// What a busy worker that starts searching adds (one `fetch_add`: it
    /// never fails, and a worker is counted at most once): a searcher, and a
    /// move of the tag (it wraps within its bits: atomic adds wrap, and the
    /// tag is the top of the word).
    pub(crate) const ONE_SEARCHING: usize = SEARCHING + TAG;

    pub(crate) fn from_word(word: usize) -> Self {
        Self(word)
    }

    pub(crate) fn word(self) -> usize {
        self.0
    }

    pub(crate) fn threads(self) -> usize {
        self.0 & MASK
    }

    pub(crate) fn searching(self) -> usize {
        (self.0 >> BITS) & MASK
    }

    pub(crate) fn idle(self) -> usize {
        (self.0 >> (2 * BITS)) & MASK
    }

    /// The decision of a submit that queued a job; `None` when the word
    /// stays as it is.
    pub(crate) fn dispatch(self, max_workers: usize) -> (Dispatch, Option<Self>) {
        let full = self.threads() >= max_workers;
        if self.searching() > 0 {
            if full {
                (Dispatch::Nothing, None)
            } else {
                (Dispatch::Claimed, Some(Self(self.0 - SEARCHING)))
            }
        } else if self.idle() > 0 {
            (Dispatch::Wake, self.wake_idle())
        } else if !full {
            debug_assert!(self.threads() < MAX_THREADS);
            (Dispatch::Start, Some(Self(self.0 + THREAD)))
        } else {
            (Dispatch::Nothing, None)
        }
    }

    /// A searching worker stops (it found a job); `None` when it had been
    /// claimed, and so is already not counted.
    pub(crate) fn stop_search(self) -> Option<Self> {
        (self.searching() > 0).then(|| Self(self.0 - SEARCHING))
    }

    /// A searching worker goes to sleep; `None` when it had been claimed.
    pub(crate) fn go_idle(self) -> Option<Self> {
        (self.searching() > 0).then(|| Self(self.0 - SEARCHING + IDLE))
    }

    /// Claims an idle worker for a job: it will search once notified.
    pub(crate) fn wake_idle(self) -> Option<Self> {
        (self.idle() > 0).then(|| Self((self.0 - IDLE + SEARCHING).wrapping_add(TAG)))
    }

    /// An idle worker leaves by itself to search; `None` when it had been
    /// claimed (a notification is on its way).
    pub(crate) fn leave_idle_to_search(self) -> Option<Self> {
        self.wake_idle()
    }

    /// An idle worker exits; `None` when it had been claimed.
    pub(crate) fn leave_idle_to_exit(self) -> Option<Self> {
        (self.idle() > 0).then(|| Self(self.0 - IDLE - THREAD))
    }

    /// A busy thread ends (its initializer failed) or never started.
    pub(crate) fn thread_gone(self) -> Self {
        debug_assert!(self.threads() > 0);
        Self(self.0 - THREAD)
    }
}

#[cfg(all(test, not(exec_loom)))]
mod tests {
    use super::*;

    fn counts(threads: usize, searching: usize, idle: usize) -> Counts {
        Counts(threads * THREAD + searching * SEARCHING + idle * IDLE)
    }

    /// The three counts, without the tag.
    fn fields(c: Counts) -> (usize, usize, usize) {
        (c.threads(), c.searching(), c.idle())
    }

    /// A dispatch's decision and the counts it leaves.
    fn decide(c: Counts, max_workers: usize) -> (Dispatch, Option<(usize, usize, usize)>) {
        let (what, next) = c.dispatch(max_workers);
        (what, next.map(fields))
    }

    #[test]
    fn fields_are_independent() {
        let c = counts(MAX_THREADS, MAX_THREADS, MAX_THREADS);
        assert_eq!(fields(c), (MASK, MASK, MASK));
        assert_eq!(fields(counts(3, 1, 2)), (3, 1, 2));
    }

    #[test]
    fn a_submit_prefers_a_searcher_then_an_idle_worker_then_a_new_thread() {
        assert_eq!(
            decide(counts(2, 1, 1), 4),
            (Dispatch::Claimed, Some((2, 0, 1)))
        );
        assert_eq!(
            decide(counts(2, 0, 1), 4),
            (Dispatch::Wake, Some((2, 1, 0)))
        );
        assert_eq!(
            decide(counts(2, 0, 0), 4),
            (Dispatch::Start, Some((3, 0, 0)))
        );
        assert_eq!(
            decide(counts(0, 0, 0), 1),
            (Dispatch::Start, Some((1, 0, 0)))
        );
    }

    #[test]
    fn at_full_size_a_searcher_or_all_busy_means_nothing_to_do() {
        assert_eq!(counts(4, 1, 2).dispatch(4), (Dispatch::Nothing, None));
        assert_eq!(counts(4, 0, 0).dispatch(4), (Dispatch::Nothing, None));
        // ...but a sleeping worker is still woken when nobody searches.
        assert_eq!(
            decide(counts(4, 0, 2), 4),
            (Dispatch::Wake, Some((4, 1, 1)))
        );
    }

    #[test]
    fn claimed_workers_find_their_count_gone() {
        let c = counts(2, 1, 0);
        let (_, claimed) = c.dispatch(3);
        let claimed = claimed.unwrap();
        assert_eq!(claimed.stop_search(), None);
        assert_eq!(claimed.go_idle(), None);
        let idle = counts(2, 0, 1);
        let (_, woken) = idle.dispatch(2);
        let woken = woken.unwrap();
        assert_eq!(woken.leave_idle_to_exit(), None);
        assert_eq!(woken.leave_idle_to_search(), None);
    }

    #[test]
    fn a_worker_round_trip_restores_the_counts() {
        let busy = counts(1, 0, 0);
        let searching = Counts(busy.0 + Counts::ONE_SEARCHING);
        let idle = searching.go_idle().unwrap();
        assert_eq!(fields(idle), (1, 0, 1));
        let back = idle.leave_idle_to_search().unwrap().stop_search().unwrap();
        assert_eq!(fields(back), fields(busy));
        assert_eq!(fields(idle.leave_idle_to_exit().unwrap()), (0, 0, 0));
    }

    #[test]
    fn a_new_search_never_brings_back_an_old_word() {
        // What a submit loaded: one worker, searching.
        let seen = Counts(counts(1, 0, 0).0 + Counts::ONE_SEARCHING);
        // The worker takes the job, runs it, and searches again.
        let stopped = seen.stop_search().unwrap();
        let again = Counts(stopped.0.wrapping_add(Counts::ONE_SEARCHING));
        assert_eq!(fields(again), fields(seen));
        assert_ne!(again, seen, "the submit's claim must fail and look again");
        // Through idle and a wake-up, too.
        let woken = seen.go_idle().unwrap().wake_idle().unwrap();
        assert_eq!(fields(woken), fields(seen));
        assert_ne!(woken, seen);
    }

    #[test]
    fn the_tag_wraps_without_touching_the_counts() {
        let top = Counts(counts(3, 0, 2).0 | (MASK * TAG));
        let raised = Counts(top.0.wrapping_add(Counts::ONE_SEARCHING));
        assert_eq!(fields(raised), (3, 1, 2));
        assert_eq!(fields(top.wake_idle().unwrap()), (3, 1, 1));
    }
}
