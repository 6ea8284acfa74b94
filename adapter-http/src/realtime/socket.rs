//! The connection loop over an axum WebSocket, and the ticker that keeps routing going.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt, future};
use shiftdesk_core::Service;
use shiftdesk_core::staff::{Actor, Context};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::connection::{Inbound, Outbound, Session, serve};

/// Runs the connection loop over an upgraded socket.
pub async fn run(session: Session, socket: WebSocket) {
    let (sink, stream) = socket.split();
    let incoming = stream
        .take_while(|read| future::ready(read.is_ok()))
        .filter_map(|read| {
            future::ready(match read {
                Ok(Message::Text(text)) => Some(Inbound::Text(text.as_str().to_owned())),
                Ok(Message::Binary(_)) => Some(Inbound::Binary),
                Ok(Message::Pong(_)) => Some(Inbound::Pong),
                Ok(Message::Close(_)) => Some(Inbound::Close),
                // Pings are answered by the WebSocket layer itself.
                Ok(Message::Ping(_)) | Err(_) => None,
            })
        });
    let outgoing = sink.with(|frame: Outbound| {
        future::ready(Ok::<_, axum::Error>(match frame {
            Outbound::Text(text) => Message::Text(text.into()),
            Outbound::Ping => Message::Ping(Default::default()),
            Outbound::Close(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        }))
    });
    serve(session, Box::pin(incoming), Box::pin(outgoing)).await;
}

/// Every `every`, wakes snoozed conversations whose time has come and routes the queue, so
/// that a shift starting or capacity freeing up picks up waiting conversations, until `stop`
/// turns true.
pub async fn tick(service: Service, every: Duration, mut stop: watch::Receiver<bool>) {
    let ctx = Context::new(Actor::System);
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = ticker.tick() => {}
        }
        if let Err(error) = service.wake_snoozed(&ctx).await {
            tracing::warn!(%error, "waking snoozed conversations failed");
        }
        match service.route_waiting(&ctx).await {
            Ok(assigned) if !assigned.is_empty() => {
                tracing::debug!(assigned = assigned.len(), "routed waiting conversations");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "routing the queue failed"),
        }
    }
}
