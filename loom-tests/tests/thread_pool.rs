//! Loom models of the thread pool: shutdown against submit, worker reuse
//! against thread start, initializer failure against submits, the hand-off
//! from the last searching worker to an idle one, shutdown's wait for a
//! submit that starts a thread; and the job queue alone across its block
//! boundaries. Each drives the real `thread-exec` code; its workers are loom
//! threads.
#![cfg(exec_loom)]

use future_core::{Future, ResultError, State};
use loom::thread;
use std::sync::Arc;
use thread_exec::{
    SubmitErrorKind, TaskError, ThreadPoolExecutor,
    loom_model::{BLOCK_CAP, Queue},
};

fn pool(max_workers: usize) -> Arc<ThreadPoolExecutor> {
    Arc::new(
        ThreadPoolExecutor::builder()
            .max_workers(max_workers)
            .build()
            .unwrap(),
    )
}

/// Preemptions for the hand-off model: one reaches the state it checks
/// (the model fails, as a deadlock, with the hand-off removed) in about 3 s;
/// two took 13 minutes on two cores (measured), three far longer.
const HANDOFF_BOUND: usize = 1;

/// Explores every interleaving with up to `bound` preemptions, whatever
/// `LOOM_MAX_PREEMPTIONS` says.
fn model_with_bound(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(bound);
    builder.check(f);
}

/// shutdown(cancel_futures) races a submit and a worker taking work: every
/// accepted future ends finished or cancelled (never pending), and nothing is
/// accepted after shutdown.
#[test]
fn shutdown_with_cancel_against_submit_and_a_running_worker() {
    loom::model(|| {
        let p = pool(1);
        let first = p.submit(|| 10).unwrap();
        let submitter = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.submit(|| 20).ok())
        };
        // This thread is the stopper: three parties race, as before with a
        // thread of its own, and the model has one thread less to explore.
        p.shutdown(false, true);
        let second = submitter.join().unwrap();
        p.shutdown(true, false);
        for (future, value) in [(Some(first), 10), (second, 20)] {
            if let Some(future) = future {
                match future.into_result() {
                    Ok(v) => assert_eq!(v, value),
                    Err(ResultError::Cancelled) => {}
                    Err(other) => panic!("unexpected outcome {other:?}"),
                }
            }
        }
        assert_eq!(
            p.submit(|| 0).unwrap_err().kind(),
            &SubmitErrorKind::Shutdown
        );
        assert_eq!(p.num_threads(), 0);
    });
}

/// A worker finishing a task while another thread submits: the submit either
/// reuses it or (when allowed) starts a thread, never more than max_workers,
/// and the new task always runs (a stranded task would be a loom deadlock).
#[test]
fn a_finishing_worker_against_a_submit() {
    loom::model(|| {
        let p = pool(1);
        let first = p.submit(|| 1).unwrap();
        let submitter = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.submit(|| 2).unwrap())
        };
        assert_eq!(first.into_result(), Ok(1));
        assert_eq!(submitter.join().unwrap().into_result(), Ok(2));
        assert!(p.num_threads() <= 1);
    });
}

/// An initializer that fails, against two submits: every accepted future
/// fails with the broken-pool error, refusals say broken, and broken is sticky.
#[test]
fn initializer_failure_against_submits() {
    loom::model(|| {
        let p = Arc::new(
            ThreadPoolExecutor::builder()
                .max_workers(1)
                .initializer(|| Err::<(), _>("init failed"))
                .build()
                .unwrap(),
        );
        let submit = |p: Arc<ThreadPoolExecutor>| {
            thread::spawn(move || p.submit(|| 0).map_err(|e| e.kind().clone()))
        };
        let a = submit(Arc::clone(&p));
        let b = submit(Arc::clone(&p));
        for submitted in [a.join().unwrap(), b.join().unwrap()] {
            let cause = match submitted {
                Ok(f) => match f.into_result() {
                    Err(ResultError::Failed(TaskError::Broken(b))) => b.cause().to_string(),
                    other => panic!("an accepted task must fail as broken: {other:?}"),
                },
                Err(SubmitErrorKind::Broken(b)) => b.cause().to_string(),
                Err(other) => panic!("a refusal must say broken: {other:?}"),
            };
            assert_eq!(cause, "init failed");
        }
        assert!(matches!(
            p.submit(|| 0).unwrap_err().kind(),
            SubmitErrorKind::Broken(_)
        ));
    });
}

/// While the pool may still grow, a worker counts itself as searching before
/// it completes a future, so the submit that follows the result claims it
/// instead of starting a thread: in every interleaving of the worker's
/// remaining steps with the submits, one thread does all three tasks. The
/// third submit catches a claim that the second made after its job had
/// already run (the claim then takes the worker's next search, and the
/// third submit finds nobody counted): the pool checks that the job was
/// not taken before it claims, and the counts' tag fails a claim decided
/// before the job was taken.
#[test]
fn submits_in_a_row_reuse_the_finished_worker() {
    loom::model(|| {
        let p = pool(2);
        assert_eq!(p.submit(|| 1).unwrap().into_result(), Ok(1));
        assert_eq!(p.submit(|| 2).unwrap().into_result(), Ok(2));
        assert_eq!(p.submit(|| 3).unwrap().into_result(), Ok(3));
        assert_eq!(p.num_threads(), 1, "a second thread was started");
    });
}

/// At full size a submit that sees a searching worker wakes nobody. Two
/// submits in a row can both count on the same searcher; when it takes the
/// first job (which waits for the second), it must hand the second to the
/// idle worker, or the pool deadlocks with a worker asleep. Both threads are
/// started first: the first task waits for the second.
#[test]
fn the_last_searcher_hands_queued_work_to_an_idle_worker() {
    model_with_bound(HANDOFF_BOUND, || {
        let p = pool(2);
        let warm = Arc::new(Future::new());
        let a = p.submit(wait_for(&warm)).unwrap();
        let b = p.submit(open(&warm)).unwrap();
        assert_eq!(p.num_threads(), 2);
        // Waiting here (rather than preempting) lets the workers run on
        // until they search or sleep: one preemption then suffices to stop
        // a worker just after it started searching, while this thread
        // submits the next two jobs.
        assert_eq!(a.into_result(), Ok(()));
        assert_eq!(b.into_result(), Ok(()));
        let later = Arc::new(Future::new());
        let first = p.submit(wait_for(&later)).unwrap();
        drop(p.submit(open(&later)).unwrap());
        assert_eq!(first.into_result(), Ok(()));
    });
}

/// A task that waits until `gate` is opened.
fn wait_for(gate: &Arc<Future<(), ()>>) -> impl FnOnce() + Send + 'static {
    let gate = Arc::clone(gate);
    move || assert_eq!(gate.result(None), Ok(&()))
}

/// A task that opens `gate`.
fn open(gate: &Arc<Future<(), ()>>) -> impl FnOnce() + Send + 'static {
    let gate = Arc::clone(gate);
    move || gate.set_result(()).unwrap()
}

/// shutdown(wait) against a submit that may start a second thread: the
/// submit is refused, or its task has run and its thread was joined by the
/// time shutdown returns (shutdown waits for submits in progress before it
/// takes the thread handles).
#[test]
fn shutdown_with_wait_against_a_submit_that_starts_a_thread() {
    loom::model(|| {
        let p = pool(2);
        let first = p.submit(|| 1).unwrap();
        let submitter = {
            let p = Arc::clone(&p);
            thread::spawn(move || p.submit(|| 2).ok())
        };
        p.shutdown(true, false);
        assert_eq!(p.num_threads(), 0, "a worker outlived shutdown(wait)");
        let second = submitter.join().unwrap();
        assert_eq!(first.state(), State::Finished);
        if let Some(second) = second {
            assert_eq!(second.state(), State::Finished, "queued work must run");
            assert_eq!(second.into_result(), Ok(2));
        }
        assert_eq!(first.into_result(), Ok(1));
    });
}

/// The queue alone: two producers race for a block's last slot and the
/// first slot of the next block (the loser waits while the winner installs
/// the block) while a consumer takes values and frees the full block; then
/// a fourth push takes the recycled block. Every value comes out once.
#[test]
fn queue_producers_race_across_a_block_boundary() {
    loom::model(|| {
        let q = Arc::new(Queue::new());
        let before = u32::try_from(BLOCK_CAP - 1).unwrap();
        for v in 0..before {
            q.push(v);
        }
        let producers = [100, 200].map(|v| {
            let q = Arc::clone(&q);
            thread::spawn(move || q.push(v))
        });
        // Two pops race the producers (either may find nothing ready yet).
        let mut got: Vec<u32> = [q.pop(), q.pop()].into_iter().flatten().collect();
        for p in producers {
            p.join().unwrap();
        }
        got.extend(q.take_all());
        q.push(300);
        got.extend(q.take_all());
        got.sort_unstable();
        let mut want: Vec<u32> = (0..before).chain([100, 200, 300]).collect();
        want.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(q.pop(), None);
    });
}

/// The queue alone: a pop and a `take_all` race a producer that fills a
/// block's last slot (installing the next block) and the next block's first;
/// every value comes out exactly once, in order, and `take_all` never lets a
/// pop cut in between the values it takes.
#[test]
fn queue_consumers_race_a_producer_across_a_block_boundary() {
    loom::model(|| {
        let q = Arc::new(Queue::new());
        let n = u32::try_from(BLOCK_CAP).unwrap();
        for v in 0..n - 1 {
            q.push(v);
        }
        let producer = {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                q.push(n - 1);
                q.push(n);
            })
        };
        let popper = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.pop())
        };
        let taken = q.take_all();
        let popped = popper.join().unwrap();
        producer.join().unwrap();
        if let (Some(p), Some(&first), Some(&last)) = (popped, taken.first(), taken.last()) {
            // One consumer went first: the popped value is older or newer
            // than everything `take_all` took, never in between.
            assert!(p < first || p > last, "take_all let a pop cut in");
        }
        assert!(
            taken.windows(2).all(|w| w[0] < w[1]),
            "take_all keeps order"
        );
        let mut all: Vec<u32> = taken.iter().copied().chain(popped).collect();
        all.extend(q.take_all());
        all.sort_unstable();
        assert_eq!(all, (0..=n).collect::<Vec<_>>());
    });
}
