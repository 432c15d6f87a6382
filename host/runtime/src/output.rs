//! What the runtime writes to its own stdout and stderr, which the invoker reads as the
//! activation's logs: the component's lines, then the sentinel on both streams.
//!
//! Each activation's lines are written as one block (concurrent activations do not
//! interleave line by line), off the async runtime's threads.

use std::io::Write;
use std::sync::Mutex;

use owbench_activation::Line;
use owbench_openwhisk::runtime::LOG_SENTINEL;

/// Held while a block is written.
static WRITING: Mutex<()> = Mutex::new(());

/// After an activation: its lines, each to its stream, then the sentinels.
pub async fn activation(lines: Vec<Line>) {
    write(lines, true).await;
}

/// After a refused `/run` or a failed `/init`: the reason on stderr, then the sentinels.
pub async fn failure(reason: &str) {
    write(vec![Line::new("stderr", reason)], true).await;
}

/// A line on stderr with no sentinel (a refused second `/init`, which ends no activation).
pub async fn diagnostic(text: &str) {
    write(vec![Line::new("stderr", text)], false).await;
}

async fn write(lines: Vec<Line>, sentinel: bool) {
    let written = tokio::task::spawn_blocking(move || {
        let _block = WRITING.lock().unwrap_or_else(|e| e.into_inner());
        let mut stdout = std::io::stdout().lock();
        let mut stderr = std::io::stderr().lock();
        for line in &lines {
            let _ = match line.stream {
                "stderr" => writeln!(stderr, "{}", line.text),
                _ => writeln!(stdout, "{}", line.text),
            };
        }
        if sentinel {
            let _ = writeln!(stdout, "{LOG_SENTINEL}");
            let _ = writeln!(stderr, "{LOG_SENTINEL}");
        }
        let _ = stdout.flush();
        let _ = stderr.flush();
    });
    // Writing cannot panic; a closed stream loses the logs, as it would for any runtime.
    let _ = written.await;
}
