//! The pool's job queue: producers push without a lock, one consumer at a
//! time pops.
//!
//! Jobs sit in a linked list of blocks of [`BLOCK_CAP`] slots. Producers
//! share one index (`Tail::index`): a producer claims a slot by moving it on
//! with a compare-and-swap, writes the job into the slot, and marks the slot
//! ready. Consumers take a small lock for their cursor, so a pop never races
//! another pop, and the one consumer walking a block is the one that frees
//! it. A submit therefore never waits for a worker, and a worker never waits
//! for a submit: they meet only on the slot being handed over.
//!
//! Each block has `BLOCK_CAP + 1` indices: one per slot, and one more that
//! means "the next block is being installed". The producer that claims a
//! block's last slot allocates the next block (before its claim, so nobody
//! waits on an allocation), publishes it as the tail block, moves the index
//! past that extra value, links the block, and only then writes its slot.
//! Producers that arrive meanwhile wait for the index to move: a few
//! instructions.
//!
//! # Safety
//!
//! The unsafe code here dereferences block pointers and moves jobs in and
//! out of slots. It relies on these rules:
//! - a block is freed (or recycled) only by the consumer holding the cursor
//!   lock, once it has taken every slot of the block. Each slot was marked
//!   ready by its producer as that producer's last access to the block, and
//!   the last slot's producer linked the next block before marking its slot,
//!   so nobody else can still be using the block;
//! - a producer dereferences the tail block only after its compare-and-swap
//!   claimed a slot in it, and a block with an unclaimed slot is never
//!   freed: the index it loaded still names that block (the tail block
//!   changes only while the index sits on a block's extra value, and the
//!   index only grows);
//! - a slot is written by the one producer that claimed it, before it is
//!   marked ready (Release), and read by the one consumer that finds it
//!   ready (Acquire) and moves the cursor past it; nobody touches it again
//!   until its block is reset for reuse.
#![allow(unsafe_code)]

use crate::{
    padded::Padded,
    sync::{AtomicBool, AtomicPtr, AtomicUsize, BLOCK_CAP, Mutex, Ordering, UnsafeCell, spin_loop},
};
use core::{mem::MaybeUninit, ptr};

/// Indices per block: its slots, then one meaning "next block on its way".
const LAP: usize = BLOCK_CAP + 1;

/// One job's place in a block.
struct Slot<T> {
    /// Set by the slot's producer once `value` is written.
    ready: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// `BLOCK_CAP` slots and the link to the next block.
struct Block<T> {
    /// Written once, by the producer of this block's last slot.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Self> {
        Box::new(Self {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: core::array::from_fn(|_| Slot {
                ready: AtomicBool::new(false),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            }),
        })
    }
}

/// Where producers claim slots.
struct Tail<T> {
    /// Slot claims so far, counted `LAP` to a block.
    index: AtomicUsize,
    /// The block `index` points into.
    block: AtomicPtr<Block<T>>,
}

/// Where the consumer takes jobs; only under `Queue::head`'s lock.
struct Cursor<T> {
    index: usize,
    block: *mut Block<T>,
}

/// Where a pop found no job ready: the index of the slot it looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Empty(usize);

/// The index of the slot a push filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pushed(usize);

/// The consumers' end.
struct Head<T> {
    cursor: Mutex<Cursor<T>>,
    /// `cursor.index`, readable without the lock (stored under it).
    index: AtomicUsize,
}

/// An unbounded multi-producer queue with one consumer at a time.
pub(crate) struct Queue<T> {
    /// The producers' and the consumers' ends on separate cache lines.
    tail: Padded<Tail<T>>,
    head: Padded<Head<T>>,
    /// One consumed block kept for the next producer that needs a block.
    spare: AtomicPtr<Block<T>>,
}

// SAFETY: the queue moves `T`s from the pushing thread to the popping one (`T: Send`); every shared access to a slot or block follows the rules in the module docs.
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: as above: `&Queue` only moves `T`s between threads, never shares one.
unsafe impl<T: Send> Sync for Queue<T> {}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        let first = Box::into_raw(Block::new());
        Self {
            tail: Padded(Tail {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            }),
            head: Padded(Head {
                cursor: Mutex::new(Cursor {
                    index: 0,
                    block: first,
                }),
                index: AtomicUsize::new(0),
            }),
            spare: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Appends `value`. Never blocks on a consumer; waits only (briefly) for
    /// another producer installing the next block.
    pub(crate) fn push(&self, value: T) -> Pushed {
        let mut next_block: Option<Box<Block<T>>> = None;
        let (index, block, offset) = loop {
            // ORDERING: Acquire pairs with the Release increment that moved
            // the index into a new block, after that block was stored in
            // `tail.block`: the block loaded below is then the index's block.
            let index = self.tail.0.index.load(Ordering::Acquire);
            let offset = index % LAP;
            if offset == BLOCK_CAP {
                // Another producer is installing the next block.
                spin_loop();
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(self.fresh_block());
            }
            // ORDERING: Relaxed; the index's Acquire load above covers it.
            let block = self.tail.0.block.load(Ordering::Relaxed);
            // ORDERING: Relaxed; winning only grants the slot. The job is
            // published by the slot's `ready` flag, and the pool's fence after
            // `push` orders this claim for its wake-up protocol.
            if self
                .tail
                .0
                .index
                .compare_exchange_weak(index, index + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                break (index, block, offset);
            }
            spin_loop();
        };
        if offset + 1 == BLOCK_CAP {
            let next = match next_block.take() {
                Some(next) => Box::into_raw(next),
                None => unreachable!("allocated before claiming a block's last slot"),
            };
            // ORDERING: Relaxed; published by the Release increment below.
            self.tail.0.block.store(next, Ordering::Relaxed);
            // ORDERING: Release pairs with the Acquire load of the index in
            // `push`: a producer that sees the new index sees the new block.
            self.tail.0.index.fetch_add(1, Ordering::Release);
            // The claimed slot is in `block`, so the block is live.
            // SAFETY: we hold an unfilled slot of `block` (module docs).
            let link = unsafe { &(*block).next };
            // ORDERING: Relaxed; the consumer reads it after the Acquire of
            // this block's last `ready`, which is stored after this.
            link.store(next, Ordering::Relaxed);
        }
        // SAFETY: we hold an unfilled slot of `block` (module docs).
        let slot = unsafe { &(*block).slots[offset] };
        // SAFETY: the slot is ours alone until `ready` is set (module docs).
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // ORDERING: Release publishes the job to the consumer's Acquire.
        slot.ready.store(true, Ordering::Release);
        if let Some(unused) = next_block {
            self.keep_spare(unused);
        }
        Pushed(index)
    }

    /// Whether a consumer has taken the job that `pushed` queued.
    pub(crate) fn taken(&self, pushed: Pushed) -> bool {
        // ORDERING: Relaxed. The pool reads this after an Acquire of the
        // counts word, which a worker updates (AcqRel) after its pop: a
        // worker seen stopping its search is seen having popped.
        self.head.0.index.load(Ordering::Relaxed) > pushed.0
    }

    /// Takes the oldest job, or says where none was ready: the queue is
    /// empty, or the oldest slot's producer is still writing it (it then
    /// runs the pool's wake-up protocol after it finishes).
    pub(crate) fn pop(&self) -> Result<T, Empty> {
        self.pop_locked(&mut self.head.0.cursor.lock())
    }

    /// `pop`, for a holder of the consumers' lock.
    fn pop_locked(&self, cursor: &mut Cursor<T>) -> Result<T, Empty> {
        let block = cursor.block;
        let offset = cursor.index % LAP;
        debug_assert!(
            offset < BLOCK_CAP,
            "the cursor never rests on the extra index"
        );
        // SAFETY: the cursor's block is freed only by its holder, us, after moving on (module docs).
        let slot = unsafe { &(*block).slots[offset] };
        // ORDERING: Acquire pairs with the producer's Release of `ready`.
        if !slot.ready.load(Ordering::Acquire) {
            return Err(Empty(cursor.index));
        }
        // SAFETY: the slot is ready, so initialised, and no one else reads it (module docs).
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        if offset + 1 == BLOCK_CAP {
            // SAFETY: as for the slot above.
            let link = unsafe { &(*block).next };
            // ORDERING: Relaxed; linked before the last slot's `ready`,
            // which we loaded with Acquire.
            let next = link.load(Ordering::Relaxed);
            debug_assert!(
                !next.is_null(),
                "the last slot's producer links the next block first"
            );
            cursor.block = next;
            cursor.index += 2;
            // SAFETY: every slot of `block` has been taken (module docs).
            self.recycle(unsafe { Box::from_raw(block) });
        } else {
            cursor.index += 1;
        }
        // ORDERING: Relaxed; see `taken`.
        self.head.0.index.store(cursor.index, Ordering::Relaxed);
        Ok(value)
    }

    /// Takes every ready job at once: no other consumer gets one in between,
    /// so a job older than one taken here is never left to run.
    pub(crate) fn take_all(&self) -> Vec<T> {
        let mut cursor = self.head.0.cursor.lock();
        let mut all = Vec::new();
        while let Ok(value) = self.pop_locked(&mut cursor) {
            all.push(value);
        }
        all
    }

    /// True when a job is ready to pop (takes the consumers' lock briefly).
    pub(crate) fn has_ready(&self) -> bool {
        let cursor = self.head.0.cursor.lock();
        let offset = cursor.index % LAP;
        // SAFETY: as in `pop`.
        let slot = unsafe { &(*cursor.block).slots[offset] };
        // ORDERING: Acquire, as in `pop`.
        slot.ready.load(Ordering::Acquire)
    }

    /// Whether a slot has been claimed since a pop found `empty` (its job
    /// may still be in writing). Lock-free: spinning workers poll it, and a
    /// `false` spares the consumers' lock, since nothing can be ready then.
    pub(crate) fn changed_since(&self, empty: Empty) -> bool {
        // ORDERING: Relaxed. A `true` is confirmed by `pop` or `has_ready`;
        // a `false` after the pool's SeqCst fence covers every claim made
        // before a submit's own fence (module docs of `pool`).
        self.tail.0.index.load(Ordering::Relaxed) != empty.0
    }

    /// Whether a job is ready that was queued after a pop found `empty`:
    /// the lock-free look first, the consumers' lock only if it says yes.
    pub(crate) fn ready_since(&self, empty: Empty) -> bool {
        self.changed_since(empty) && self.has_ready()
    }

    /// A block for the tail: the spare one if there is one.
    fn fresh_block(&self) -> Box<Block<T>> {
        // ORDERING: Acquire pairs with `keep_spare`'s Release: the reset
        // block's fields are seen as reset.
        let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
        if spare.is_null() {
            Block::new()
        } else {
            // SAFETY: `spare` came from `Box::into_raw` in `keep_spare`, and the swap made it ours alone.
            unsafe { Box::from_raw(spare) }
        }
    }

    /// Resets a block whose every slot was taken, and keeps it as the spare.
    fn recycle(&self, block: Box<Block<T>>) {
        // ORDERING: Relaxed; the box is ours alone, and `keep_spare`
        // publishes it with Release.
        block.next.store(ptr::null_mut(), Ordering::Relaxed);
        for slot in &block.slots {
            // ORDERING: as above.
            slot.ready.store(false, Ordering::Relaxed);
        }
        self.keep_spare(block);
    }

    /// Keeps an empty, reset block for later (freeing the previous spare).
    fn keep_spare(&self, block: Box<Block<T>>) {
        // ORDERING: AcqRel: Release publishes the reset block to
        // `fresh_block`; Acquire takes ownership of the one it replaces.
        let old = self.spare.swap(Box::into_raw(block), Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: `old` came from `Box::into_raw` here, and the swap made it ours alone.
            drop(unsafe { Box::from_raw(old) });
        }
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        // No producer can be mid-push: they all borrow the queue.
        drop(self.take_all());
        let cursor = self.head.0.cursor.lock();
        // SAFETY: the last block is the cursor's; nothing else points into it now.
        drop(unsafe { Box::from_raw(cursor.block) });
        drop(cursor);
        // ORDERING: Acquire, as in `fresh_block`.
        let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
        if !spare.is_null() {
            // SAFETY: as in `fresh_block`.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}

#[cfg(all(test, not(exec_loom)))]
mod tests {
    use super::*;
    use std::{sync::Arc, thread};

    #[test]
    fn fifo_across_many_blocks() {
        let q = Queue::new();
        for i in 0..(BLOCK_CAP * 5 + 3) {
            q.push(i);
        }
        for i in 0..(BLOCK_CAP * 5 + 3) {
            assert_eq!(q.pop(), Ok(i));
        }
        let empty = q.pop().unwrap_err();
        assert!(!q.changed_since(empty));
        for i in 0..(BLOCK_CAP + 2) {
            q.push(i);
        }
        assert_eq!(q.take_all(), (0..(BLOCK_CAP + 2)).collect::<Vec<_>>());
        let empty = q.pop().unwrap_err();
        assert!(!q.has_ready());
        q.push(7);
        assert!(q.ready_since(empty));
        assert_eq!(q.pop(), Ok(7));
    }

    #[test]
    fn dropping_the_queue_drops_what_is_left() {
        let item = Arc::new(());
        let q = Queue::new();
        for _ in 0..(BLOCK_CAP * 2 + 1) {
            q.push(Arc::clone(&item));
        }
        drop(q.pop().unwrap());
        drop(q);
        assert_eq!(Arc::strong_count(&item), 1);
    }

    #[test]
    fn concurrent_producers_and_consumers_lose_and_repeat_nothing() {
        // Miri runs the same interleavings far more slowly: fewer items.
        const PER: usize = if cfg!(miri) { 300 } else { 20_000 };
        let q = Arc::new(Queue::new());
        let taken = Arc::new(std::sync::Mutex::new(Vec::new()));
        thread::scope(|s| {
            for p in 0..3 {
                let q = Arc::clone(&q);
                s.spawn(move || {
                    for i in 0..PER {
                        q.push(p * PER + i);
                    }
                });
            }
            for _ in 0..2 {
                let (q, taken) = (Arc::clone(&q), Arc::clone(&taken));
                s.spawn(move || {
                    let mut mine = Vec::new();
                    // Each producer's items come out in its own order.
                    let mut last = [None::<usize>; 3];
                    while mine.len() < PER {
                        if let Ok(v) = q.pop() {
                            let p = v / PER;
                            assert!(last[p] < Some(v), "out of order within a producer");
                            last[p] = Some(v);
                            mine.push(v);
                        } else {
                            thread::yield_now();
                        }
                    }
                    taken.lock().unwrap().extend(mine);
                });
            }
        });
        let mut all = std::mem::take(&mut *taken.lock().unwrap());
        while let Ok(v) = q.pop() {
            all.push(v);
        }
        all.sort_unstable();
        assert_eq!(all, (0..3 * PER).collect::<Vec<_>>());
    }
}
