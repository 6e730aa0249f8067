//! A port on 127.0.0.1 where every connection is refused for as long as the value lives:
//! for a test of "nobody listens there". The port is the local end of a connection the test
//! holds (to a listener of its own, closed at once), so no server can bind it meanwhile, and
//! a connection to it finds no listener; unlike a port bound, dropped and hoped still free.

use std::net::{TcpListener, TcpStream};

pub struct RefusedPort {
    /// Both ends of the held connection; `near`'s local port is the refused one.
    near: TcpStream,
    _far: TcpStream,
}

impl RefusedPort {
    pub fn new() -> RefusedPort {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let near = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (far, _) = listener.accept().unwrap();
        RefusedPort { near, _far: far }
    }

    pub fn port(&self) -> u16 {
        self.near.local_addr().unwrap().port()
    }
}

#[test]
fn connections_to_the_held_port_are_refused() {
    let refused = RefusedPort::new();
    let err = TcpStream::connect(("127.0.0.1", refused.port())).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(TcpListener::bind(("127.0.0.1", refused.port())).is_err());
}
