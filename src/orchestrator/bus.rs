//! The event bus: every subscriber gets every event, in order, losslessly.
//!
//! Invariant: emitting never blocks (unbounded channels), so a slow front end can never stall
//! the pipeline; a subscriber that went away is dropped on the next emit.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::orchestrator::events::Event;

/// A fan-out of [`Event`]s (see the module invariant). Cheap to clone.
#[derive(Clone, Default)]
pub struct EventBus {
    subs: Arc<Mutex<Vec<UnboundedSender<Event>>>>,
}

impl EventBus {
    /// A bus with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new subscriber that receives every event emitted from now on.
    pub fn subscribe(&self) -> UnboundedReceiver<Event> {
        let (tx, rx) = unbounded_channel();
        if let Ok(mut s) = self.subs.lock() {
            s.push(tx);
        }
        rx
    }

    /// Sends `e` to every live subscriber.
    pub fn emit(&self, e: Event) {
        if let Ok(mut s) = self.subs.lock() {
            s.retain(|tx| tx.send(e.clone()).is_ok());
        }
    }
}
