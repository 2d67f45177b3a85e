//! Single flight: one piece of work at a time (a token request), whose outcome
//! every caller that asked meanwhile receives.
//!
//! The work runs as its own task rather than inside the first caller's future: a caller whose
//! deadline is shorter than the work would otherwise cancel every attempt, and the callers
//! behind it would start it again, each from scratch (measured in scopegate-m2m: 350 ms
//! deadlines against a 600 ms endpoint gave 30 requests and 0 callers served; as a task, one
//! request and 27 of 30 served). `futures::Shared` would outlive cancellation only while some
//! caller still polls it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tokio::sync::watch;

/// The work in flight, if any, and how many were started. Cheap to share behind an `Arc`.
///
/// A flight ends when its task does (it drops the sending side of the outcome channel): no
/// bookkeeping is left to clear, whether the work finished or its runtime went away.
#[derive(Debug)]
pub struct SingleFlight<T> {
    /// The outcome channel of the last flight started.
    slot: Mutex<Option<watch::Receiver<Option<T>>>>,
    started: AtomicU64,
}

/// A caller's place in a flight: [`outcome`](Self::outcome) waits for it.
#[derive(Debug)]
#[must_use]
pub struct Waiter<T>(watch::Receiver<Option<T>>);

/// [`SingleFlight::join_or_start`] was called outside a tokio runtime, so no task could run
/// the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("single-flight work needs a tokio runtime")]
pub struct NoRuntime;

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight {
            slot: Mutex::new(None),
            started: AtomicU64::new(0),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// No work in flight.
    pub fn new() -> Self {
        SingleFlight::default()
    }

    /// A place in the work in flight, if there is one, its task is alive (a task dropped
    /// unfinished, with its runtime, counts as none) and it has no outcome yet.
    pub fn current(&self) -> Option<Waiter<T>> {
        let mut slot = self.lock();
        match &*slot {
            Some(outcome) if in_flight(outcome) => Some(Waiter(outcome.clone())),
            _ => {
                *slot = None;
                None
            }
        }
    }

    /// Joins the work in flight, or starts `work()` as a task on the current tokio runtime.
    /// The boolean says whether this call started it. The task publishes its outcome to every
    /// waiter, and then the flight is over: the next call starts new work.
    ///
    /// Whatever `work` changes for callers to see (a cache) it must change before it returns,
    /// so that a caller who finds no flight finds the change instead.
    pub fn join_or_start<W, F>(&self, work: W) -> Result<(Waiter<T>, bool), NoRuntime>
    where
        W: FnOnce() -> F,
        F: Future<Output = T> + Send + 'static,
    {
        if let Some(waiter) = self.current() {
            return Ok((waiter, false));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NoRuntime)?;
        let mut slot = self.lock();
        // Another caller may have started one between `current` and this lock.
        if let Some(outcome) = &*slot
            && in_flight(outcome)
        {
            return Ok((Waiter(outcome.clone()), false));
        }
        self.started.fetch_add(1, Ordering::Relaxed);
        let (sender, outcome) = watch::channel(None);
        *slot = Some(outcome.clone());
        let work = work();
        runtime.spawn(async move {
            let done = work.await;
            sender.send_replace(Some(done));
        });
        Ok((Waiter(outcome), true))
    }

    /// How many flights were started.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<watch::Receiver<Option<T>>>> {
        // The slot is replaced in one step; a panic elsewhere cannot leave it torn.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether a flight still runs. Closed: the task ended (its outcome, if any, went to the
/// waiters it had). An outcome sent: the task is ending, and a caller that comes now wants new
/// work (a forced token refresh right after a refresh), not the outcome it is past.
fn in_flight<T>(outcome: &watch::Receiver<Option<T>>) -> bool {
    outcome.has_changed().is_ok() && outcome.borrow().is_none()
}

impl<T: Clone> Waiter<T> {
    /// The outcome, or `None` if the task was dropped unfinished (its runtime shut down).
    pub async fn outcome(mut self) -> Option<T> {
        match self.0.wait_for(Option::is_some).await {
            Ok(done) => (*done).clone(),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::*;

    #[tokio::test]
    async fn callers_meanwhile_share_one_outcome_and_the_next_call_starts_anew() {
        let flight = SingleFlight::<u32>::new();
        let release = Arc::new(Notify::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let work = || {
            let (release, runs) = (Arc::clone(&release), Arc::clone(&runs));
            async move {
                release.notified().await;
                runs.fetch_add(1, Ordering::SeqCst) as u32 + 7
            }
        };
        let (first, started) = flight.join_or_start(work).unwrap();
        assert!(started);
        let (second, started) = flight.join_or_start(work).unwrap();
        assert!(!started, "joined the flight in progress");
        assert!(flight.current().is_some());
        release.notify_one();
        assert_eq!(first.outcome().await, Some(7));
        assert_eq!(second.outcome().await, Some(7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Once its outcome is out the flight is over, even before its task has ended (a forced
        // refresh right after a refresh must start anew).
        assert!(flight.current().is_none());
        let (third, started) = flight.join_or_start(work).unwrap();
        assert!(started);
        release.notify_one();
        assert_eq!(third.outcome().await, Some(8));
        assert_eq!(flight.started(), 2);
    }

    #[tokio::test]
    async fn the_work_finishes_when_every_waiter_gave_up() {
        let flight = SingleFlight::<&'static str>::new();
        let done = Arc::new(Notify::new());
        let finished = Arc::clone(&done);
        let (waiter, _) = flight
            .join_or_start(|| async move {
                tokio::task::yield_now().await;
                finished.notify_one();
                "done"
            })
            .unwrap();
        drop(waiter);
        // Bounded: the work needs no timer, only to be polled.
        tokio::time::timeout(Duration::from_secs(10), done.notified())
            .await
            .expect("the work ran to its end without a waiter");
    }

    #[test]
    fn a_flight_whose_runtime_ended_is_replaced() {
        let flight = SingleFlight::<u8>::new();
        let first = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let waiter = first.block_on(async {
            let (waiter, _) = flight.join_or_start(std::future::pending::<u8>).unwrap();
            waiter
        });
        drop(first); // drops the unfinished task
        let second = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        second.block_on(async {
            assert_eq!(waiter.outcome().await, None);
            assert!(flight.current().is_none());
            let (waiter, started) = flight.join_or_start(|| async { 3 }).unwrap();
            assert!(started);
            assert_eq!(waiter.outcome().await, Some(3));
        });
    }

    #[test]
    fn outside_a_runtime_nothing_starts() {
        let flight = SingleFlight::<u8>::new();
        assert_eq!(flight.join_or_start(|| async { 1 }).err(), Some(NoRuntime));
        assert_eq!(flight.started(), 0);
    }
}
