//! `terminate` (and so `Drop`) cannot hang on a worker that ignores
//! SIGTERM: it gets SIGKILL after the grace period.

mod common;

use common::signals::ignore_sigterm;
use common::{GUARD, Gate, Step, clean, methods, watchdog};
use mp_pool::{Pool, PoolError};

/// A task that makes its worker ignore SIGTERM, then runs `step`.
fn ignore_sigterm_then(step: Step) -> u64 {
    ignore_sigterm();
    common::step(step)
}

/// `terminate` returns although the running job's worker ignores SIGTERM
/// (with the default grace period), and that job is terminated; so does
/// dropping a pool in the same state.
#[test]
fn terminate_and_drop_return_though_a_worker_ignores_sigterm() {
    for method in methods() {
        for by_drop in [false, true] {
            let clean = clean();
            watchdog(&format!("{method:?} drop={by_drop}"), move || {
                let pool = Pool::builder()
                    .processes(2)
                    .start_method(method)
                    .build()
                    .unwrap();
                let gate = Gate::new("mp-ignores-sigterm");
                let job = pool.apply_async(ignore_sigterm_then, gate.step()).unwrap();
                gate.wait_started();
                if by_drop {
                    drop(pool);
                } else {
                    pool.terminate();
                }
                assert_eq!(job.get(GUARD), Err(PoolError::Terminated));
                drop(gate);
            });
            clean.check();
        }
    }
}
