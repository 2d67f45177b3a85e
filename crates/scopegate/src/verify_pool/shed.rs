//! Shedding: why a first-sight check was refused without running, and the log line that says
//! so at most once per interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Why a check was refused without running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shed {
    /// The queue was full (or made room for another lane).
    QueueFull,
    /// The check waited longer than the deadline.
    Deadline,
    /// The thread running it failed (a panic in the crypto backend).
    Failed,
}

impl Shed {
    /// Every label of `scopegate_verifications_shed_total`, in [`index`](Self::index) order.
    pub(crate) const LABELS: [&'static str; 3] = ["queue_full", "deadline", "failed"];

    pub(crate) fn index(self) -> usize {
        match self {
            Shed::QueueFull => 0,
            Shed::Deadline => 1,
            Shed::Failed => 2,
        }
    }
}

/// Logs shedding at most once per interval, with the count since the last line: a flood must
/// not turn into a flood of log lines.
pub(super) struct ShedLog {
    interval: Duration,
    pub(super) origin: Instant,
    /// Milliseconds after `origin` of the last line; `u64::MAX` before the first.
    last: AtomicU64,
    count: AtomicU64,
}

impl ShedLog {
    pub(super) fn new(interval: Duration) -> ShedLog {
        ShedLog {
            interval,
            origin: Instant::now(),
            last: AtomicU64::new(u64::MAX),
            count: AtomicU64::new(0),
        }
    }

    pub(super) fn shed(&self, now: Instant, reason: Shed) {
        if let Some(count) = self.note(now) {
            tracing::warn!(
                target: "scopegate::overload",
                shed = count,
                last_reason = Shed::LABELS[reason.index()],
                "first-sight token checks refused with 503: the verification queue is full or \
                 too slow (a flood of new or forged tokens?)"
            );
        }
    }

    /// Counts one shed; `Some(count since the last line)` when a line is due.
    pub(super) fn note(&self, now: Instant) -> Option<u64> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let now_ms = now.saturating_duration_since(self.origin).as_millis() as u64;
        let last = self.last.load(Ordering::Relaxed);
        let due =
            last == u64::MAX || now_ms.saturating_sub(last) >= self.interval.as_millis() as u64;
        // One thread wins the line; the others' counts go into it or the next.
        if due
            && self
                .last
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.count.swap(0, Ordering::Relaxed));
        }
        None
    }
}
