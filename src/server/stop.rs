//! SIGTERM/SIGINT, watched on a thread of its own, and a deadline on the clean stop.
//!
//! The app runtime notices a signal only when one of its workers polls its I/O driver. On a
//! one-core box tokio starts one worker, and a synchronous handler that runs long (or a queue of
//! them, for clients that already hung up) kept a SIGTERM unseen until the queue drained: no
//! "shutting down", and `systemctl stop` waited for its SIGKILL. Here a small runtime on the
//! "signals" thread receives the signal and wakes `serve` (which runs on the main thread, not
//! on a worker), and if the clean stop has not ended `grace` later, or a second signal comes,
//! the process exits. Acknowledged writes are already durable (group commit syncs before the
//! answer), so that exit loses nothing a client was told was saved.

use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

pub struct StopSignal {
    rx: watch::Receiver<bool>,
}

impl StopSignal {
    /// Installs the handlers before it returns (a signal right after is not lost) and starts
    /// the watcher thread.
    pub fn install(kinds: &[SignalKind], grace: Duration) -> Result<Self, String> {
        let (tx, rx) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let kinds = kinds.to_vec();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || watch_signals(kinds, grace, tx, ready_tx))
            .map_err(|e| format!("signal thread: {e}"))?;
        ready_rx
            .recv()
            .map_err(|_| "signal thread ended early".to_string())??;
        Ok(Self { rx })
    }

    /// Resolves once a signal came; woken from the signals thread, so it needs no app worker.
    pub async fn wait(&mut self) {
        while !*self.rx.borrow() {
            if self.rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

fn watch_signals(
    kinds: Vec<SignalKind>,
    grace: Duration,
    tx: watch::Sender<bool>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(format!("signal runtime: {e}")));
            return;
        }
    };
    rt.block_on(async move {
        let mut sigs = Vec::new();
        for k in kinds {
            match signal(k) {
                Ok(s) => sigs.push(s),
                Err(e) => {
                    let _ = ready.send(Err(format!("signal handler {k:?}: {e}")));
                    return;
                }
            }
        }
        let _ = ready.send(Ok(()));
        any(&mut sigs).await;
        let _ = tx.send(true);
        let second = tokio::time::timeout(grace, any(&mut sigs)).await.is_ok();
        // Still running: the clean stop is stuck behind work that does not yield.
        tracing::error!(
            grace_secs = grace.as_secs(),
            second_signal = second,
            "clean stop did not finish; exiting now (acknowledged writes are already on disk)"
        );
        std::process::exit(1);
    });
}

async fn any(sigs: &mut [tokio::signal::unix::Signal]) {
    let waits = sigs.iter_mut().map(|s| Box::pin(s.recv()));
    let _ = futures_util::future::select_all(waits).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// The mechanism of the hang: with one worker blocked, a signal registered on the app
    /// runtime is not seen (its driver is not polled); the watcher thread sees it at once.
    #[test]
    fn a_signal_is_seen_while_the_only_worker_is_blocked() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let waited = rt.block_on(async move {
            let mut stop =
                StopSignal::install(&[SignalKind::user_defined2()], Duration::from_secs(600))
                    .unwrap();
            let (busy_tx, busy_rx) = tokio::sync::oneshot::channel();
            // Holds the only worker the way a long synchronous handler does.
            tokio::spawn(async move {
                let _ = busy_tx.send(());
                let _ = release_rx.recv_timeout(Duration::from_secs(20));
            });
            busy_rx.await.unwrap();
            let t0 = Instant::now();
            unsafe {
                libc::raise(libc::SIGUSR2);
            }
            stop.wait().await;
            t0.elapsed()
        });
        let _ = release_tx.send(());
        assert!(
            waited < Duration::from_secs(5),
            "signal seen only after {waited:?}"
        );
    }
}
