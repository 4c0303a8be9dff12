//! Networks more than one test file builds.

use netns_test::network::{Endpoint, Network, NetworkBuilder};

/// Client — router — server on two subnets, IPv4 and IPv6, no routes yet:
/// `client` eth0 10.0.1.1/24, fd01::1/64 — `router` eth0 10.0.1.254,
/// fd01::fe; `router` eth1 10.0.2.254/24, fd02::fe/64 — `server` eth0
/// 10.0.2.1, fd02::1.
pub fn client_router_server() -> NetworkBuilder {
    Network::builder()
        .node("client")
        .router("router")
        .node("server")
        .link(
            Endpoint::new("client", "eth0")
                .address("10.0.1.1/24")
                .address("fd01::1/64"),
            Endpoint::new("router", "eth0")
                .address("10.0.1.254/24")
                .address("fd01::fe/64"),
        )
        .link(
            Endpoint::new("router", "eth1")
                .address("10.0.2.254/24")
                .address("fd02::fe/64"),
            Endpoint::new("server", "eth0")
                .address("10.0.2.1/24")
                .address("fd02::1/64"),
        )
}
