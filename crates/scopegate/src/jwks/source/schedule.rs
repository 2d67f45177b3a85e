//! Keeping the refresh schedule: the background task that runs it, its restart when the runtime
//! that ran it ended, and the request path's check that it is not overdue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::{KeySource, Origin, RefreshReason, Shared};
use crate::clock::unix_millis;
use crate::jwks::JwksPolicy;

impl KeySource {
    /// Whether, at `now`, the scheduled refresh is so late that no task is running it. One
    /// atomic load: cache hits ask it.
    pub(crate) fn is_overdue(&self, now: SystemTime) -> bool {
        self.is_overdue_at(unix_millis(now))
    }

    /// [`is_overdue`](Self::is_overdue) at `now_millis` (as [`unix_millis`]).
    pub(crate) fn is_overdue_at(&self, now_millis: u64) -> bool {
        now_millis >= self.shared.overdue_at.load(Ordering::Relaxed)
    }

    /// Runs the scheduled refresh if it is overdue (or joins the fetch under way). Returns
    /// whether it was.
    pub(crate) async fn refresh_if_overdue(&self) -> bool {
        if !self.is_overdue(self.shared.clock.now()) {
            return false;
        }
        self.refresh(RefreshReason::Overdue).await;
        true
    }

    /// Starts the periodic refresh if no task runs it and a tokio runtime is at hand: the first
    /// time, and again after the runtime that ran it ended. One atomic load when it runs. The
    /// task holds only a weak reference: it ends when the validator is dropped.
    pub(crate) fn ensure_background_refresh(&self) {
        static NEXT_TASK: AtomicU64 = AtomicU64::new(1);
        let shared = &self.shared;
        if matches!(shared.origin, Origin::Static) || shared.background.load(Ordering::Relaxed) != 0
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let id = NEXT_TASK.fetch_add(1, Ordering::Relaxed);
        if shared
            .background
            .compare_exchange(0, id, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            shared
                .counters
                .background_starts
                .fetch_add(1, Ordering::Relaxed);
            // Built here, not in the task: a runtime that is shutting down drops the task
            // unpolled, and the guard must still say that no task runs.
            let alive = TaskAlive {
                shared: Arc::downgrade(shared),
                id,
            };
            let rescheduled = Arc::clone(&shared.rescheduled);
            runtime.spawn(background_refresh(alive, rescheduled));
        }
    }
}

/// How late a scheduled refresh may be before a request runs it: one fetch timeout (a background
/// fetch that started on time has ended by then, however slow the issuer) and a second for a busy
/// runtime to get round to the task.
pub(super) fn overdue_grace(policy: &JwksPolicy) -> Duration {
    policy.fetch_timeout + Duration::from_secs(1)
}

/// Owned by the background task: when the task ends, or its runtime drops it, it says so, and
/// the next request starts a new one.
#[derive(Debug)]
struct TaskAlive {
    shared: Weak<Shared>,
    id: u64,
}

impl Drop for TaskAlive {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            // Only this task's own mark: a newer task may already run.
            let _ =
                shared
                    .background
                    .compare_exchange(self.id, 0, Ordering::AcqRel, Ordering::Acquire);
        }
    }
}

async fn background_refresh(alive: TaskAlive, rescheduled: Arc<tokio::sync::Notify>) {
    let shared = &alive.shared;
    loop {
        let (due, seen) = match shared.upgrade() {
            Some(shared) => (
                shared.clock.sleep_until(shared.lock_state().next_refresh),
                shared.completed.load(Ordering::Acquire),
            ),
            None => return,
        };
        // A fetch for another reason moves the schedule: wake up and read it again.
        tokio::select! {
            () = due => {}
            () = rescheduled.notified() => continue,
        }
        let Some(strong) = shared.upgrade() else {
            return;
        };
        // The clock's wait said the time has come; the wall clock is not asked again (it may have
        // been stepped). A fetch completed since `seen` (a request's) has already done the work.
        KeySource { shared: strong }
            .refresh_unless_done_since(RefreshReason::Scheduled, seen)
            .await;
    }
}
