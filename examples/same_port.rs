//! Many tests binding the same port at once.
//!
//! ```text
//! cargo test --example same_port
//! ```
//!
//! Twenty tests each run a server on 127.0.0.1:8080 and talk to it. On the
//! host's network all but one would fail with `EADDRINUSE`; here each has a
//! namespace of its own, and libtest runs them in parallel.

fn main() {
    println!("run the tests: cargo test --example same_port");
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use netns_examples::{echo, spawn_server};
    use netns_test::netns_test;

    macro_rules! on_port_8080 {
        ($($name:ident)*) => {$(
            #[netns_test]
            fn $name() {
                let server = spawn_server(TcpListener::bind("127.0.0.1:8080").unwrap(), 1);
                assert_eq!(echo("127.0.0.1:8080", stringify!($name)).unwrap(), stringify!($name));
                server.join().unwrap().unwrap();
            }
        )*};
    }

    on_port_8080! {
        server_00 server_01 server_02 server_03 server_04 server_05 server_06 server_07
        server_08 server_09 server_10 server_11 server_12 server_13 server_14 server_15
        server_16 server_17 server_18 server_19
    }
}
