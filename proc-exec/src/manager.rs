//! The manager: one thread that drives the pool's state with real processes.
//!
//! The manager alone forks, writes, reads, reaps, and completes futures; it
//! reaches the state only through [`Shared`]'s methods, which hold the lock
//! for no longer than one state transition.
//!
//! Its loop: take the state's actions under the lock, carry them out (spawn,
//! buffer frames, signal, fail futures), write what the pipes accept without
//! blocking, then `poll` the wake-up eventfd, every worker's result pipe not
//! yet at end of file, every live worker's request pipe that has bytes
//! waiting, and every pidfd whose end is not yet seen (never a descriptor
//! that would report `POLLHUP` over and over: see `Manager::wait`). Writes
//! never block, so a worker blocked writing a large result to us is always
//! read from (CPython gh-94777). A pidfd turning readable means
//! the worker died: its pipe is read to the end first, so results it sent
//! before dying still count, and then it is reaped and reported.
//!
//! Task timeouts are the manager's one clock: once a task with a timeout was
//! submitted, it notes when each worker's current item changed (the worker
//! starts an item when the one before it is answered), polls no longer than
//! the nearest deadline, and asks the state to kill a worker whose item is
//! still the same past its deadline.
//!
//! With the default, adaptive in-flight window it also notes when it reads
//! each worker's answers, to tell the state whether that worker's items are
//! quick (see `Manager::pace`); it never sleeps on that clock.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

use crate::ExitStatus;
use crate::executor::RunFrame;
use crate::os::child::Child;
use crate::os::fd;
use crate::os::poll::poll;
use crate::os::shm;
use crate::pool_state::{Action, Signal, WorkId, WorkerId};
use crate::shared::{Real, Shared, os_signal};
use crate::shared_bytes;
use crate::start::{Launcher, Prepared, Spawned, Started};
use crate::wire::{self, Direction, FrameDecoder, Kind};

/// One live worker, seen from the manager.
struct WorkerIo {
    child: Child,
    /// Requests to the worker (non-blocking).
    to: OwnedFd,
    /// Results from the worker (non-blocking).
    from: OwnedFd,
    /// The descriptors of shared payloads, both ways (see `os::shm`).
    side: OwnedFd,
    /// Bytes not yet written to `to`, from `written` on.
    out: Vec<u8>,
    written: usize,
    /// Frames not in `out` yet, in order: the first one's descriptors were
    /// refused for now (see [`Stall`]). They wait rather than go without.
    waiting: VecDeque<Waiting>,
    /// Why `waiting` is held, when it is.
    stall: Option<Stall>,
    /// `Run` frames queued in `out` and not answered yet.
    unanswered: usize,
    decoder: FrameDecoder,
    /// `from` reached end of file, or its bytes stopped making sense.
    closed: bool,
    /// The process ended (its pidfd turned readable) and the fork server's
    /// notice of its status has not arrived yet.
    ended: bool,
    /// A write to `to` failed other than for a full pipe: nobody reads it
    /// any more (the worker is dying; its pidfd will say so).
    broken: bool,
    /// When its answers were last read while it had more items in flight:
    /// it has worked without a break since (see [`Manager::pace`]).
    busy_since: Option<Instant>,
}

/// Runs the manager loop until the pool is closed.
///
/// First launches the start method (the fork server runs from this thread,
/// which lives as long as the pool) and sends `started` the outcome; `build`
/// waits for it. A launch that failed fails every spawn, which breaks the
/// pool with the reason should the pool be used anyway.
pub(crate) fn run(shared: Arc<Shared>, prepared: Prepared, started: Started) {
    let launcher = prepared.launch();
    let _ = started.send(launcher.as_ref().map(|_| ()).map_err(clone_error));
    let launcher = launcher.map_err(|error| error.to_string());
    let mut manager = Manager {
        shared: Arc::clone(&shared),
        launcher,
        workers: BTreeMap::new(),
        actions: Vec::new(),
        fronts: Vec::new(),
        watched: Vec::new(),
        deadlines: BTreeMap::new(),
        kill_at: None,
    };
    // User code on this thread is caught where it runs; this is the
    // backstop for a panic of our own. The pool must not go on accepting
    // work nobody runs: its workers are killed (dropping the manager drops
    // them) and the pool breaks, failing every pending future.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| manager.run()));
    if let Err(payload) = ran {
        crate::panic::contain(|| drop(manager));
        shared.manager_died(crate::panic::into_message(payload));
    }
}

struct Manager {
    shared: Arc<Shared>,
    /// How workers are started, or why they cannot be.
    launcher: Result<Launcher, String>,
    workers: BTreeMap<WorkerId, WorkerIo>,
    actions: Vec<Action<Real>>,
    /// Each worker's current item and its timeout, from the state.
    fronts: Vec<(WorkerId, WorkId, Option<Duration>)>,
    /// The workers' descriptors polled in this round, and what for (see
    /// [`Manager::wait`]).
    watched: Vec<(WorkerId, Watch)>,
    /// For each worker whose current item has a timeout: the item and when
    /// it runs out.
    deadlines: BTreeMap<WorkerId, (WorkId, Instant)>,
    /// Once the workers were told to stop (SIGTERM after a break or
    /// `terminate_workers`): when those still alive get SIGKILL, and whether
    /// they have.
    kill_at: Option<(Instant, bool)>,
}

impl Manager {
    fn run(&mut self) {
        loop {
            // Carrying out actions reports to the state (a spawn that failed
            // breaks the pool), which may queue more: they are taken in this
            // same turn, as nothing would wake the poll below for them.
            loop {
                let stopping = self
                    .shared
                    .take_actions(&mut self.actions, &mut self.fronts);
                if stopping && self.kill_at.is_none() {
                    let grace = self.shared.config.terminate_grace;
                    let now = Instant::now();
                    let at = now.checked_add(grace).unwrap_or(now + FOREVER);
                    self.kill_at = Some((at, false));
                }
                if self.actions.is_empty() {
                    break;
                }
                if self.execute() {
                    return;
                }
            }
            self.track_deadlines();
            self.kill_stragglers();
            self.retry_stalled();
            self.flush_all();
            if let Err(error) = self.wait() {
                // poll itself failed (ENOMEM): nothing sensible is left but
                // to stop every worker; the state breaks as they die.
                let _ = error;
                self.shared.terminate(Signal::Kill);
            }
        }
    }

    /// Carries out the actions taken; true once the pool is closed.
    fn execute(&mut self) -> bool {
        let mut closed = false;
        for action in std::mem::take(&mut self.actions) {
            match action {
                Action::Spawn { worker } => self.spawn(worker),
                Action::Send {
                    worker,
                    work,
                    payload,
                } => {
                    let answers_due = self.answers_due();
                    if let Some(io) = self.workers.get_mut(&worker) {
                        io.waiting.push_back(Waiting::Run(work, payload));
                        queue_waiting(io, answers_due);
                    }
                }
                Action::SendExit { worker } => {
                    let answers_due = self.answers_due();
                    if let Some(io) = self.workers.get_mut(&worker) {
                        io.waiting.push_back(Waiting::Exit);
                        queue_waiting(io, answers_due);
                    }
                }
                Action::Signal {
                    worker,
                    pid,
                    signal,
                } => {
                    let io = self.workers.get(&worker);
                    // The pidfd names the process; the pid only double-checks.
                    let io = io.filter(|io| io.child.pid().as_raw_nonzero().get() as u32 == pid);
                    if let Some(io) = io {
                        // It may have died meanwhile; its pidfd tells us.
                        let _ = io.child.signal(os_signal(signal));
                    }
                }
                Action::Resolve {
                    record, failure, ..
                } => crate::panic::contain(|| record.fail(failure)),
                Action::Closed => closed = true,
            }
        }
        closed
    }

    /// Starts the clock of each worker's item that has a timeout when that
    /// item becomes the worker's current one, and kills the worker of every
    /// item past its deadline.
    fn track_deadlines(&mut self) {
        let now = Instant::now();
        let mut current = BTreeMap::new();
        for &(worker, work, timeout) in &self.fronts {
            let Some(timeout) = timeout else { continue };
            let deadline = match self.deadlines.get(&worker) {
                Some(&(same, deadline)) if same == work => deadline,
                _ => now.checked_add(timeout).unwrap_or(now + FOREVER),
            };
            current.insert(worker, (work, deadline));
        }
        self.deadlines = current;
        for (&worker, &(work, deadline)) in &self.deadlines {
            if deadline <= now {
                self.shared.kill_expired(worker, work);
            }
        }
    }

    /// Once the grace period after SIGTERM has passed, kills every worker
    /// still alive (one that ignores or blocks SIGTERM), once.
    fn kill_stragglers(&mut self) {
        let Some((at, false)) = self.kill_at else {
            return;
        };
        if at > Instant::now() {
            return;
        }
        self.kill_at = Some((at, true));
        for io in self.workers.values() {
            // It may have died meanwhile; its pidfd tells us.
            let _ = io.child.signal(rustix::process::Signal::KILL);
        }
    }

    /// How long `poll` may sleep: until the nearest deadline not yet acted
    /// on (`None`: no limit).
    fn poll_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let kill_at = match self.kill_at {
            Some((at, false)) => Some(at),
            _ => None,
        };
        self.deadlines
            .values()
            .map(|&(_, deadline)| deadline)
            .chain(kill_at)
            .filter(|&deadline| deadline > now)
            .min()
            .map(|deadline| deadline - now)
    }

    fn spawn(&mut self, worker: WorkerId) {
        match self.fork_worker() {
            Ok(mut io) => {
                let pid = io.child.pid().as_raw_nonzero().get() as u32;
                let signaller = io.child.signaller();
                self.shared.spawned(worker, Ok((pid, Some(signaller))));
                let max = self.shared.config.max_frame_size;
                let mut writer = wire::FrameWriter::begin(&mut io.out, Kind::Hello, 0);
                // A two-number body always fits.
                let _ = wire::ParentHello::new(max).encode(writer.body());
                let _ = writer.finish(max);
                if let Some(init) = &self.shared.config.init_frame {
                    io.out.extend_from_slice(init);
                }
                self.workers.insert(worker, io);
            }
            Err(error) => self.shared.spawned(worker, Err(error.to_string())),
        }
    }

    fn fork_worker(&mut self) -> io::Result<WorkerIo> {
        let max_frame_size = self.shared.config.max_frame_size;
        let launcher = match &self.launcher {
            Ok(launcher) => launcher,
            Err(error) => return Err(io::Error::other(error.clone())),
        };
        let Spawned {
            child,
            to,
            from,
            side,
        } = launcher.spawn_worker(max_frame_size)?;
        // Before the first frame is written: no task runs without them. On
        // failure `child` is dropped, which kills and reaps it.
        let limits = &self.shared.config.worker_limits;
        if !limits.is_empty() {
            limits.apply(child.pid()).map_err(|error| {
                io::Error::new(error.kind(), format!("the worker's limits: {error}"))
            })?;
        }
        fd::set_nonblocking(to.as_fd(), true)?;
        fd::set_nonblocking(from.as_fd(), true)?;
        Ok(WorkerIo {
            child,
            to,
            from,
            side,
            out: Vec::new(),
            written: 0,
            waiting: VecDeque::new(),
            stall: None,
            unanswered: 0,
            decoder: FrameDecoder::new(Direction::FromWorker, max_frame_size),
            closed: false,
            ended: false,
            broken: false,
            busy_since: None,
        })
    }

    /// Whether some worker still owes answers: each one received the
    /// descriptors of its frame, so the kernel's count of descriptors in
    /// flight will go down.
    fn answers_due(&self) -> bool {
        self.workers.values().any(|io| io.unanswered > 0)
    }

    /// Tries again, after whatever woke the manager (answers among it), to
    /// send the frames held for the kernel's limit on descriptors in flight.
    fn retry_stalled(&mut self) {
        let answers_due = self.answers_due();
        for io in self.workers.values_mut() {
            if io.stall == Some(Stall::InFlight) {
                queue_waiting(io, answers_due);
            }
        }
    }

    /// Writes what each pipe takes without blocking.
    fn flush_all(&mut self) {
        for io in self.workers.values_mut() {
            flush(io);
        }
    }

    /// Blocks until something happens, then handles it.
    ///
    /// Only descriptors with something to wait for are polled: `poll`
    /// reports `POLLHUP` and `POLLERR` whatever events were asked for, so a
    /// result pipe at end of file, a request pipe whose reader is gone, or a
    /// reaped worker's pidfd, if polled at all, would wake it at once, again
    /// and again, while the worker's status is awaited. That spinning took
    /// the CPU the dying worker and the fork server needed to report the
    /// death, and made a crash take a scheduler slice (~3 ms) to fail its
    /// future.
    fn wait(&mut self) -> io::Result<()> {
        let awaiting_notice = self.workers.values().any(|io| io.ended);
        let timeout = self.poll_timeout();
        // What each polled entry after the first one or two is for; kept
        // from round to round, so the loop does not allocate it each time.
        let mut watched = std::mem::take(&mut self.watched);
        watched.clear();
        {
            let mut fds = Vec::with_capacity(2 + 3 * self.workers.len());
            fds.push(PollFd::from_borrowed_fd(
                self.shared.wakeup().as_fd(),
                PollFlags::IN,
            ));
            // A fork server's socket carries the exit notices of its workers;
            // a notice read off it by someone else (a spawn's wait for its
            // reply, a `try_wait` for another worker) is filed and makes
            // `filed_fd` readable: without it, a notice read by the spawn of
            // a replacement left this poll waiting for it for ever.
            let server = match &self.launcher {
                Ok(Launcher::Server(server)) if awaiting_notice => Some(server),
                _ => None,
            };
            if let Some(server) = server {
                fds.push(PollFd::from_borrowed_fd(server.as_fd(), PollFlags::IN));
                fds.push(PollFd::from_borrowed_fd(server.filed_fd(), PollFlags::IN));
            }
            let first = fds.len();
            for (&id, io) in &self.workers {
                if !io.closed {
                    fds.push(PollFd::new(&io.from, PollFlags::IN));
                    watched.push((id, Watch::Read));
                }
                // A worker that is gone takes no more bytes.
                if io.written < io.out.len() && !io.gone() {
                    fds.push(PollFd::new(&io.to, PollFlags::OUT));
                    watched.push((id, Watch::Write));
                }
                if io.stall == Some(Stall::Full) && !io.gone() {
                    fds.push(PollFd::new(&io.side, PollFlags::OUT));
                    watched.push((id, Watch::Side));
                }
                // An ended worker's notice is awaited on the server's
                // socket instead.
                if !io.ended {
                    fds.push(PollFd::from_borrowed_fd(io.child.pidfd(), PollFlags::IN));
                    watched.push((id, Watch::Exit));
                }
            }
            poll(&mut fds, timeout)?;
            if !fds[0].revents().is_empty() {
                let _ = self.shared.wakeup().drain();
            }
            // Cleared before the sweep below takes what was filed: a notice
            // filed after this makes it readable again.
            if let Some(server) = server {
                if !fds[first - 1].revents().is_empty() {
                    server.clear_filed();
                }
            }
            // Only the entries that woke are handled below.
            let mut woke = fds[first..].iter().map(|fd| !fd.revents().is_empty());
            watched.retain(|_| woke.next().unwrap_or(false));
        }
        let answers_due = self.answers_due();
        for &(id, watch) in &watched {
            match watch {
                Watch::Read => self.read_worker(id),
                Watch::Write => {
                    if let Some(io) = self.workers.get_mut(&id) {
                        flush(io);
                    }
                }
                Watch::Side => {
                    if let Some(io) = self.workers.get_mut(&id) {
                        queue_waiting(io, answers_due);
                        flush(io);
                    }
                }
                Watch::Exit => self.reap_worker(id),
            }
        }
        self.watched = watched;
        if !self.workers.values().any(|io| io.ended) {
            return Ok(());
        }
        // An ended worker's notice may have been read already, by another
        // worker's `try_wait` or the poll above: try each round.
        let ended: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, io)| io.ended)
            .map(|(&id, _)| id)
            .collect();
        for id in ended {
            self.reap_worker(id);
        }
        Ok(())
    }

    /// Reads what the worker sent and handles every complete frame.
    fn read_worker(&mut self, id: WorkerId) {
        let Some(io) = self.workers.get_mut(&id) else {
            return;
        };
        let mut answered = 0;
        while !io.closed {
            let buf = io.decoder.read_buf();
            let room = buf.len();
            // A read that leaves room emptied the pipe: the next would only
            // say `EAGAIN`, and `poll` tells when more comes.
            let mut drained = false;
            match fd::read(io.from.as_fd(), buf) {
                Ok(0) => io.closed = true,
                Ok(n) => {
                    drained = n < room;
                    io.decoder.advance(n);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => io.closed = true,
            }
            if handle_frames(&self.shared, id, io, &mut answered).is_err() {
                io.closed = true;
            }
            if drained {
                break;
            }
        }
        if answered > 0 {
            self.pace(id, answered);
        }
    }

    /// Times a worker's items from its answers, for the adaptive window
    /// (see `PoolState::pace`): `answered` items came in since the last
    /// read, and if the worker had items in flight all along, each took
    /// about the time since then divided by their number. An estimate that
    /// errs towards slow (it counts the manager's own delays), which only
    /// keeps the window narrow. Nothing to do with a fixed window.
    fn pace(&mut self, id: WorkerId, answered: u32) {
        let limits = &self.shared.config.limits;
        if limits.slow_in_flight >= limits.max_in_flight {
            return;
        }
        let Some(io) = self.workers.get_mut(&id) else {
            return;
        };
        let now = Instant::now();
        let quick = io
            .busy_since
            .map(|since| now.saturating_duration_since(since) < QUICK_ITEM * answered);
        let busy = self.shared.paced(id, quick);
        io.busy_since = busy.then_some(now);
    }

    /// The worker's pidfd is readable (or its server sent notices): read
    /// what it left, reap it, report it. A fork server's worker whose notice
    /// has not arrived yet stays, marked ended, until it does; the manager
    /// never blocks waiting for the server.
    fn reap_worker(&mut self, id: WorkerId) {
        let Some(io) = self.workers.get_mut(&id) else {
            return;
        };
        if !io.ended && !io.closed {
            self.read_worker(id);
        }
        let Some(io) = self.workers.get_mut(&id) else {
            return;
        };
        let status = match io.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) if matches!(self.launcher, Ok(Launcher::Server(_))) => {
                io.ended = true;
                return;
            }
            // Our own child: its pidfd said it ended, so it can be reaped.
            Ok(None) => match io.child.wait(None) {
                Ok(Some(status)) => status,
                _ => ExitStatus::Unknown,
            },
            // Only `poll` itself failed: the status cannot be learned.
            Err(_) => ExitStatus::Unknown,
        };
        let Some(io) = self.workers.remove(&id) else {
            return;
        };
        if !io.closed && io.decoder.finish().is_err() {
            let detail = "the worker exited in the middle of a frame".to_owned();
            self.shared.malformed(id, detail);
        }
        self.shared.exited(id, status);
    }
}

/// What a polled descriptor of a worker is for.
#[derive(Clone, Copy)]
enum Watch {
    /// Its result pipe: results, or end of file.
    Read,
    /// Its request pipe: room for the bytes waiting in `out`.
    Write,
    /// Its descriptor socket: room for the descriptors of the first frame
    /// in `waiting`.
    Side,
    /// Its pidfd: it ended.
    Exit,
}

impl WorkerIo {
    /// The worker is gone or going: its request pipe will take nothing more.
    fn gone(&self) -> bool {
        self.closed || self.ended || self.broken
    }
}

/// Items that each take less than this (as the manager sees their answers
/// arrive) are quick: their worker's window widens (see [`Manager::pace`]).
/// Up to `max_in_flight` of them may then wait behind one that turns out
/// slow; at this size that costs a few milliseconds at most.
const QUICK_ITEM: Duration = Duration::from_micros(100);

/// A deadline this far off is never reached.
const FOREVER: Duration = Duration::from_secs(1 << 40);

/// Writes as much of `io.out` as the pipe takes now.
fn flush(io: &mut WorkerIo) {
    while io.written < io.out.len() {
        match fd::write(io.to.as_fd(), &io.out[io.written..]) {
            Ok(n) => io.written += n,
            // Full: poll tells us when it drains.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            // The worker is gone (its pidfd tells us).
            Err(_) => {
                io.broken = true;
                break;
            }
        }
    }
    if io.written == io.out.len() {
        io.out.clear();
        io.written = 0;
    }
}

/// A frame for a worker that waits for its descriptors to be taken.
enum Waiting {
    Run(WorkId, Arc<RunFrame>),
    Exit,
}

/// Why a worker's frames wait.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stall {
    /// Its descriptor socket is full: polled for room.
    Full,
    /// The kernel refuses more descriptors in flight for this user
    /// (`ETOOMANYREFS`: more than its `RLIMIT_NOFILE` sent and not yet
    /// received, without `CAP_SYS_RESOURCE`): tried again each time the
    /// manager wakes, as answers mean received descriptors.
    InFlight,
}

/// Moves the worker's waiting frames into `out`, in order, each after its
/// descriptors were sent (so they are there before any of its bytes). Stops
/// at a frame whose descriptors are refused for now (see [`Stall`]): it
/// waits, and the frames after it with it. Any other refusal (the worker
/// gone; too many descriptors in flight while no answer is due, so none
/// will be received) sends the frame saying it carries none, so its
/// `SharedBytes` fail to decode in the worker (an argument error for that
/// task) instead of taking the descriptors of a later frame.
fn queue_waiting(io: &mut WorkerIo, answers_due: bool) {
    io.stall = None;
    while let Some(next) = io.waiting.front() {
        match next {
            Waiting::Exit => {
                let _ = wire::encode_frame(Kind::Exit, 0, &[], &mut io.out, u32::MAX);
            }
            Waiting::Run(work, payload) => {
                let fds = shared_bytes::fds(&payload.shared);
                let sent = fds.is_empty()
                    || match shm::send_fds(io.side.as_fd(), &fds, false) {
                        Ok(()) => true,
                        // Its own answers count too: those of the frames
                        // this very call queued.
                        Err(error) => match stall(&error, answers_due || io.unanswered > 0) {
                            Some(stall) => {
                                io.stall = Some(stall);
                                return;
                            }
                            None => false,
                        },
                    };
                let start = io.out.len();
                io.out.extend_from_slice(payload);
                wire::set_work_id(&mut io.out[start..], *work);
                if !sent {
                    wire::set_shared(&mut io.out[start..], 0);
                }
                io.unanswered += 1;
            }
        }
        io.waiting.pop_front();
    }
}

/// Whether a refusal of descriptors is one to wait out, and how.
fn stall(error: &io::Error, answers_due: bool) -> Option<Stall> {
    if error.kind() == io::ErrorKind::WouldBlock {
        return Some(Stall::Full);
    }
    let in_flight = error.raw_os_error() == Some(rustix::io::Errno::TOOMANYREFS.raw_os_error());
    (in_flight && answers_due).then_some(Stall::InFlight)
}

/// Handles every complete frame in the worker's decoder. `Err` when the
/// worker broke the protocol (the pool is then broken).
/// `answered` counts the `Done` frames handled.
fn handle_frames(
    shared: &Shared,
    id: WorkerId,
    io: &mut WorkerIo,
    answered: &mut u32,
) -> Result<(), ()> {
    loop {
        let frame = match io.decoder.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(()),
            Err(error) => {
                let detail = format!("a malformed frame: {error}");
                shared.malformed(id, detail);
                return Err(());
            }
        };
        match frame.kind {
            Kind::Ready => {
                if let Err(error) = wire::WorkerReady::parse(frame.body) {
                    shared.malformed(id, format!("a bad Ready frame: {error}"));
                    return Err(());
                }
                shared.ready(id)?;
            }
            Kind::Done => {
                let outcomes = match wire::parse_outcomes(frame.body) {
                    Ok(outcomes) => outcomes,
                    Err(error) => {
                        let detail = format!("a malformed Done frame: {error}");
                        shared.malformed(id, detail);
                        return Err(());
                    }
                };
                // Sent before the frame, so here by now; a frame that claims
                // descriptors that did not come fails its `SharedBytes`
                // with a decode error (the task's, not the pool's).
                let mut fds = match frame.shared {
                    0 => shared_bytes::Incoming::default(),
                    _ => shared_bytes::received(shm::recv_fds(io.side.as_fd())),
                };
                let pending = shared.done(id, frame.work_id, outcomes.len()).ok_or(())?;
                // Outside the lock: completing runs the future's callbacks,
                // and may drop a user's value (its future was dropped).
                // Decoding catches its own panics and fails the future; a
                // panic after it has nothing left to fail, and is reported.
                crate::panic::contain(|| {
                    shared_bytes::decoding(&mut fds, || pending.complete(outcomes));
                });
                *answered += 1;
                io.unanswered = io.unanswered.saturating_sub(1);
            }
            Kind::InitFailed => {
                let message = match wire::parse_init_failed(frame.body) {
                    Ok(outcome) => String::from_utf8_lossy(outcome.bytes).into_owned(),
                    Err(error) => format!("(a malformed InitFailed frame: {error})"),
                };
                shared.init_failed(id, message);
                return Err(());
            }
            _ => {
                shared.malformed(id, format!("an unexpected {:?} frame", frame.kind));
                return Err(());
            }
        }
    }
}

/// A copy of `error` to send while the original stays here.
fn clone_error(error: &io::Error) -> io::Error {
    io::Error::new(error.kind(), error.to_string())
}
