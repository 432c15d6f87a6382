//! Captured guest stdout/stderr that can be drained after each call, so one warm instance
//! serves many calls and each call gets only its own output.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A bounded in-memory output stream. Writes past `capacity` bytes (since the last
/// [`CapturePipe::take`]) are dropped and counted, never an error the guest sees.
#[derive(Clone)]
pub(crate) struct CapturePipe {
    capacity: usize,
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    dropped: usize,
}

impl CapturePipe {
    pub(crate) fn new(capacity: usize) -> CapturePipe {
        CapturePipe {
            capacity,
            inner: Arc::default(),
        }
    }

    /// Everything written since the last take (lossy UTF-8), and the bytes dropped.
    pub(crate) fn take(&self) -> (String, usize) {
        let mut inner = self.inner.lock().expect("capture pipe poisoned");
        let text = String::from_utf8_lossy(&inner.bytes).into_owned();
        inner.bytes.clear();
        (text, std::mem::take(&mut inner.dropped))
    }

    fn push(&self, buf: &[u8]) {
        let mut inner = self.inner.lock().expect("capture pipe poisoned");
        let room = self.capacity.saturating_sub(inner.bytes.len());
        let kept = room.min(buf.len());
        inner.bytes.extend_from_slice(&buf[..kept]);
        inner.dropped += buf.len() - kept;
    }
}

impl IsTerminal for CapturePipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturePipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for CapturePipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: excess output is dropped, not refused.
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturePipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CapturePipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_drains_and_caps() {
        let pipe = CapturePipe::new(4);
        pipe.push(b"abcdef");
        assert_eq!(pipe.take(), ("abcd".to_owned(), 2));
        pipe.push(b"xy");
        assert_eq!(pipe.take(), ("xy".to_owned(), 0));
    }
}
