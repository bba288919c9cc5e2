//! A chunk's outcomes always go to their own items: a result or a panic
//! message too large for the frame fails its item alone (cut to fit), and
//! no item ever gets another's value, whatever the sizes, the frame limit
//! and the failures in the chunk. Every test runs under a hang guard and
//! ends with the leak check.

mod common;

use common::hostile::{Bomb, Hostile, mark_parent};
use common::{GUARD, Rng, chosen_method, clean, methods, quiet_panics, watchdog};
use proc_exec::{ChunkFuture, Function, ProcessPoolExecutor, StartMethod, TaskError};
use serde::{Deserialize, Serialize};

fn pool(method: StartMethod, max_frame_size: u32) -> ProcessPoolExecutor {
    mark_parent();
    quiet_panics("on purpose");
    ProcessPoolExecutor::builder()
        .max_workers(2)
        .start_method(method)
        .max_frame_size(max_frame_size)
        .build()
        .unwrap()
}

fn results<R, E>(chunk: ChunkFuture<R, E>) -> Vec<Result<R, TaskError<E>>>
where
    R: serde::de::DeserializeOwned + Send + Sync + 'static,
    E: std::fmt::Debug + Send + Sync + 'static,
{
    match chunk.into_result() {
        Ok(items) => items.collect(),
        Err(error) => panic!("the whole chunk failed: {error:?}"),
    }
}

fn make_string(n: usize) -> String {
    "x".repeat(n)
}

fn shout(n: usize) -> u32 {
    panic!("{} on purpose", "x".repeat(n))
}

fn unit(_: ()) {}

fn answer(n: u64) -> u64 {
    n
}

#[test]
fn a_result_too_large_for_the_frame_fails_its_own_item_only() {
    let clean = clean();
    watchdog(
        "a result too large for the frame fails its own item only",
        || {
            let pool = pool(chosen_method(), 1024);
            let too_large = |item: &Result<String, TaskError>| matches!(item, Err(TaskError::ResultTooLarge(m)) if !m.is_empty());
            // 4 (count) + 5 + 1002 = 1011 bytes hold the first result. The
            // second does not fit, and takes 5 bytes as an error; "xx" (8 bytes)
            // still fits in the 8 left, "xxx" (9) does not.
            for (last, fits) in [(2, true), (3, false)] {
                let chunk = pool.submit_chunk(Function::new(make_string), &[1000, 100, last]);
                let items = results(chunk.unwrap());
                assert_eq!(items.len(), 3);
                assert_eq!(items[0], Ok("x".repeat(1000)));
                assert!(too_large(&items[1]), "{:?}", items[1]);
                if fits {
                    assert_eq!(items[2], Ok("x".repeat(last)));
                } else {
                    assert!(too_large(&items[2]), "{:?}", items[2]);
                }
            }
        },
    );
    clean.check();
}

#[test]
fn a_panic_message_longer_than_the_frame_is_cut_and_the_pool_goes_on() {
    let clean = clean();
    watchdog(
        "a panic message longer than the frame is cut and the pool goes on",
        || {
            let pool = pool(chosen_method(), 1024);
            let items = results(pool.submit_chunk(Function::new(shout), &[5000, 3]).unwrap());
            for (item, n) in items.iter().zip([5000, 3]) {
                match item {
                    Err(TaskError::Panicked(message)) if n == 5000 => {
                        assert!(message.len() < 1024, "{}", message.len());
                        assert!(message.starts_with("xxxx") && message.ends_with("..."));
                    }
                    Err(TaskError::Panicked(message)) => {
                        assert!(message.starts_with("xxx on purpose"), "{message}")
                    }
                    other => panic!("{other:?}"),
                }
            }
            match pool.submit(shout, 5000).unwrap().into_result() {
                Err(future_core::ResultError::Failed(TaskError::Panicked(message))) => {
                    assert!(message.len() < 1024 && message.ends_with("..."))
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(pool.submit(answer, 7).unwrap().result(GUARD), Ok(&7));
        },
    );
    clean.check();
}

#[test]
fn a_chunk_no_frame_could_answer_is_refused_and_one_that_just_fits_runs() {
    let clean = clean();
    watchdog(
        "a chunk no frame could answer is refused and one that just fits runs",
        || {
            let pool = pool(chosen_method(), 1024);
            // A 4-byte count and 5 bytes per empty item: 204 items fill 1024.
            let fits = results(pool.submit_chunk(Function::new(unit), &[(); 204]).unwrap());
            assert_eq!(fits.len(), 204);
            assert!(fits.iter().all(|item| item.is_ok()));
            match pool.submit_chunk(Function::new(unit), &[(); 205]) {
                Err(error) => assert!(error.to_string().contains("cannot be answered"), "{error}"),
                Ok(_) => panic!("a chunk no Done frame can answer was accepted"),
            }
            assert_eq!(pool.submit(answer, 7).unwrap().result(GUARD), Ok(&7));
        },
    );
    clean.check();
}

/// What an item of the property test does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Act {
    /// Returns its text.
    Value,
    /// Returns `Err(id)`.
    Raise,
    /// Panics with a message as long as its text.
    Panic,
    /// Returns a value whose `Serialize` panics.
    SerializePanics,
    /// Returns a value whose `Drop` panics (in the worker).
    DropPanics,
    /// Its argument's `Deserialize` panics in the worker.
    ArgPanics,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Plan {
    id: u32,
    size: u32,
    act: Act,
    /// A bomb for the argument's own decoding.
    arg: Hostile,
}

/// The text item `id` of `size` returns.
fn text(id: u32, size: u32) -> String {
    format!("{id}:{}", "y".repeat(size as usize))
}

fn act(plan: Plan) -> Result<Hostile, u32> {
    let text = text(plan.id, plan.size);
    match plan.act {
        Act::Value | Act::ArgPanics => Ok(Hostile::new(text, Bomb::None)),
        Act::Raise => Err(plan.id),
        Act::Panic => panic!("item {} panicked on purpose {text}", plan.id),
        Act::SerializePanics => Ok(Hostile::new(text, Bomb::SerializeInWorker)),
        Act::DropPanics => Ok(Hostile::new(text, Bomb::DropInWorker)),
    }
}

/// Whether `cut` (a text perhaps cut to fit, ending in "...", or cut to
/// nothing and replaced by the parent's "no room" text) is `start` or a
/// longer text beginning with it, or a beginning of `start`.
fn begins(cut: &str, start: &str) -> bool {
    if cut.contains("no room") {
        return true;
    }
    let cut = cut.strip_suffix("...").unwrap_or(cut);
    cut.starts_with(start) || start.starts_with(cut)
}

/// Checks item `i` of a chunk: its own value, or an error its own plan
/// explains.
fn check(plans: &[Plan], i: usize, outcome: Result<Hostile, TaskError<u32>>) {
    let plan = &plans[i];
    let id = plan.id;
    let arg_failed = plans[..=i].iter().any(|p| p.act == Act::ArgPanics);
    let fine = match (&outcome, plan.act) {
        (_, _) if arg_failed => matches!(&outcome, Err(TaskError::ArgDecode(_))),
        (Ok(value), Act::Value) => value.text == text(id, plan.size),
        (Err(TaskError::Raised(raised)), Act::Raise) => *raised == id,
        (Err(TaskError::ResultTooLarge(_)), Act::Value | Act::Raise) => true,
        (Err(TaskError::Panicked(message)), Act::Panic) => {
            begins(message, &format!("item {id} panicked on purpose"))
        }
        (Err(TaskError::Panicked(message)), Act::DropPanics) => begins(
            message,
            "dropping the result panicked: Drop panicked on purpose",
        ),
        (Err(TaskError::ResultEncode(message)), Act::SerializePanics) => begins(
            message,
            "the result's Serialize panicked: Serialize panicked",
        ),
        _ => false,
    };
    assert!(fine, "item {i} of {plans:?}: {outcome:?}");
}

/// Random chunks (sizes, failures) under random frame limits: item i's
/// outcome is always its own value or an error for item i, and the pool is
/// never broken by it.
#[test]
fn every_outcome_goes_to_its_own_item() {
    let clean = clean();
    let seed = common::soak_seed();
    println!("seed {seed} (SOAK_SEED={seed} replays it)");
    watchdog("every outcome goes to its own item", move || {
        let mut rng = Rng::new(seed);
        let mut id = 0;
        let mut items = 0;
        let methods = methods();
        for round in 0..8 {
            let method = methods[round % methods.len()];
            let max = 1024 + rng.below(4096) as u32;
            let pool = pool(method, max);
            let mut chunks = Vec::new();
            for _ in 0..25 {
                let plans: Vec<Plan> = (0..1 + rng.below(12))
                    .map(|_| {
                        id += 1;
                        let act = match rng.below(100) {
                            0..50 => Act::Value,
                            50..60 => Act::Raise,
                            60..75 => Act::Panic,
                            75..85 => Act::SerializePanics,
                            85..95 => Act::DropPanics,
                            _ => Act::ArgPanics,
                        };
                        let bomb = match act {
                            Act::ArgPanics => Bomb::DeserializeInWorker,
                            _ => Bomb::None,
                        };
                        let size = match rng.below(4) {
                            0 => rng.below(4000),
                            _ => rng.below(300),
                        } as u32;
                        Plan {
                            id,
                            size,
                            act,
                            arg: Hostile::new("", bomb),
                        }
                    })
                    .collect();
                let chunk = pool.submit_chunk(Function::fallible(act), &plans).unwrap();
                chunks.push((plans, chunk));
            }
            for (plans, chunk) in chunks {
                let outcomes = results(chunk);
                assert_eq!(outcomes.len(), plans.len(), "max {max}: {plans:?}");
                for (i, outcome) in outcomes.into_iter().enumerate() {
                    check(&plans, i, outcome);
                    items += 1;
                }
            }
            assert_eq!(pool.submit(answer, 7).unwrap().result(GUARD), Ok(&7));
        }
        assert!(items > 500, "{items}");
    });
    clean.check();
}
