//! `SharedBytes` through `Pool`'s `map`, `imap`, `imap_unordered` and
//! `apply_async`, with every start method: whole values, in order, a
//! worker's death a typed error, and no descriptor or mapping left over.

mod common;

use common::{builder, clean, methods, shared_payloads_held, watchdog};
use mp_pool::{PoolError, SharedBytes, TaskError};

const T: usize = SharedBytes::THRESHOLD;

fn make(len: usize) -> SharedBytes {
    SharedBytes::from(
        (0..len)
            .map(|i| (i as u8).wrapping_add(len as u8))
            .collect::<Vec<u8>>(),
    )
}

fn echo(data: SharedBytes) -> SharedBytes {
    data
}

fn die_on_odd_len(data: SharedBytes) -> usize {
    if data.len() % 2 == 1 {
        std::process::abort();
    }
    data.len()
}

#[test]
fn shared_buffers_through_every_pool_operation() {
    let clean = clean();
    watchdog("SharedBytes through Pool", || {
        for method in methods() {
            let pool = builder().processes(3).start_method(method).build().unwrap();
            let lens: Vec<usize> = (0..90).map(|i| T - 2 + i).collect();
            for chunksize in [None, Some(1), Some(7), Some(90)] {
                let got = pool.map(make, lens.clone(), chunksize).unwrap();
                assert_eq!(got.len(), lens.len());
                for (b, &len) in got.iter().zip(&lens) {
                    assert_eq!(*b, make(len), "{method:?} {chunksize:?}");
                }
                let back = pool.map(echo, got.clone(), chunksize).unwrap();
                assert_eq!(back, got, "{method:?} {chunksize:?}");
            }
            let got: Vec<SharedBytes> = pool
                .imap(make, lens.clone(), 4)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(got, lens.iter().map(|&n| make(n)).collect::<Vec<_>>());
            let mut unordered: Vec<SharedBytes> = pool
                .imap_unordered(echo, got.clone(), 5)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            unordered.sort_by_key(|b| b.len());
            assert_eq!(unordered, got, "{method:?}");
            let asyncs: Vec<_> = lens
                .iter()
                .map(|&n| pool.apply_async(make, n).unwrap())
                .collect();
            for (result, &n) in asyncs.into_iter().zip(&lens) {
                assert_eq!(result.get(common::GUARD), Ok(&make(n)));
            }
            pool.close();
            pool.join().unwrap();
        }
    });
    assert_eq!(
        shared_payloads_held(),
        (0, 0),
        "the parent still holds shared payloads"
    );
    clean.check();
}

#[test]
fn a_worker_that_dies_holding_a_shared_buffer() {
    let clean = clean();
    watchdog("a worker dies holding a shared buffer", || {
        for method in methods() {
            let pool = builder().processes(2).start_method(method).build().unwrap();
            let inputs: Vec<SharedBytes> = (0..12).map(|i| make(T + 2 * i)).collect();
            assert_eq!(
                pool.map(die_on_odd_len, inputs.clone(), Some(3)),
                Ok((0..12).map(|i| T + 2 * i).collect())
            );
            let error = pool
                .map(die_on_odd_len, vec![make(T), make(T + 1)], Some(1))
                .unwrap_err();
            assert!(
                matches!(error, PoolError::Task(TaskError::Died { .. })),
                "{method:?}: {error:?}"
            );
            let data = make(3 * T);
            assert_eq!(pool.apply(echo, data.clone()), Ok(data));
            pool.terminate();
            pool.join().unwrap();
        }
    });
    assert_eq!(
        shared_payloads_held(),
        (0, 0),
        "the parent still holds shared payloads"
    );
    clean.check();
}
