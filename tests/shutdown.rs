//! The emulators' shutdown: each test server stops when its parent's pipe closes (the
//! test that started it ended, however it ended) or on SIGTERM/SIGINT.

use std::io::Read;

/// A future that completes at end of stdin (unless ignored), SIGTERM or SIGINT. Everything
/// is registered before it returns, so a signal sent right after the ready line is caught.
pub fn shutdown_signal(
    ignore_stdin: bool,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
    if !ignore_stdin {
        // A plain thread: a blocking stdin read must not hold up the runtime's shutdown.
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = eof_tx.send(());
        });
    }
    Ok(async move {
        let stdin_closed = async {
            if ignore_stdin {
                std::future::pending::<()>().await;
            }
            let _ = eof_rx.await;
        };
        tokio::select! {
            _ = stdin_closed => {}
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
