//! The loopback listener the authorization server redirects the browser to
//! (RFC 8252 §7.3): `http://127.0.0.1:PORT/callback/RANDOM`, on a free port,
//! for one sign-in. It takes the first request on its path, answers the
//! browser with a short page, hands the query (`code`, `state`, `iss`, or
//! `error`) to the waiting sign-in, and closes. Requests on any other path
//! get a 404 and change nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// What the authorization server sent back through the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// The user allowed access.
    Code {
        code: String,
        state: String,
        /// RFC 9207's `iss`, when the server sends it.
        iss: Option<String>,
    },
    /// The server answered with an error (`access_denied`, …).
    Refused {
        error: String,
        description: Option<String>,
    },
}

/// A listening redirect endpoint; dropping it closes the port.
pub struct RedirectListener {
    redirect_uri: String,
    received: oneshot::Receiver<Callback>,
    /// Stops the server; cancelled on drop.
    stop: CancellationToken,
}

impl Drop for RedirectListener {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// What the handler shares with the listener: the one-shot for the first
/// answer, and a token cancelled once it was taken (the server then closes;
/// graceful shutdown still writes the answer to the browser).
#[derive(Clone)]
struct Shared {
    slot: Arc<Mutex<Option<oneshot::Sender<Callback>>>>,
    taken: CancellationToken,
}

impl RedirectListener {
    /// Listens on `127.0.0.1` at a free port. With `random_path` the path
    /// ends in a random segment no other program can guess; without, it is
    /// `/callback` (for pre-registered clients, whose redirect URI is fixed
    /// up to the port).
    pub async fn bind(random_path: bool) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let path = if random_path {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
            let segment: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("/callback/{segment}")
        } else {
            "/callback".to_string()
        };
        let (tx, received) = oneshot::channel();
        let shared = Shared {
            slot: Arc::new(Mutex::new(Some(tx))),
            taken: CancellationToken::new(),
        };
        let stop = CancellationToken::new();
        let taken = shared.taken.clone();
        let app = axum::Router::new()
            .route(&path, get(receive))
            .with_state(shared);
        let stopped = stop.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                tokio::select! {
                    _ = stopped.cancelled() => {}
                    _ = taken.cancelled() => {}
                }
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        Ok(RedirectListener {
            redirect_uri: format!("http://127.0.0.1:{port}{path}"),
            received,
            stop,
        })
    }

    /// The redirect URI to register and send.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The first callback; `None` if the listener stopped without one.
    pub async fn wait(&mut self) -> Option<Callback> {
        (&mut self.received).await.ok()
    }
}

async fn receive(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let callback = match (query.get("code"), query.get("state"), query.get("error")) {
        (_, _, Some(error)) => Callback::Refused {
            error: error.clone(),
            description: query.get("error_description").cloned(),
        },
        (Some(code), Some(state), None) => Callback::Code {
            code: code.clone(),
            state: state.clone(),
            iss: query.get("iss").cloned(),
        },
        _ => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                Html(page(
                    "This is not a sign-in answer: it has no code and no error.",
                )),
            )
        }
    };
    let refused = matches!(callback, Callback::Refused { .. });
    let sender = shared.slot.lock().ok().and_then(|mut s| s.take());
    match sender {
        Some(tx) => {
            let _ = tx.send(callback);
            shared.taken.cancel();
            if refused {
                (
                    axum::http::StatusCode::OK,
                    Html(page(
                        "Sign-in was refused. Switchboard reports it; you may close this window.",
                    )),
                )
            } else {
                (
                    axum::http::StatusCode::OK,
                    Html(page("Signed in. Switchboard is finishing the sign-in; you may close this window.")),
                )
            }
        }
        None => (
            axum::http::StatusCode::GONE,
            Html(page("This sign-in is already over.")),
        ),
    }
}

fn page(text: &str) -> String {
    format!("<!doctype html><meta charset=utf-8><title>Switchboard sign-in</title><p>{text}</p>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_answer_on_the_path_is_taken_and_the_port_closes() {
        let mut listener = RedirectListener::bind(true).await.unwrap();
        let uri = listener.redirect_uri().to_string();
        assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
        let base = url::Url::parse(&uri).unwrap();
        let client = reqwest::Client::new();
        // Another path: nothing taken.
        let other = base.join("/callback/guess?code=x&state=y").unwrap();
        assert_eq!(client.get(other).send().await.unwrap().status(), 404);
        let answer = client
            .get(format!("{uri}?code=c1&state=s1&iss=http%3A%2F%2Fas"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(
            listener.wait().await,
            Some(Callback::Code {
                code: "c1".into(),
                state: "s1".into(),
                iss: Some("http://as".into())
            })
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if client.get(&uri).send().await.is_err() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the listener stayed open"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
