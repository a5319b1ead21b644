//! The prepare thread's events ([`Prepared`]) as its consumer receives them: sent a delivered
//! chunk's worth at a time, received one at a time.
//!
//! Sending each batch and rejection on its own woke the consumer for nearly every event (it is
//! faster than preparing, so it waits on an empty channel), and with every core busy each wake-up
//! preempted a worker: ≈ 1,500 context switches per 100,000 rows. A bundle per chunk wakes it
//! once per chunk.

use tokio::sync::mpsc;

use super::batch::Batch;
use super::row::Rejection;

/// What the preparing thread sends.
#[derive(Debug)]
pub enum Prepared {
    Batch(Batch),
    Rejected(Rejection),
    /// Rows a `[sync]` filter found unchanged since they were last accepted: nothing to send.
    Unchanged(u64),
}

/// Bundles the channel holds: with the one the consumer is taking events from and the one being
/// delivered, about three chunks' events are in flight (≈ 3,000 rows), enough to keep a consumer
/// busy while the next chunk is delivered. Smaller bundles (a flush every 5, 8 or 10 batches)
/// lost the whole gain: the all-cores prepare pass took 64.6–65.8 ms against 57.7–58.0.
const BUNDLES_IN_CHANNEL: usize = 1;

/// The sending end: one bundle per delivered chunk, never an empty one.
pub(super) type Sender = mpsc::Sender<Vec<Prepared>>;

/// A channel of events, sent in bundles.
pub(super) fn channel() -> (Sender, Events) {
    let (tx, rx) = mpsc::channel(BUNDLES_IN_CHANNEL);
    (
        tx,
        Events {
            rx,
            held: Vec::new().into_iter(),
        },
    )
}

/// The receiving end: batches and rejections in order, one at a time.
pub struct Events {
    rx: mpsc::Receiver<Vec<Prepared>>,
    /// The rest of the bundle being taken.
    held: std::vec::IntoIter<Prepared>,
}

impl Events {
    /// The next event; `None` once the prepare thread has sent its last.
    pub async fn recv(&mut self) -> Option<Prepared> {
        loop {
            if let Some(event) = self.held.next() {
                return Some(event);
            }
            self.held = self.rx.recv().await?.into_iter();
        }
    }

    /// [`Events::recv`] for a consumer off the async runtime.
    pub fn blocking_recv(&mut self) -> Option<Prepared> {
        loop {
            if let Some(event) = self.held.next() {
                return Some(event);
            }
            self.held = self.rx.blocking_recv()?.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_come_one_by_one_in_order_across_bundles() {
        let (tx, mut events) = channel();
        let sender = tokio::spawn(async move {
            for bundle in [vec![1, 2, 3], vec![4], vec![5, 6]] {
                let bundle = bundle.into_iter().map(Prepared::Unchanged).collect();
                tx.send(bundle).await.unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(event) = events.recv().await {
            got.push(event);
        }
        assert!(events.recv().await.is_none());
        sender.await.unwrap();
        let counts: Vec<u64> = got
            .into_iter()
            .map(|event| match event {
                Prepared::Unchanged(n) => n,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(counts, [1, 2, 3, 4, 5, 6]);
    }
}
