//! Rank 0's manager thread: the only thread of rank 0 that calls MPI while
//! the executor runs. It sends queued `Run` frames to the workers with the
//! fewest in flight, receives their `Done` frames and hands each to its job
//! (which completes futures, so done callbacks run here).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, Source};
use proc_exec::wire::{HEADER_LEN, Header};

use crate::abort::abort;
use crate::backoff::Backoff;
use crate::recovery::{Ending, LEAVE, Watch};
use crate::sends::Sends;
use crate::sync::{Receiver, Sender};
use crate::tags;

/// One submitted `Run` frame's other half: what to do with its answer.
pub(crate) trait Job: Send {
    /// Called just before the frame is sent; false drops it unsent (its
    /// future was cancelled).
    fn start(&mut self) -> bool;
    /// The `Done` frame that answers it (a whole frame, header included).
    fn done(self: Box<Self>, frame: &[u8]);
    /// No answer will come: `rank` was declared dead, for `reason`.
    fn lost(self: Box<Self>, rank: u32, reason: &str);
}

/// What the executor asks of the manager.
pub(crate) enum Command {
    /// Send `frame` (tagged `work_id`) to a worker, then answer `job`.
    Run {
        work_id: u64,
        frame: Vec<u8>,
        job: Box<dyn Job>,
    },
    /// Answer on the sender once everything sent before is done.
    Drain(Sender<()>),
    /// Drain, tell every worker to return, and end.
    Exit,
}

struct Manager {
    world: SimpleCommunicator,
    queue: VecDeque<(u64, Vec<u8>, Box<dyn Job>)>,
    running: HashMap<u64, (usize, Box<dyn Job>)>,
    per_worker: Vec<usize>,
    max_in_flight: usize,
    sends: Sends,
    drains: Vec<Sender<()>>,
    exit: bool,
    watch: Watch,
}

/// How long rank 0 lets its last `EXIT` messages go out after a rank was
/// declared dead (it waits for no answer to them).
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Runs the manager until `Exit` (or until every sender is gone); says how
/// rank 0 ends.
pub(crate) fn run(commands: Receiver<Command>, options: crate::Options) -> Ending {
    let world = SimpleCommunicator::world();
    let workers = usize::try_from(world.size() - 1).unwrap_or(0);
    let mut manager = Manager {
        world,
        queue: VecDeque::new(),
        running: HashMap::new(),
        per_worker: vec![0; workers],
        max_in_flight: options.max_in_flight.max(1),
        sends: Sends::new(),
        drains: Vec::new(),
        exit: false,
        watch: Watch::new(workers, options.rank_deadline),
    };
    let mut backoff = Backoff::new(options.spin, options.max_sleep);
    loop {
        if manager.idle() {
            for drain in manager.drains.drain(..) {
                let _ = drain.send(());
            }
            if manager.exit {
                break;
            }
            // Nothing in flight: no MPI call is needed until a command comes.
            match commands.recv() {
                Ok(command) => manager.command(command),
                Err(_) => manager.exit = true,
            }
            // Work just arrived: poll for its answer at full speed first.
            backoff.reset();
        }
        let mut progressed = false;
        while let Ok(command) = commands.try_recv() {
            manager.command(command);
            progressed = true;
        }
        progressed |= manager.dispatch();
        progressed |= manager.progress_sends();
        progressed |= manager.receive();
        progressed |= manager.check_deadline();
        if progressed {
            backoff.reset();
        } else {
            backoff.idle();
        }
    }
    if manager.watch.any_dead() {
        manager.leave();
        return Ending::Leave;
    }
    for rank in 1..manager.world.size() {
        let nothing: [u8; 0] = [];
        manager
            .world
            .process_at_rank(rank)
            .send_with_tag(&nothing[..], tags::EXIT);
    }
    Ending::Finalize
}

impl Manager {
    fn idle(&self) -> bool {
        self.queue.is_empty() && self.running.is_empty() && self.sends.is_empty()
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Run {
                work_id,
                frame,
                job,
            } => {
                if let (true, Some(worker)) = (self.watch.all_dead(), self.watch.last_dead()) {
                    let rank = u32::try_from(worker + 1).unwrap_or(u32::MAX);
                    job.lost(rank, "no worker rank is left");
                } else {
                    self.queue.push_back((work_id, frame, job));
                }
            }
            Command::Drain(done) => self.drains.push(done),
            Command::Exit => self.exit = true,
        }
    }

    /// Sends queued frames to the least loaded workers with room.
    fn dispatch(&mut self) -> bool {
        let mut progressed = false;
        while !self.queue.is_empty() {
            let Some((worker, _)) = self
                .per_worker
                .iter()
                .enumerate()
                .filter(|(worker, n)| **n < self.max_in_flight && !self.watch.is_dead(*worker))
                .min_by_key(|(_, n)| **n)
            else {
                break;
            };
            let Some((work_id, frame, mut job)) = self.queue.pop_front() else {
                break;
            };
            progressed = true;
            if !job.start() {
                continue;
            }
            let rank = i32::try_from(worker + 1).unwrap_or(i32::MAX);
            self.sends.start(rank, tags::RUN, frame);
            self.per_worker[worker] += 1;
            self.watch.sent(worker);
            self.running.insert(work_id, (worker, job));
        }
        progressed
    }

    /// Takes every `Done` frame that has arrived.
    fn receive(&mut self) -> bool {
        let mut progressed = false;
        while let Some((message, status)) = self
            .world
            .any_process()
            .immediate_matched_probe_with_tag(tags::DONE)
        {
            progressed = true;
            let source = status.source_rank();
            let (frame, _) = (message, status).matched_receive_vec::<u8>();
            let work_id = frame
                .get(..HEADER_LEN)
                .and_then(|head| <&[u8; HEADER_LEN]>::try_from(head).ok())
                .and_then(|head| Header::decode(head).ok())
                .map(|header| header.work_id);
            let Some((worker, job)) = work_id.and_then(|id| self.running.remove(&id)) else {
                let worker = usize::try_from(source - 1).unwrap_or(usize::MAX);
                if worker < self.per_worker.len() && self.watch.is_dead(worker) {
                    // A rank declared dead was only slow: its tasks have
                    // failed already.
                    continue;
                }
                abort(0, &format!("rank {source} answered work it was not given"));
            };
            self.per_worker[worker] -= 1;
            self.watch.answered(worker, self.per_worker[worker]);
            job.done(&frame);
        }
        progressed
    }

    /// Progresses the sends; a worker a send to which failed is dead.
    fn progress_sends(&mut self) -> bool {
        let mut failed = Vec::new();
        let progressed = self.sends.progress(&mut failed);
        for rank in failed {
            let worker = usize::try_from(rank - 1).unwrap_or(usize::MAX);
            if worker < self.per_worker.len() && !self.watch.is_dead(worker) {
                self.declare_dead(worker, "an MPI send to it failed".to_owned());
            }
        }
        progressed
    }

    /// Declares dead a worker that owes an answer past the deadline.
    fn check_deadline(&mut self) -> bool {
        let Some(worker) = self.watch.overdue() else {
            return false;
        };
        let deadline = self.watch.deadline().unwrap_or_default();
        self.declare_dead(
            worker,
            format!("no answer for {deadline:?} with tasks in flight"),
        );
        true
    }

    /// Fails the tasks of `worker` and never sends it anything more (but
    /// the last `EXIT`); when no worker is left, fails the queued tasks too.
    fn declare_dead(&mut self, worker: usize, reason: String) {
        let rank = u32::try_from(worker + 1).unwrap_or(u32::MAX);
        eprintln!("mpi-exec: rank 0: rank {rank} declared dead: {reason}; its tasks fail");
        self.watch.declare_dead(worker);
        self.sends.abandon(i32::try_from(rank).unwrap_or(i32::MAX));
        self.per_worker[worker] = 0;
        let lost: Vec<u64> = self
            .running
            .iter()
            .filter(|(_, (on, _))| *on == worker)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            if let Some((_, job)) = self.running.remove(&id) {
                job.lost(rank, &reason);
            }
        }
        if self.watch.all_dead() {
            let reason = format!("{reason}, and no worker rank is left");
            for (_, _, job) in self.queue.drain(..) {
                job.lost(rank, &reason);
            }
        }
    }

    /// Ends a job that lost a rank: every other rank (the dead ones too, in
    /// case one was only slow) is told to leave without `MPI_Finalize`,
    /// waiting at most [`EXIT_GRACE`] for the messages to go out.
    fn leave(&mut self) {
        for rank in 1..self.world.size() {
            self.sends.start(rank, tags::EXIT, vec![LEAVE]);
        }
        let started = Instant::now();
        let mut backoff = Backoff::new(Duration::ZERO, Duration::from_millis(1));
        while !self.sends.is_empty() && started.elapsed() < EXIT_GRACE {
            self.sends.progress(&mut Vec::new());
            backoff.idle();
        }
        self.sends.abandon_all();
    }
}
