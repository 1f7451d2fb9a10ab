//! Frame scheduling: the workbench draws when something asks for a frame, never on a fixed tick.
//!
//! A [`FrameRequester`] is a cheap, cloneable handle: anything that changes what the screen
//! shows (an actor event, a key, a highlighted chunk, an animation that wants its next step)
//! calls [`FrameRequester::schedule_frame`] or [`FrameRequester::schedule_frame_in`]. The loop
//! awaits [`FrameTicks::next`], which yields once per frame to draw. The idea is codex-rs's
//! `FrameRequester`; the implementation is our own and needs no task of its own.
//!
//! Invariants:
//! - requests coalesce: every request due by the time a frame may be drawn is served by that one
//!   frame, drawn at the earliest requested time but never sooner than `min_interval` after the
//!   previous frame; requests for later times stay pending;
//! - no request, no frame: with nothing pending, [`FrameTicks::next`] holds no timer, so an idle
//!   workbench is never woken by it;
//! - time is tokio's clock, so tests run it paused.

use std::collections::BTreeSet;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::{Duration, Instant};

/// Asks the loop for a frame. Cloneable; sending never blocks and never fails visibly (a
/// request after the loop ended is dropped).
#[derive(Debug, Clone)]
pub struct FrameRequester {
    tx: UnboundedSender<Instant>,
}

impl FrameRequester {
    /// Asks for a frame as soon as the frame rate allows.
    pub fn schedule_frame(&self) {
        let _ = self.tx.send(Instant::now());
    }

    /// Asks for a frame in `delay` (for animations and clocks that need their next step).
    pub fn schedule_frame_in(&self, delay: Duration) {
        let _ = self.tx.send(Instant::now() + delay);
    }
}

/// The loop's side: yields one item per frame to draw.
#[derive(Debug)]
pub struct FrameTicks {
    rx: UnboundedReceiver<Instant>,
    min_interval: Duration,
    /// Requested times not yet served.
    pending: BTreeSet<Instant>,
    /// When the last frame was yielded.
    last: Option<Instant>,
}

/// A requester and its ticks; frames are at least `min_interval` apart.
pub fn frame_channel(min_interval: Duration) -> (FrameRequester, FrameTicks) {
    let (tx, rx) = unbounded_channel();
    (FrameRequester { tx }, FrameTicks { rx, min_interval, pending: BTreeSet::new(), last: None })
}

impl FrameTicks {
    /// Waits for the next frame to draw: returns `true` when one is due, `false` once every
    /// requester is gone and nothing is pending. Cancel-safe (the state lives in `self`), so
    /// it can be a `tokio::select!` branch.
    pub async fn next(&mut self) -> bool {
        loop {
            let due = self.pending.first().map(|&p| match self.last {
                Some(l) => p.max(l + self.min_interval),
                None => p,
            });
            tokio::select! {
                biased;
                req = self.rx.recv() => match req {
                    Some(at) => {
                        self.pending.insert(at);
                    }
                    None if self.pending.is_empty() => return false,
                    None => {
                        // Requesters are gone; serve what is pending, then report the end.
                        if let Some(d) = due {
                            tokio::time::sleep_until(d).await;
                        }
                        return self.fire();
                    }
                },
                () = sleep_until_opt(due), if due.is_some() => return self.fire(),
            }
        }
    }

    /// Serves every request due now.
    fn fire(&mut self) -> bool {
        let now = Instant::now();
        let later = self.pending.split_off(&(now + Duration::from_nanos(1)));
        let had = !self.pending.is_empty();
        self.pending = later;
        if had {
            self.last = Some(now);
        }
        had
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_millis(16);

    /// Counts the frames `ticks` yields within `window` of paused time.
    async fn frames_within(ticks: &mut FrameTicks, window: Duration) -> usize {
        let end = Instant::now() + window;
        let mut n = 0;
        while let Ok(true) = tokio::time::timeout_at(end, ticks.next()).await {
            n += 1;
        }
        n
    }

    #[tokio::test(start_paused = true)]
    async fn requests_inside_one_interval_make_one_frame() {
        let (req, mut ticks) = frame_channel(I);
        for _ in 0..5 {
            req.schedule_frame();
            tokio::time::advance(Duration::from_millis(2)).await;
        }
        assert_eq!(frames_within(&mut ticks, Duration::from_secs(1)).await, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_request_no_frame() {
        let (_req, mut ticks) = frame_channel(I);
        assert_eq!(frames_within(&mut ticks, Duration::from_secs(60)).await, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_frame_right_after_one_waits_for_the_interval() {
        let (req, mut ticks) = frame_channel(I);
        let t0 = Instant::now();
        req.schedule_frame();
        assert!(ticks.next().await);
        assert_eq!(Instant::now(), t0, "the first frame after idle is immediate");
        req.schedule_frame();
        req.schedule_frame();
        assert!(ticks.next().await);
        assert_eq!(Instant::now() - t0, I, "the second waits out the interval");
        assert_eq!(frames_within(&mut ticks, Duration::from_secs(1)).await, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_requests_get_frames_at_their_times() {
        let (req, mut ticks) = frame_channel(I);
        let t0 = Instant::now();
        req.schedule_frame_in(Duration::from_millis(500));
        req.schedule_frame_in(Duration::from_millis(100));
        req.schedule_frame_in(Duration::from_millis(105));
        assert!(ticks.next().await);
        assert_eq!(Instant::now() - t0, Duration::from_millis(100));
        // 105 ms is within the interval after that frame: served by the next one at 116 ms,
        // and the 500 ms request still gets its own frame.
        assert!(ticks.next().await);
        assert_eq!(Instant::now() - t0, Duration::from_millis(116));
        assert!(ticks.next().await);
        assert_eq!(Instant::now() - t0, Duration::from_millis(500));
        assert_eq!(frames_within(&mut ticks, Duration::from_secs(1)).await, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn ends_when_the_requesters_are_gone() {
        let (req, mut ticks) = frame_channel(I);
        req.schedule_frame();
        drop(req);
        assert!(ticks.next().await, "the pending request is still served");
        assert!(!ticks.next().await);
    }
}
