//! `SharedBytes` arguments and results cross in shared memory: the bytes
//! arrive whole, both ways, with every start method, and the descriptors
//! and mappings do not outlive the buffers, also when the task's worker
//! dies holding one.

mod common;

use common::{clean, shared_payloads_held, watchdog};
use proc_exec::{
    OnWorkerDeath, ProcessPoolExecutor, ResultError, SharedBytes, StartMethod, TaskError,
};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn echo(data: SharedBytes) -> SharedBytes {
    data
}

fn reversed(data: SharedBytes) -> SharedBytes {
    let mut bytes = data.to_vec();
    bytes.reverse();
    SharedBytes::from(bytes)
}

fn sum_and_check(data: SharedBytes) -> (bool, u64) {
    (data.is_shared(), data.iter().map(|&b| u64::from(b)).sum())
}

fn pool(method: StartMethod) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(2)
        .start_method(method)
        .build()
        .unwrap()
}

#[test]
fn large_buffers_cross_both_ways_with_every_start_method() {
    let clean = clean();
    watchdog("shared buffers both ways", || {
        for method in [
            StartMethod::Fork,
            StartMethod::ForkServer,
            StartMethod::Spawn,
        ] {
            let pool = pool(method);
            let data = SharedBytes::from(pattern(3 << 20, 5));
            assert!(data.is_shared());
            let (shared, sum) = pool
                .submit(sum_and_check, data.clone())
                .unwrap()
                .into_result()
                .unwrap();
            assert!(shared, "{method:?}: the worker got a copy, not the mapping");
            assert_eq!(sum, data.iter().map(|&b| u64::from(b)).sum::<u64>());
            let back = pool
                .submit(echo, data.clone())
                .unwrap()
                .into_result()
                .unwrap();
            assert!(back.is_shared());
            assert_eq!(back, data);
            let mut expected = data.to_vec();
            expected.reverse();
            let back = pool.submit(reversed, data).unwrap().into_result().unwrap();
            assert_eq!(&back[..], &expected[..], "{method:?}");
            // Small ones keep the inline path.
            let small = SharedBytes::from(pattern(100, 1));
            let back = pool
                .submit(echo, small.clone())
                .unwrap()
                .into_result()
                .unwrap();
            assert!(!back.is_shared());
            assert_eq!(back, small);
            pool.shutdown(true, false);
        }
    });
    assert_eq!(
        shared_payloads_held(),
        (0, 0),
        "the parent still holds shared payloads"
    );
    clean.check();
}

fn pair_sum(args: (SharedBytes, SharedBytes)) -> u64 {
    args.0
        .iter()
        .chain(args.1.iter())
        .map(|&b| u64::from(b))
        .sum()
}

#[test]
fn chunks_and_several_buffers_per_task() {
    let clean = clean();
    watchdog("chunks of shared buffers", || {
        let pool = pool(StartMethod::Fork);
        let a = SharedBytes::from(pattern(1 << 17, 2));
        let b = SharedBytes::from(pattern(1 << 18, 3));
        let want: u64 = a.iter().chain(b.iter()).map(|&x| u64::from(x)).sum();
        let got = pool
            .submit(pair_sum, (a.clone(), b.clone()))
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(got, want);
        let inputs: Vec<SharedBytes> = (0..8)
            .map(|i| SharedBytes::from(pattern(1 << 17, i)))
            .collect();
        let outputs: Vec<SharedBytes> = pool
            .map(echo, inputs.clone())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(outputs, inputs);
        pool.shutdown(true, false);
        // Only the index and length are in the frame: a shared payload far
        // above the maximum frame size crosses both ways.
        let small_frames = ProcessPoolExecutor::builder()
            .max_workers(1)
            .max_frame_size(4096)
            .build()
            .unwrap();
        let large = SharedBytes::from(pattern(4 << 20, 6));
        let back = small_frames
            .submit(echo, large.clone())
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(back, large);
        small_frames.shutdown(true, false);
    });
    assert_eq!(
        shared_payloads_held(),
        (0, 0),
        "the parent still holds shared payloads"
    );
    clean.check();
}

fn die_holding(data: SharedBytes) -> u64 {
    if data[0] != 0 {
        // SAFETY: ends this worker process at once, as a crash would.
        unsafe { libc::_exit(9) };
    }
    0
}

fn panic_holding(data: SharedBytes) -> u64 {
    panic!("holding {} bytes", data.len())
}

fn kill_holding(data: SharedBytes) -> u64 {
    let first = u64::from(data[0]);
    // SAFETY: signals our own process.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    first
}

#[test]
fn nothing_leaks_when_a_task_dies_holding_a_mapping() {
    let clean = clean();
    watchdog("a task dies holding a mapping", || {
        for method in [StartMethod::Fork, StartMethod::ForkServer] {
            let pool = ProcessPoolExecutor::builder()
                .max_workers(2)
                .start_method(method)
                .on_worker_death(OnWorkerDeath::Replace)
                .build()
                .unwrap();
            for task in [
                die_holding as fn(SharedBytes) -> u64,
                panic_holding,
                kill_holding,
            ] {
                let data = SharedBytes::from(pattern(1 << 20, 9));
                let result = pool.submit(task, data).unwrap().into_result();
                assert!(result.is_err(), "{method:?}");
                if let Err(ResultError::Failed(TaskError::Panicked(message))) = &result {
                    assert!(message.contains("holding 1048576 bytes"), "{message}");
                }
            }
            // Items queued behind a dying task: their descriptors, sent to
            // the dead worker's socket, are dropped with it; the items run
            // on another worker.
            let doomed = pool
                .submit(die_holding, SharedBytes::from(pattern(1 << 20, 9)))
                .unwrap();
            let queued: Vec<_> = (0..6)
                .map(|i| {
                    let data = SharedBytes::from(pattern(1 << 18, i));
                    (pool.submit(echo, data.clone()).unwrap(), data)
                })
                .collect();
            assert!(doomed.into_result().is_err());
            for (future, data) in queued {
                assert_eq!(future.into_result().unwrap(), data, "{method:?}");
            }
            // Work goes on after the deaths.
            let data = SharedBytes::from(pattern(1 << 20, 4));
            let back = pool
                .submit(echo, data.clone())
                .unwrap()
                .into_result()
                .unwrap();
            assert_eq!(back, data);
            drop((back, data));
            pool.shutdown(true, false);
            assert_eq!(
                shared_payloads_held(),
                (0, 0),
                "{method:?}: the parent still holds shared payloads"
            );
        }
    });
    assert_eq!(
        shared_payloads_held(),
        (0, 0),
        "the parent still holds shared payloads"
    );
    clean.check();
}

/// Encodes as a `SharedBytes` does (same variants, same order).
#[derive(serde::Serialize)]
enum Forged {
    #[allow(dead_code)]
    Inline(Vec<u8>),
    Shared(u32, u64),
}

/// A value that decodes as a `SharedBytes` but may encode a lie: a shared
/// payload with whatever index and length, optionally after registering a
/// real buffer's descriptor (index 0) as a real one would.
#[derive(Debug)]
enum Claim {
    Forge(u32, u64, Option<SharedBytes>),
    Got(SharedBytes),
}

impl serde::Serialize for Claim {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Claim::Forge(index, len, real) => {
                if let Some(real) = real {
                    let _ = postcard::to_allocvec(real);
                }
                Forged::Shared(*index, *len).serialize(serializer)
            }
            Claim::Got(bytes) => bytes.serialize(serializer),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Claim {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SharedBytes::deserialize(deserializer).map(Claim::Got)
    }
}

/// Claims a shared payload no descriptor was sent for.
fn forge_missing(_: u64) -> Claim {
    Claim::Forge(3, 1 << 20, None)
}

/// Sends a real 1 MiB memfd but announces one byte more.
fn forge_size(_: u64) -> Claim {
    let real = SharedBytes::from(pattern(1 << 20, 1));
    Claim::Forge(0, real.len() as u64 + 1, Some(real))
}

fn len_of(data: SharedBytes) -> usize {
    data.len()
}

fn len_of_claim(data: Claim) -> usize {
    match data {
        Claim::Got(bytes) => bytes.len(),
        Claim::Forge(..) => usize::MAX,
    }
}

fn decode_error(error: ResultError<TaskError>) -> String {
    match error {
        ResultError::Failed(TaskError::ResultDecode(message) | TaskError::ArgDecode(message)) => {
            message
        }
        other => panic!("not a decode error: {other:?}"),
    }
}

#[test]
fn a_shared_payload_without_its_descriptor_or_of_the_wrong_size_is_a_decode_error() {
    let clean = clean();
    watchdog("malformed shared payloads", || {
        let pool = pool(StartMethod::Fork);
        let error = pool
            .submit(forge_missing, 0)
            .unwrap()
            .into_result()
            .unwrap_err();
        assert!(
            matches!(error, ResultError::Failed(TaskError::ResultDecode(_))),
            "{error:?}"
        );
        let message = decode_error(error);
        assert!(
            message.contains("shared payload #3 (1048576 bytes) has no descriptor"),
            "{message}"
        );
        let error = pool
            .submit(forge_size, 0)
            .unwrap()
            .into_result()
            .unwrap_err();
        let message = decode_error(error);
        assert!(
            message.contains("announced with 1048577 bytes, its memfd holds 1048576"),
            "{message}"
        );
        // The parent's side: an argument that claims a descriptor the
        // parent did not send is the worker's `ArgDecode`.
        let error = pool
            .submit(len_of_claim, Claim::Forge(0, 1 << 20, None))
            .unwrap()
            .into_result()
            .unwrap_err();
        assert!(
            matches!(error, ResultError::Failed(TaskError::ArgDecode(_))),
            "{error:?}"
        );
        let message = decode_error(error);
        assert!(
            message.contains("has no descriptor beside its frame"),
            "{message}"
        );
        // The pool goes on.
        let data = SharedBytes::from(pattern(1 << 20, 2));
        assert_eq!(
            pool.submit(len_of, data).unwrap().into_result().unwrap(),
            1 << 20
        );
        pool.shutdown(true, false);
    });
    assert_eq!(
        shared_payloads_held(),
        (0, 0),
        "the parent still holds shared payloads"
    );
    clean.check();
}
