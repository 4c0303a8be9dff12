//! Compile-time tests of `#[netns_test]`: the errors it gives for misuse
//! (`ui/**/fail`, checked against the `.stderr` snapshots) and the forms it
//! accepts (`ui/**/pass`). Regenerate snapshots with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
    if cfg!(feature = "network") {
        t.compile_fail("tests/ui/network/fail/*.rs");
        t.pass("tests/ui/network/pass/*.rs");
    } else {
        t.compile_fail("tests/ui/no_network/*.rs");
    }
    if cfg!(feature = "tokio") {
        t.compile_fail("tests/ui/tokio/fail/*.rs");
        t.pass("tests/ui/tokio/pass/*.rs");
    } else {
        t.compile_fail("tests/ui/no_tokio/*.rs");
    }
}

/// trybuild builds its cases as binaries, where `#[test]` removes the
/// generated fn before type checking; this test target is built with
/// `--test`, so the expansions below are type checked against the real
/// runtime, and run.
mod expansions_type_check {
    use netns_test::{NetNs, netns_test};

    mod reexport {
        pub(super) use netns_test::*;
    }

    #[netns_test]
    fn no_param() {}

    #[netns_test]
    #[allow(clippy::unused_unit)]
    fn unit_return() -> () {}

    #[netns_test(loopback = false)]
    fn ns_param(ns: &NetNs) {
        let _ = ns;
    }

    #[netns_test]
    fn wildcard_param(_: &netns_test::NetNs) {}

    #[netns_test]
    fn result(ns: &'_ NetNs) -> Result<(), String> {
        let _ = ns;
        let n: u32 = "1".parse().map_err(|e| format!("{e}"))?;
        if n == 0 {
            return Err("zero".into());
        }
        Ok(())
    }

    #[netns_test(crate = reexport)]
    fn crate_path() {}

    #[netns_test(crate = "self::reexport")]
    fn crate_string() {}

    /// The parameter is recognised by its type, however it is spelled.
    mod renamed {
        pub(super) use netns_test::NetNs as Ns;
        use netns_test::netns_test;

        #[netns_test]
        fn renamed_param(ns: &Ns) {
            assert_eq!(
                ns.cookie().unwrap(),
                netns_test::get_netns_cookie().unwrap()
            );
        }
    }

    #[netns_test(crate = crate::expansions_type_check::reexport)]
    fn crate_crate_path() {}

    #[netns_test(crate = ::netns_test)]
    fn crate_absolute_path() {}

    /// Doc comments and lint attributes stay on the test.
    #[netns_test]
    #[allow(unused_variables)]
    fn attributes_kept() {
        let unused = 1;
    }

    // Met by the body: with the lint promoted to an error (clippy -D
    // warnings in CI), an unmet copy on the test fn would fail the build.
    #[netns_test]
    #[expect(unused_variables)]
    fn expectation_met() {
        let unused = 1;
    }

    #[netns_test]
    #[cfg_attr(all(), expect(unused_variables), allow(dead_code))]
    fn expectation_met_in_cfg_attr() {
        let unused = 1;
    }

    #[netns_test]
    #[cfg_attr(any(), ignore)]
    fn test_attribute_in_cfg_attr(ns: &renamed::Ns) {
        let _ = ns;
    }

    // Would not compile if the attribute dropped #[cfg].
    #[netns_test]
    #[cfg(any())]
    fn cfg_kept() {
        this_does_not_exist();
    }

    #[netns_test]
    #[should_panic(expected = "boom")]
    fn should_panic() {
        panic!("boom");
    }

    #[netns_test(timeout = "2m")]
    fn timeout_minutes() {}

    /// The constructor each test carries (an `#[unsafe(link_section)]`
    /// static) comes from this crate's macro, so crates that forbid unsafe
    /// code can still use the attribute.
    #[forbid(unsafe_code)]
    mod forbids_unsafe_code {
        #[netns_test::netns_test]
        fn in_a_crate_without_unsafe() {}
    }

    #[cfg(feature = "network")]
    mod network {
        use netns_test::{NetNs, netns_test};

        #[netns_test]
        fn renamed_network(net: &netns_test::network::Network) {
            let _ = net.node("server").unwrap();
        }

        mod aliased {
            use netns_test::netns_test;
            use netns_test::network::Network as Net;

            #[netns_test]
            fn a_pair(net: &Net) {
                let _ = net.node("client").unwrap();
            }

            #[netns_test(uplink)]
            fn uplinked(net: &Net) {
                let _ = net.node("gateway").unwrap();
            }
        }

        #[netns_test]
        fn network_param(net: &netns_test::network::Network) {
            let _ = net.node("client").unwrap();
        }

        #[netns_test(uplink)]
        fn uplink() {}

        #[netns_test(uplink)]
        fn uplink_network(net: &netns_test::network::Network) {
            let _ = net.node("gateway").unwrap();
        }

        #[netns_test(uplink, loopback = false)]
        fn uplink_ns(ns: &NetNs) {
            let _ = ns;
        }

        pub(crate) fn two_hosts() -> netns_test::network::NetworkBuilder {
            netns_test::network::Network::builder()
                .node("a")
                .node("b")
                .link(
                    netns_test::network::Endpoint::new("a", "eth0").address("10.9.0.1/24"),
                    netns_test::network::Endpoint::new("b", "eth0").address("10.9.0.2/24"),
                )
        }

        mod topologies {
            pub(crate) use super::two_hosts;
        }

        #[netns_test(network = two_hosts)]
        fn network_option(net: &netns_test::network::Network) {
            let _ = net.node("b").unwrap();
        }

        #[netns_test(network = topologies::two_hosts, node = "a")]
        fn network_node(ns: &NetNs) {
            assert_eq!(ns, &NetNs::current().unwrap());
        }

        #[netns_test(node = "b", network = self::two_hosts, loopback = false)]
        fn network_node_unit() {}

        #[netns_test(timeout = "500ms", uplink)]
        fn timeout_with_uplink(net: &netns_test::network::Network) {
            let _ = net.node("gateway").unwrap();
        }

        #[netns_test(timeout = "5s", network = two_hosts, node = "a")]
        fn timeout_in_a_node() {}
    }

    #[cfg(feature = "tokio")]
    mod tokio {
        use netns_test::{NetNs, netns_test};

        #[netns_test]
        async fn current_thread(ns: &NetNs) -> Result<(), String> {
            let _ = ns;
            ::tokio::task::yield_now().await;
            Ok(())
        }

        #[netns_test(flavor = "multi_thread")]
        async fn multi_thread() {
            ::tokio::task::spawn(async {}).await.unwrap();
        }

        #[netns_test(worker_threads = 2)]
        async fn worker_threads(_: &NetNs) {}

        #[netns_test(timeout = "10s")]
        async fn timeout() {
            ::tokio::task::yield_now().await;
        }

        #[netns_test(flavor = "current_thread")]
        #[should_panic(expected = "boom")]
        async fn should_panic() {
            panic!("boom");
        }
    }
}
