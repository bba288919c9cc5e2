//! Rank 0's manager thread: the only thread of rank 0 that calls MPI while
//! the executor runs. It sends queued `Run` frames to the workers with the
//! fewest in flight, receives their `Done` frames and hands each to its job
//! (which completes futures, so done callbacks run here).

use std::collections::{HashMap, VecDeque};

use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, Source};
use proc_exec::wire::{HEADER_LEN, Header};

use crate::abort::abort;
use crate::backoff::Backoff;
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
}

/// Runs the manager until `Exit` (or until every sender is gone).
pub(crate) fn run(commands: Receiver<Command>, options: crate::Options) {
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
        progressed |= manager.sends.progress();
        progressed |= manager.receive();
        if progressed {
            backoff.reset();
        } else {
            backoff.idle();
        }
    }
    for rank in 1..manager.world.size() {
        let nothing: [u8; 0] = [];
        manager
            .world
            .process_at_rank(rank)
            .send_with_tag(&nothing[..], tags::EXIT);
    }
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
            } => self.queue.push_back((work_id, frame, job)),
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
                .filter(|(_, n)| **n < self.max_in_flight)
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
                abort(0, &format!("rank {source} answered work it was not given"));
            };
            self.per_worker[worker] -= 1;
            job.done(&frame);
        }
        progressed
    }
}
