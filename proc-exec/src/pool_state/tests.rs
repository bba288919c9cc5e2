use super::*;

/// Payloads and records are the item's number, statuses are exit codes.
struct T;
impl Spec for T {
    type Payload = u32;
    type Record = u32;
    type Status = i32;
}

fn limits(max_workers: usize, max_in_flight: usize, max_tasks: Option<usize>) -> Limits {
    Limits {
        max_workers: NonZeroUsize::new(max_workers).unwrap(),
        max_in_flight: NonZeroUsize::new(max_in_flight).unwrap(),
        slow_in_flight: NonZeroUsize::new(max_in_flight).unwrap(),
        max_tasks_per_child: max_tasks.map(|n| NonZeroUsize::new(n).unwrap()),
        on_death: OnWorkerDeath::BreakPool,
    }
}

/// A pool plus the driver's side of the bookkeeping: it spawns at once
/// (pid = 1000 + worker id) and records every action it sees.
struct Harness {
    state: PoolState<T>,
    sent: Vec<(WorkerId, WorkId, u32)>,
    exits_sent: Vec<WorkerId>,
    signals: Vec<(u32, Signal)>,
    resolved: Vec<(u32, Failure<i32>)>,
    closed: bool,
}

impl Harness {
    fn new(limits: Limits) -> Self {
        Self {
            state: PoolState::new(limits),
            sent: Vec::new(),
            exits_sent: Vec::new(),
            signals: Vec::new(),
            resolved: Vec::new(),
            closed: false,
        }
    }

    /// Runs the actions; spawned workers report `Ready` at once.
    fn pump(&mut self) {
        while let Some(action) = self.state.poll_action() {
            assert!(!self.closed, "an action after Closed: {action:?}");
            match action {
                Action::Spawn { worker } => {
                    self.state.spawned(worker, 1000 + worker);
                    self.state.ready(worker).unwrap();
                }
                Action::Send {
                    worker,
                    work,
                    payload,
                } => self.sent.push((worker, work, payload)),
                Action::SendExit { worker } => self.exits_sent.push(worker),
                Action::Signal { pid, signal, .. } => self.signals.push((pid, signal)),
                Action::Resolve {
                    record, failure, ..
                } => self.resolved.push((record, failure)),
                Action::Closed => self.closed = true,
            }
        }
    }

    fn submit(&mut self, n: u32) -> WorkId {
        let work = self.state.submit(n, n).map_err(|e| e.0).unwrap();
        self.pump();
        work
    }

    fn done(&mut self, worker: WorkerId, work: WorkId) -> u32 {
        let record = self.state.done(worker, work).unwrap();
        self.pump();
        record
    }

    fn exit(&mut self, worker: WorkerId, code: i32) {
        self.state.exited(worker, code, code == 0);
        self.pump();
    }

    fn workers_sent_to(&self) -> Vec<WorkerId> {
        self.sent.iter().map(|s| s.0).collect()
    }
}

#[test]
fn one_at_a_time_reuses_one_worker() {
    let mut h = Harness::new(limits(4, 2, None));
    for n in 0..3 {
        let work = h.submit(n);
        assert_eq!(h.done(0, work), n);
    }
    assert_eq!(h.workers_sent_to(), [0, 0, 0]);
    assert_eq!(h.state.live_workers(), 1);
}

#[test]
fn spawns_up_to_max_workers_then_pipelines_then_queues() {
    let mut h = Harness::new(limits(2, 2, None));
    for n in 0..6 {
        h.submit(n);
    }
    assert_eq!(h.state.live_workers(), 2);
    // Idle worker first, then a new one, then fill the pipelines evenly.
    assert_eq!(h.workers_sent_to(), [0, 1, 0, 1]);
    assert_eq!(h.state.unresolved(), 6);
    // Results free room: queued items follow, in order.
    h.done(0, 1);
    assert_eq!(h.sent.last().map(|s| (s.0, s.2)), Some((0, 4)));
}

/// A worker takes `slow_in_flight` items until the driver finds its items
/// quick, then up to `max_in_flight` (queued items go to it at once); found
/// slow again, it takes no more until it is below `slow_in_flight`.
#[test]
fn pace_widens_and_narrows_a_workers_window() {
    let mut h = Harness::new(Limits {
        slow_in_flight: NonZeroUsize::new(2).unwrap(),
        ..limits(1, 5, None)
    });
    for n in 0..8 {
        h.submit(n);
    }
    assert_eq!(h.sent.len(), 2, "the slow window first");
    assert!(h.state.pace(0, true), "busy");
    h.pump();
    assert_eq!(h.sent.len(), 5, "widened: queued items follow at once");
    assert!(h.state.pace(0, false));
    h.pump();
    for work in 1..=3 {
        h.done(0, work);
        assert_eq!(h.sent.len(), 5, "nothing more above the slow window");
    }
    h.done(0, 4);
    assert_eq!(h.sent.len(), 6, "below it again: one more");
    assert!(h.state.busy(0));
    assert!(!h.state.pace(7, true), "an unknown worker is not busy");
}

#[test]
fn results_out_of_order_break_the_pool() {
    let mut h = Harness::new(limits(1, 2, None));
    h.submit(0);
    let second = h.submit(1);
    assert_eq!(h.state.done(0, second), Err(ProtocolViolation));
    h.pump();
    assert!(matches!(
        h.state.broken().map(|c| &**c),
        Some(BreakCause::Protocol {
            pid: Some(1000),
            ..
        })
    ));
    assert_eq!(h.resolved.len(), 2);
    assert_eq!(h.signals, [(1000, Signal::Terminate)]);
    h.exit(0, -15);
    assert!(h.closed);
}

#[test]
fn a_dead_worker_fails_everything_with_its_own_cause() {
    let mut h = Harness::new(limits(2, 1, None));
    for n in 0..3 {
        h.submit(n);
    }
    h.exit(0, -9);
    let cause = h.state.broken().cloned().unwrap();
    assert_eq!(
        *cause,
        BreakCause::WorkerDied {
            pid: Some(1000),
            status: -9,
            forced: false
        }
    );
    let mut on_worker: Vec<(u32, Option<u32>)> = h
        .resolved
        .iter()
        .map(|(n, f)| match f {
            Failure::Broken { on_worker, .. } => (*n, *on_worker),
            other => panic!("not a broken-pool failure: {other:?}"),
        })
        .collect();
    on_worker.sort();
    assert_eq!(on_worker, [(0, Some(1000)), (1, Some(1001)), (2, None)]);
    // The survivor is terminated; later submits are refused with the cause.
    assert_eq!(h.signals, [(1001, Signal::Terminate)]);
    let refused = h.state.submit(9, 9).map_err(|e| e.0).unwrap_err();
    assert_eq!(refused, Refused::Broken(cause));
    assert!(!h.closed);
    h.exit(1, -15);
    assert!(h.closed);
}

#[test]
fn an_idle_worker_dying_breaks_the_pool_too() {
    let mut h = Harness::new(limits(1, 1, None));
    let work = h.submit(0);
    h.done(0, work);
    h.exit(0, 1);
    assert!(h.state.broken().is_some());
    assert!(h.closed);
    assert!(h.resolved.is_empty());
}

#[test]
fn shutdown_without_cancel_drains_then_exits_workers() {
    let mut h = Harness::new(limits(1, 1, None));
    let a = h.submit(0);
    h.submit(1);
    assert!(h.state.shutdown(false).is_empty());
    h.pump();
    assert_eq!(
        h.state.submit(2, 2).map_err(|e| e.0).unwrap_err(),
        Refused::Shutdown
    );
    assert!(h.exits_sent.is_empty());
    h.done(0, a);
    let b = h.sent[1].1;
    h.done(0, b);
    assert_eq!(h.exits_sent, [0]);
    assert!(!h.closed);
    h.exit(0, 0);
    assert!(h.closed);
    assert!(h.resolved.is_empty());
}

#[test]
fn shutdown_with_cancel_cancels_only_what_was_not_sent() {
    let mut h = Harness::new(limits(1, 1, None));
    let a = h.submit(0);
    h.submit(1);
    h.submit(2);
    let cancelled = h.state.shutdown(true);
    assert!(h.state.shutdown(true).is_empty());
    h.pump();
    assert_eq!(cancelled, [1, 2]);
    assert!(h.resolved.is_empty());
    assert!(h.exits_sent.is_empty(), "item 0 still runs");
    h.done(0, a);
    assert_eq!(h.exits_sent, [0]);
    h.exit(0, 0);
    assert!(h.closed);
}

#[test]
fn shutdown_of_an_unused_pool_closes_at_once() {
    let mut h = Harness::new(limits(2, 1, None));
    assert!(h.state.shutdown(false).is_empty());
    h.pump();
    assert!(h.closed);
}

#[test]
fn max_tasks_per_child_replaces_each_worker_after_its_items() {
    let mut h = Harness::new(limits(1, 2, Some(2)));
    for n in 0..5 {
        h.submit(n);
    }
    // Two items then Exit to worker 0; nothing more until it is gone.
    assert_eq!(h.workers_sent_to(), [0, 0]);
    assert_eq!(h.exits_sent, [0]);
    let mut finished = 0;
    let mut worker = 0;
    while finished < 5 {
        let mine: Vec<WorkId> = h
            .sent
            .iter()
            .filter(|s| s.0 == worker)
            .map(|s| s.1)
            .collect();
        for work in mine {
            h.done(worker, work);
            finished += 1;
        }
        if h.exits_sent.contains(&worker) {
            h.exit(worker, 0);
            worker += 1;
        }
    }
    assert_eq!(h.workers_sent_to(), [0, 0, 1, 1, 2]);
    assert_eq!(h.state.live_workers(), 1, "the last one is not retired yet");
    assert!(h.resolved.is_empty());
    assert!(h.state.broken().is_none());
}

#[test]
fn a_retiring_worker_that_exits_early_breaks_the_pool() {
    let mut h = Harness::new(limits(1, 2, Some(2)));
    h.submit(0);
    h.submit(1);
    // Exit was sent, but an item is still in flight: a crash, not a retirement.
    h.exit(0, 0);
    assert!(h.state.broken().is_some());
    assert_eq!(h.resolved.len(), 2);
}

#[test]
fn withdrawn_items_free_their_place() {
    let mut h = Harness::new(limits(1, 1, Some(1)));
    let a = h.submit(0);
    h.submit(1);
    assert_eq!(h.exits_sent, [0]);
    // The driver found item 0 cancelled and did not send it.
    assert_eq!(h.state.withdraw(0, a), Some(0));
    h.pump();
    assert_eq!(h.state.withdraw(0, a), None);
    assert_eq!(h.state.unresolved(), 1);
    // Worker 0 was told to exit already; the replacement takes item 1.
    h.exit(0, 0);
    assert_eq!(h.workers_sent_to(), [0, 1]);
}

#[test]
fn terminate_signals_every_worker_and_running_items_fail() {
    let mut h = Harness::new(limits(2, 1, None));
    for n in 0..3 {
        h.submit(n);
    }
    assert_eq!(
        h.state.terminate(Signal::Kill),
        [2],
        "the queued item is cancelled"
    );
    h.pump();
    assert_eq!(h.signals, [(1000, Signal::Kill), (1001, Signal::Kill)]);
    h.exit(0, -9);
    h.exit(1, -9);
    assert!(matches!(
        h.state.broken().map(|c| &**c),
        Some(BreakCause::WorkerDied { forced: true, .. })
    ));
    assert_eq!(h.resolved.len(), 2);
    assert!(h.closed);
}

/// The caller of `terminate` sends the signals it can itself: those leave
/// the queue, the others stay in order; the pool counts as stopping.
#[test]
fn signals_sent_by_the_caller_leave_the_queue() {
    let mut h = Harness::new(limits(2, 1, None));
    for n in 0..2 {
        h.submit(n);
    }
    assert!(!h.state.stopping());
    assert!(h.state.terminate(Signal::Terminate).is_empty());
    assert!(h.state.stopping());
    let mut offered = Vec::new();
    h.state.signals_sent(|worker, signal| {
        offered.push((worker, signal));
        worker == 0
    });
    assert_eq!(offered, [(0, Signal::Terminate), (1, Signal::Terminate)]);
    h.pump();
    assert_eq!(
        h.signals,
        [(1001, Signal::Terminate)],
        "only worker 1's is left"
    );
}

#[test]
fn a_signal_for_a_worker_still_spawning_waits_for_its_pid() {
    let mut state = PoolState::<T>::new(limits(1, 1, None));
    state.submit(0, 0).map_err(|e| e.0).unwrap();
    assert!(matches!(
        state.poll_action(),
        Some(Action::Spawn { worker: 0 })
    ));
    assert!(matches!(state.poll_action(), Some(Action::Send { .. })));
    assert!(state.terminate(Signal::Terminate).is_empty());
    assert!(state.poll_action().is_none());
    state.spawned(0, 77);
    assert!(matches!(
        state.poll_action(),
        Some(Action::Signal {
            pid: 77,
            signal: Signal::Terminate,
            ..
        })
    ));
}

#[test]
fn spawn_failure_and_initializer_failure_break_the_pool() {
    let mut state = PoolState::<T>::new(limits(1, 1, None));
    state.submit(0, 0).map_err(|e| e.0).unwrap();
    state.spawn_failed(0, "EAGAIN".into());
    let actions: Vec<_> = std::iter::from_fn(|| state.poll_action()).collect();
    assert!(matches!(actions.last(), Some(Action::Closed)));
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Resolve { record: 0, .. }))
    );
    assert_eq!(
        state.broken().unwrap().to_string(),
        "a worker could not be started: EAGAIN"
    );

    let mut h = Harness::new(limits(1, 1, None));
    h.submit(0);
    h.state.init_failed(0, "no config".into());
    h.pump();
    assert_eq!(
        h.state.broken().unwrap().to_string(),
        "the initializer failed in worker 1000: no config"
    );
    assert_eq!(h.resolved.len(), 1);
}

#[test]
fn results_before_ready_and_double_ready_are_violations() {
    let mut state = PoolState::<T>::new(limits(1, 1, None));
    let work = state.submit(0, 0).map_err(|e| e.0).unwrap();
    state.spawned(0, 5);
    assert_eq!(state.done(0, work), Err(ProtocolViolation));
    assert!(state.broken().is_some());

    let mut h = Harness::new(limits(1, 1, None));
    h.submit(0);
    assert_eq!(h.state.ready(0), Err(ProtocolViolation));
}

/// A deterministic random walk over every event: the invariants hold after
/// each step and every item is resolved exactly once by the end.
#[test]
fn random_event_sequences_resolve_every_item_exactly_once() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..300 {
        let max_tasks = if round % 3 == 0 { Some(2) } else { None };
        let mut state = PoolState::<T>::new(limits(2, 2, max_tasks));
        let mut submitted = 0u32;
        let mut seen = std::collections::BTreeSet::new();
        let mut live: Vec<(WorkerId, Option<u32>)> = Vec::new();
        let mut sent: Vec<(WorkerId, WorkId)> = Vec::new();
        for _ in 0..60 {
            match next(9) {
                0..=2 => {
                    if state.submit(submitted, submitted).is_ok() {
                        submitted += 1;
                    }
                }
                3 | 4 => {
                    // The oldest item in flight on some worker finishes.
                    if let Some(i) = (!sent.is_empty()).then(|| next(sent.len() as u64) as usize) {
                        let (worker, _) = sent[i];
                        let first = sent.iter().position(|s| s.0 == worker).unwrap();
                        let (worker, work) = sent.remove(first);
                        if let Ok(record) = state.done(worker, work) {
                            assert!(seen.insert(record), "resolved twice");
                        }
                    }
                }
                5 => {
                    if let Some(&(worker, _)) = live.get(next(live.len().max(1) as u64) as usize) {
                        let code = if next(2) == 0 { 0 } else { -9 };
                        state.exited(worker, code, code == 0);
                        live.retain(|w| w.0 != worker);
                        sent.retain(|s| s.0 != worker);
                    }
                }
                6 => {
                    for record in state.shutdown(next(2) == 0) {
                        assert!(seen.insert(record), "resolved twice");
                    }
                }
                7 => {
                    if next(4) == 0 {
                        for record in state.terminate(Signal::Kill) {
                            assert!(seen.insert(record), "resolved twice");
                        }
                    }
                }
                _ => {
                    if let Some(&(worker, _)) = live.first() {
                        if next(8) == 0 {
                            state.malformed(worker, "garbage".into());
                        }
                    }
                }
            }
            while let Some(action) = state.poll_action() {
                match action {
                    Action::Spawn { worker } => {
                        state.spawned(worker, worker + 100);
                        let _ = state.ready(worker);
                        live.push((worker, Some(worker + 100)));
                    }
                    Action::Send { worker, work, .. } => sent.push((worker, work)),
                    Action::Resolve { record, .. } => {
                        assert!(seen.insert(record), "resolved twice");
                        sent.retain(|s| s.1 != WorkId::from(record) + 1);
                    }
                    Action::SendExit { .. } | Action::Signal { .. } | Action::Closed => {}
                }
            }
            state.check_invariants().unwrap();
        }
        // Finish: shut down, let everything in flight complete, workers exit.
        assert!(state.shutdown(false).is_empty());
        loop {
            while let Some(action) = state.poll_action() {
                match action {
                    Action::Spawn { worker } => {
                        state.spawned(worker, worker + 100);
                        let _ = state.ready(worker);
                        live.push((worker, Some(worker + 100)));
                    }
                    Action::Send { worker, work, .. } => sent.push((worker, work)),
                    Action::Resolve { record, .. } => assert!(seen.insert(record)),
                    _ => {}
                }
            }
            if let Some(i) = (!sent.is_empty()).then_some(0) {
                let (worker, work) = sent.remove(i);
                if let Ok(record) = state.done(worker, work) {
                    assert!(seen.insert(record), "resolved twice");
                }
            } else if let Some((worker, _)) = live.pop() {
                state.exited(worker, 0, true);
            } else {
                break;
            }
        }
        assert!(state.is_closed(), "round {round}: {state:?}");
        assert_eq!(
            seen.len() as u32,
            submitted,
            "round {round}: every item resolved once"
        );
    }
}

fn replacing(max_workers: usize, max_in_flight: usize) -> Limits {
    Limits {
        on_death: OnWorkerDeath::Replace,
        ..limits(max_workers, max_in_flight, None)
    }
}

#[test]
fn under_replace_only_the_running_item_fails_and_the_rest_move_on() {
    let mut h = Harness::new(replacing(1, 3));
    for n in 0..4 {
        h.submit(n);
    }
    // Worker 0 holds 0, 1, 2; item 3 waits in the queue. It dies running 0.
    assert_eq!(h.workers_sent_to(), [0, 0, 0]);
    h.exit(0, -9);
    assert_eq!(
        h.resolved,
        [(
            0,
            Failure::Died {
                pid: Some(1000),
                status: -9
            }
        )]
    );
    assert!(h.state.broken().is_none());
    // A replacement takes 1 and 2 again, first, then 3.
    let resent: Vec<(WorkerId, u32)> = h.sent[3..].iter().map(|s| (s.0, s.2)).collect();
    assert_eq!(resent, [(1, 1), (1, 2), (1, 3)]);
    for (work, n) in [(2, 1), (3, 2), (4, 3)] {
        assert_eq!(h.done(1, work), n);
    }
    assert!(h.state.shutdown(false).is_empty());
    h.pump();
    h.exit(1, 0);
    assert!(h.closed);
}

#[test]
fn under_replace_an_idle_death_is_replaced_only_when_work_comes() {
    let mut h = Harness::new(replacing(2, 1));
    let work = h.submit(0);
    h.done(0, work);
    h.exit(0, -11);
    assert!(h.resolved.is_empty());
    assert_eq!(h.state.live_workers(), 0);
    h.submit(1);
    assert_eq!(h.state.live_workers(), 1);
    assert!(h.state.broken().is_none());
}

#[test]
fn under_replace_workers_dying_before_ready_break_the_pool_at_the_limit() {
    let mut h = Harness::new(replacing(1, 1));
    // The harness reports Ready at once; these workers die before it.
    h.state.submit(0, 0).map_err(|e| e.0).unwrap();
    for round in 0..MAX_START_FAILURES {
        let Some(Action::Spawn { worker }) = h.state.poll_action() else {
            panic!("round {round}: no spawn");
        };
        h.state.spawned(worker, 1000 + worker);
        while let Some(action) = h.state.poll_action() {
            assert!(matches!(action, Action::Send { .. }), "{action:?}");
        }
        h.state.exited(worker, 1, false);
    }
    h.pump();
    assert!(matches!(
        h.state.broken().map(|c| &**c),
        Some(BreakCause::WorkerDied { status: 1, .. })
    ));
    assert!(h.closed);
}

#[test]
fn killing_the_running_item_replaces_its_worker_even_under_break_pool() {
    let mut h = Harness::new(limits(1, 2, None));
    let first = h.submit(0);
    h.submit(1);
    assert!(h.state.kill_running(first, Kill::Timeout));
    h.pump();
    assert_eq!(h.signals, [(1000, Signal::Kill)]);
    // Killing twice sends one signal.
    assert!(h.state.kill_running(first, Kill::Timeout));
    h.pump();
    assert_eq!(h.signals.len(), 1);
    h.exit(0, -9);
    let failure = Failure::Killed {
        pid: Some(1000),
        kill: Kill::Timeout,
    };
    assert_eq!(h.resolved, [(0, failure)]);
    assert!(h.state.broken().is_none());
    // Item 1 never started: it runs on the replacement.
    assert_eq!(h.sent.last().map(|s| (s.0, s.2)), Some((1, 1)));
}

#[test]
fn an_item_waiting_in_a_pipe_is_stopped_when_its_turn_comes() {
    let mut h = Harness::new(limits(1, 3, None));
    let first = h.submit(0);
    let second = h.submit(1);
    h.submit(2);
    assert!(h.state.kill_running(second, Kill::Cancelled));
    h.pump();
    assert!(h.signals.is_empty(), "the worker is still running item 0");
    assert_eq!(h.done(0, first), 0);
    assert_eq!(h.signals, [(1000, Signal::Kill)]);
    h.exit(0, -9);
    let failure = Failure::Killed {
        pid: Some(1000),
        kill: Kill::Cancelled,
    };
    assert_eq!(h.resolved, [(1, failure)]);
    assert_eq!(h.sent.last().map(|s| (s.0, s.2)), Some((1, 2)));
}

#[test]
fn a_doomed_item_behind_a_dying_worker_fails_without_running() {
    let mut h = Harness::new(replacing(1, 3));
    h.submit(0);
    let second = h.submit(1);
    assert!(h.state.kill_running(second, Kill::Cancelled));
    h.exit(0, -9);
    let resolved: Vec<u32> = h.resolved.iter().map(|r| r.0).collect();
    assert_eq!(resolved, [0, 1]);
    assert_eq!(
        h.resolved[1].1,
        Failure::Killed {
            pid: None,
            kill: Kill::Cancelled
        }
    );
}

#[test]
fn kill_running_ignores_queued_and_unknown_items() {
    let mut h = Harness::new(limits(1, 1, None));
    h.submit(0);
    let queued = h.submit(1);
    assert!(!h.state.kill_running(queued, Kill::Cancelled));
    assert!(!h.state.kill_running(999, Kill::Cancelled));
    h.pump();
    assert!(h.signals.is_empty());
}

#[test]
fn terminate_overrides_replace_and_pending_kills() {
    let mut h = Harness::new(replacing(2, 2));
    let first = h.submit(0);
    h.submit(1);
    h.submit(2);
    assert!(h.state.kill_running(first, Kill::Timeout));
    assert!(h.state.terminate(Signal::Kill).is_empty());
    h.pump();
    h.exit(0, -9);
    h.exit(1, -9);
    // Nothing is requeued or respawned: everything fails and the pool closes.
    assert_eq!(h.resolved.len(), 3);
    assert!(
        h.resolved
            .iter()
            .all(|(_, f)| matches!(f, Failure::Broken { .. }))
    );
    assert!(h.closed);
}
