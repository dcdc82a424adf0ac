//! The connection's notes: annotations written and relayed, and changes
//! published, each sent with the connection's one `seq`.

use std::sync::Arc;

use axum::extract::ws::close_code;
use tokio::sync::broadcast;

use crate::annotations::Stored;
use crate::protocol::{
    Annotate, Annotation, AnnotationMessage, Change, ChangeMessage, ServerMessage,
};

use super::{Annotations, Connection, End};

impl Connection {
    /// Stores an annotation. The echo to every subscriber (this one
    /// included) is the acknowledgement; a sender that has not subscribed,
    /// or resent an unchanged annotation, gets its echo directly.
    pub(super) async fn on_annotate(&mut self, mut a: Annotate) -> Result<(), End> {
        // Role check and author stamp come first, whatever stores the annotation.
        if let Err(message) = self.principal.stamp(&mut a.annotation) {
            return self
                .send_error(
                    "forbidden",
                    &message,
                    Some(a.annotation.id.chars().take(64).collect()),
                )
                .await;
        }
        let data_now = self.source.now();
        let Some(ann) = self.annotations.as_mut() else {
            return self
                .send_error(
                    "unsupported",
                    "this server does not store annotations",
                    Some(a.annotation.id.chars().take(64).collect()),
                )
                .await;
        };
        let id = a.annotation.id.chars().take(64).collect::<String>();
        let hub = Arc::clone(&ann.hub);
        let stored = hub
            .accept(a.annotation, &ann.dimensions, &ann.writer, data_now)
            .await;
        match stored {
            Err(refusal) => {
                self.send_error(refusal.code, &refusal.message, Some(id))
                    .await?;
                // On a conflict the writer also gets the stored version, to show both.
                match refusal.current {
                    Some(current) => self.send_annotation(*current).await,
                    None => Ok(()),
                }
            }
            Ok(Stored::Unchanged(a)) => self.send_annotation(a).await,
            Ok(Stored::Created(a) | Stored::Updated(a)) if self.subscription.is_none() => {
                self.send_annotation(a).await
            }
            // The relay brings it back to this connection too.
            Ok(Stored::Created(_) | Stored::Updated(_)) => Ok(()),
        }
    }

    /// An annotation stored by any connection: subscribers see it.
    pub(super) async fn on_relayed(
        &mut self,
        relayed: Result<Arc<Annotation>, broadcast::error::RecvError>,
    ) -> Result<(), End> {
        match relayed {
            Ok(a) if self.subscription.is_some() => self.send_annotation((*a).clone()).await,
            Ok(_) => Ok(()),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                self.fell_behind(missed, "annotations").await
            }
            // The hub outlives every connection; should it not, stop listening.
            Err(broadcast::error::RecvError::Closed) => {
                self.annotations = None;
                Ok(())
            }
        }
    }

    /// A change the source published: subscribers whose filter it meets
    /// see it (its receiver was made before any snapshot, so none is lost).
    pub(super) async fn on_change(
        &mut self,
        change: Result<Arc<Change>, broadcast::error::RecvError>,
    ) -> Result<(), End> {
        match change {
            Ok(c)
                if self
                    .subscription
                    .as_ref()
                    .is_some_and(|(sub, _)| c.meets(sub)) =>
            {
                self.seq += 1;
                let message = ServerMessage::Change(ChangeMessage {
                    seq: self.seq,
                    change: (*c).clone(),
                });
                self.send(message.to_json()).await
            }
            Ok(_) => Ok(()),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                self.fell_behind(missed, "changes").await
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.changes = None;
                Ok(())
            }
        }
    }

    async fn send_annotation(&mut self, annotation: Annotation) -> Result<(), End> {
        self.seq += 1;
        let message = ServerMessage::Annotation(AnnotationMessage {
            seq: self.seq,
            annotation,
        });
        self.send(message.to_json()).await
    }

    /// A broadcast this client fell `missed` `what` behind on: say so and
    /// close, so it reconnects and resyncs from a snapshot.
    async fn fell_behind(&mut self, missed: u64, what: &str) -> Result<(), End> {
        let message =
            format!("client fell {missed} {what} behind; disconnecting (reconnect to resync)");
        self.send_error("too_slow", &message, None).await?;
        self.close(close_code::POLICY, "too slow").await;
        Err(End::TooSlow(missed))
    }
}

/// The next relayed annotation; never ready when the server has none.
pub(super) async fn next_relayed(
    annotations: &mut Option<Annotations>,
) -> Result<Arc<Annotation>, broadcast::error::RecvError> {
    match annotations {
        Some(a) => a.relayed.recv().await,
        None => std::future::pending().await,
    }
}
