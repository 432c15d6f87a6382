//! Listening sockets for owbench's own servers (the embedded platform, the loopback
//! object endpoint).

use std::net::SocketAddr;

/// A listener with a deep accept queue: a burst of a thousand connections at once must
/// not overflow it (std's default backlog is 128).
pub fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}
